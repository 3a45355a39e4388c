"""The MPI launcher lazyheat's tools use: which one, its flavour, its flags, its environment.

No MPI is started: flavours are faked by monkeypatching the detection, or by small scripts
that print what each launcher's ``--version`` prints, so every flavour is checked on any
machine.
"""

from __future__ import annotations

import os
import stat
import sys

import _launch
import pytest

from lazyheat import _launcher

HYDRA = """HYDRA build details:
    Version:                                 4.2.0
    Release Date:                            Fri Feb  9 12:29:21 CST 2024
"""
VERSIONS = {
    "hydra": (HYDRA, "mpich", "Hydra 4.2.0"),
    "ompi4": ("mpirun (Open MPI) 4.1.5\n\nReport bugs to http://www.open-mpi.org/community/help/\n",
              "openmpi", "mpirun (Open MPI) 4.1.5"),
    "ompi5": ("mpirun (Open MPI) 5.0.3\n\nReport bugs to https://www.open-mpi.org/community/help/\n",
              "openmpi", "mpirun (Open MPI) 5.0.3"),
    "intel": ("Intel(R) MPI Library for Linux* OS, Version 2021.11 Build 20231005\n"
              "Copyright 2003-2023, Intel Corporation.\n" + HYDRA,
              "intel", "Intel(R) MPI Library for Linux* OS, Version 2021.11 Build 20231005"),
    "other": ("my launcher 1.0\n", "unknown", "my launcher 1.0"),
}


def fake_launcher(directory, name: str, output: str, sleep: float = 0.0) -> str:
    """An executable ``directory/name`` that prints ``output`` (after ``sleep`` seconds)."""
    path = directory / name
    text = output.replace("'", "'\\''")
    path.write_text(f"#!/bin/sh\nsleep {sleep}\nprintf '%s' '{text}'\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.fixture(autouse=True)
def fresh_probe(monkeypatch):
    """No cached flavours between tests, and no launcher settings from the caller's shell."""
    _launcher._probe.cache_clear()
    monkeypatch.delenv(_launcher.ENV_COMMAND, raising=False)
    monkeypatch.delenv(_launcher.ENV_ARGS, raising=False)
    yield
    _launcher._probe.cache_clear()


# -- which launcher ----------------------------------------------------------------------------

def test_env_command_wins_and_is_split():
    env = {_launcher.ENV_COMMAND: "srun --mpi=pmix", "PATH": ""}
    assert _launcher.find_mpiexec(env) == ["srun", "--mpi=pmix"]
    env[_launcher.ENV_COMMAND] = "'/opt/my mpi/bin/mpirun'"
    assert _launcher.find_mpiexec(env) == ["/opt/my mpi/bin/mpirun"]


def test_beside_the_interpreter_then_path(tmp_path):
    venv, other = tmp_path / "venv", tmp_path / "other"
    venv.mkdir()
    other.mkdir()
    python = str(venv / "python")
    assert _launcher.find_mpiexec({"PATH": str(tmp_path / "nowhere")}, python=python) is None
    on_path = fake_launcher(other, "mpiexec", "")
    assert _launcher.find_mpiexec({"PATH": str(other)}, python=python) == [on_path]
    beside = fake_launcher(venv, "mpiexec", "")
    assert _launcher.find_mpiexec({"PATH": str(other)}, python=python) == [beside]
    # an empty LAZYHEAT_MPIEXEC counts as unset
    env = {"PATH": str(other), _launcher.ENV_COMMAND: "  "}
    assert _launcher.find_mpiexec(env, python=python) == [beside]


# -- its flavour -------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", sorted(VERSIONS))
def test_flavour_from_version_output(tmp_path, kind):
    output, flavour, first = VERSIONS[kind]
    path = fake_launcher(tmp_path, "mpiexec", output)
    assert _launcher.mpi_flavour([path]) == flavour
    assert _launcher.mpi_flavour(f"{path} --some-option") == flavour  # the program alone runs
    assert _launcher.launcher_version(path) == first


def test_flavour_from_name_needs_no_call(monkeypatch):
    def no_call(*a, **k):
        raise AssertionError("ran the launcher")

    monkeypatch.setattr(_launcher.subprocess, "run", no_call)
    assert _launcher.mpi_flavour("srun --mpi=pmix") == "slurm"
    assert _launcher.mpi_flavour(["/usr/bin/orterun"]) == "openmpi"
    assert _launcher.mpi_flavour([]) == "unknown"


def test_flavour_is_cached_and_times_out(tmp_path, monkeypatch):
    monkeypatch.setattr(_launcher, "VERSION_TIMEOUT", 0.3)
    slow = fake_launcher(tmp_path, "mpirun", VERSIONS["ompi4"][0], sleep=2)
    assert _launcher.mpi_flavour(slow) == "unknown"
    assert _launcher.mpi_flavour(str(tmp_path / "missing" / "mpiexec")) == "unknown"
    fast = fake_launcher(tmp_path, "mpiexec", HYDRA)
    assert _launcher.mpi_flavour(fast) == "mpich"
    calls = _launcher._probe.cache_info().misses
    assert _launcher.mpi_flavour(fast) == "mpich"
    assert _launcher._probe.cache_info().misses == calls


def test_the_launcher_found_here_is_recognised():
    cmd = _launcher.find_mpiexec()
    if cmd is None:
        pytest.skip("no MPI launcher here")
    flavour = _launcher.mpi_flavour(cmd)
    assert flavour in _launcher.FLAVOURS
    if os.path.dirname(cmd[0]) == os.path.dirname(sys.executable):
        assert flavour == "mpich", cmd  # the mpich wheel's Hydra


# -- the command -------------------------------------------------------------------------------

@pytest.fixture
def machine(monkeypatch):
    """Fake the flavour, the core count and the user; returns a function setting them."""
    def set_(flavour, cores=2, root=False):
        monkeypatch.setattr(_launcher, "mpi_flavour", lambda cmd: flavour)
        monkeypatch.setattr(_launcher, "physical_cores", lambda: cores)
        monkeypatch.setattr(_launcher, "_is_root", lambda: root)
    return set_


ARGV = ["python", "-m", "lazyheat", "demo"]


@pytest.mark.parametrize("flavour", ["mpich", "intel", "unknown"])
def test_plain_flavours_get_only_n(machine, flavour):
    machine(flavour, cores=1, root=True)  # these oversubscribe and run as root unasked
    assert _launcher.launch_command(4, ARGV, "mpiexec", env={}) == ["mpiexec", "-n", "4", *ARGV]


def test_srun(machine):
    machine("slurm", cores=1, root=True)
    cmd = _launcher.launch_command(3, ARGV, "srun --mpi=pmix", env={})
    assert cmd == ["srun", "--mpi=pmix", "-n", "3", *ARGV]


@pytest.mark.parametrize("n, cores, root, flags", [
    (2, 2, False, []),
    (3, 2, False, ["--oversubscribe"]),
    (2, 4, True, ["--allow-run-as-root"]),
    (4, 2, True, ["--oversubscribe", "--allow-run-as-root"]),
])
def test_openmpi_flags(machine, n, cores, root, flags):
    machine("openmpi", cores=cores, root=root)
    cmd = _launcher.launch_command(n, ARGV, ["/opt/ompi/bin/mpirun"], env={})
    assert cmd == ["/opt/ompi/bin/mpirun", "-n", str(n), *flags, *ARGV]


def test_user_args_come_last_and_are_not_doubled(machine):
    machine("openmpi", cores=1, root=True)
    env = {_launcher.ENV_ARGS: "--mca btl self,tcp --map-by :OVERSUBSCRIBE"}
    cmd = _launcher.launch_command(2, ARGV, "mpirun", env=env)
    assert cmd == ["mpirun", "-n", "2", "--allow-run-as-root", "--mca", "btl", "self,tcp",
                   "--map-by", ":OVERSUBSCRIBE", *ARGV]
    # the flag given in the launcher's own command counts too
    cmd = _launcher.launch_command(2, ARGV, "mpirun --allow-run-as-root", env=env)
    assert cmd.count("--allow-run-as-root") == 1 and "--oversubscribe" not in cmd


def test_env_command_is_the_default_launcher(machine):
    machine("slurm")
    env = {_launcher.ENV_COMMAND: "srun --mpi=pmix", _launcher.ENV_ARGS: "--overlap"}
    cmd = _launcher.launch_command(2, ["x.py"], env=env)
    assert cmd == ["srun", "--mpi=pmix", "-n", "2", "--overlap", "x.py"]


def test_no_launcher(monkeypatch):
    monkeypatch.setattr(_launcher, "find_mpiexec", lambda env=None, python=None: None)
    with pytest.raises(FileNotFoundError, match="LAZYHEAT_MPIEXEC"):
        _launcher.launch_command(2, ["x.py"], env={})


def test_the_test_runner_uses_it(machine, monkeypatch):
    """tests/_launch.py's mpirun builds its command with launch_command, from
    LAZYHEAT_MPIEXEC and LAZYHEAT_MPIEXEC_ARGS."""
    machine("openmpi", cores=1, root=True)
    monkeypatch.setenv(_launcher.ENV_COMMAND, "/opt/ompi/bin/mpirun")
    monkeypatch.setenv(_launcher.ENV_ARGS, "--mca btl ^openib")
    monkeypatch.setenv("OMPI_ALLOW_RUN_AS_ROOT", "1")
    monkeypatch.setenv("PMI_RANK", "3")
    seen = {}

    def fake_run(cmd, timeout, env=None):
        seen.update(cmd=cmd, env=env)

    monkeypatch.setattr(_launch, "run", fake_run)
    _launch.mpirun(4, ["-m", "pytest"], timeout=1, extra_env={"LAZYHEAT_X": "1"})
    assert seen["cmd"] == ["/opt/ompi/bin/mpirun", "-n", "4", "--oversubscribe",
                           "--allow-run-as-root", "--mca", "btl", "^openib", sys.executable,
                           "-m", "pytest"]
    assert _launch.find_mpiexec() == "/opt/ompi/bin/mpirun"
    env = seen["env"]
    assert env["OMPI_ALLOW_RUN_AS_ROOT"] == "1" and env["LAZYHEAT_X"] == "1"
    assert env["OMP_NUM_THREADS"] == "1" and "PMI_RANK" not in env


# -- the environment of a nested launch --------------------------------------------------------

OUTER_JOB = {
    # MPICH / Hydra / Intel MPI
    "PMI_RANK": "1", "PMI_SIZE": "4", "PMI_FD": "7", "PMI_PORT": "host:1234",
    "HYDRA_CONTROL_FD": "9", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "4",
    # PMIx (Open MPI 5, srun --mpi=pmix)
    "PMIX_RANK": "1", "PMIX_NAMESPACE": "prterun-x-1@1", "PMIX_SERVER_URI41": "x",
    # Open MPI
    "OMPI_COMM_WORLD_RANK": "1", "OMPI_COMM_WORLD_SIZE": "4", "OMPI_COMM_WORLD_LOCAL_RANK": "1",
    "OMPI_UNIVERSE_SIZE": "4", "OMPI_FILE_LOCATION": "/tmp/x", "OMPI_ARGV": "",
    "OMPI_MCA_ess_base_jobid": "1", "OMPI_MCA_ess_base_vpid": "1", "OMPI_MCA_ess": "^singleton",
    "OMPI_MCA_orte_hnp_uri": "x", "OMPI_MCA_orte_precondition_transports": "a-b",
    "OMPI_MCA_pmix": "^s1", "OMPI_MCA_initial_wdir": "/x", "OMPI_MCA_mpi_oversubscribe": "1",
    # MVAPICH, HPE Cray PALS
    "MV2_COMM_WORLD_RANK": "1", "PALS_RANKID": "1", "PALS_LOCAL_SIZE": "4", "PALS_APID": "x",
    # Slurm: the step and the task
    "SLURM_STEP_ID": "0", "SLURM_STEPID": "0", "SLURM_STEP_NUM_TASKS": "4", "SLURM_PROCID": "1",
    "SLURM_LOCALID": "1", "SLURM_NODEID": "0", "SLURM_TASK_PID": "99", "SLURM_GTIDS": "0,1",
    "SLURM_CPU_BIND": "quiet,mask_cpu:0x1", "SLURM_SRUN_COMM_PORT": "4242",
}
ALLOCATION = {"SLURM_JOB_ID": "123", "SLURM_JOBID": "123", "SLURM_NODELIST": "n[1-2]",
              "SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS": "4"}
USER = {
    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_btl": "self,tcp", "OMPI_MCA_rmaps_base_oversubscribe": "1",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_mpi_yield_when_idle": "1",
    "PRTE_MCA_rmaps_default_mapping_policy": ":oversubscribe", "I_MPI_FABRICS": "shm",
    "MPIR_CVAR_ENABLE_GPU": "0", "FI_PROVIDER": "tcp", "UCX_TLS": "tcp",
    "LAZYHEAT_DEVICE": "cpu", "LAZYHEAT_MPIEXEC": "mpirun", "LAZYHEAT_MPIEXEC_ARGS": "-v",
    "PATH": "/usr/bin", "HOME": "/root", "OMP_NUM_THREADS": "2",
}


def test_child_env_drops_the_outer_job_keeps_the_users():
    env = _launcher.child_env({**OUTER_JOB, **ALLOCATION, **USER})
    assert env == USER


def test_child_env_for_srun_keeps_the_allocation():
    env = _launcher.child_env({**OUTER_JOB, **ALLOCATION, **USER}, flavour="slurm")
    assert env == {**ALLOCATION, **USER}


def test_child_env_defaults_to_this_environment(monkeypatch):
    monkeypatch.setenv("PMIX_RANK", "2")
    monkeypatch.setenv("OMPI_MCA_btl", "self")
    env = _launcher.child_env()
    assert "PMIX_RANK" not in env and env["OMPI_MCA_btl"] == "self"

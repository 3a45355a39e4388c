"""How lazyheat's tools start a program on N MPI ranks: the launcher, its flags, its environment.

Used by the test runner (which starts ``tests/mpi`` on 2, 3 and 4 ranks), the benchmark
driver and ``python -m lazyheat info``. Pure standard library, and nothing here imports torch
or mpi4py, so that a driver process can build a command without loading either.

The launcher is, in this order: the command in ``LAZYHEAT_MPIEXEC`` (split like a shell
would, so ``"srun --mpi=pmix"`` works), ``mpiexec`` beside the running interpreter (the
``mpich`` wheel puts one there), ``mpiexec`` on ``PATH``. Its flavour (MPICH, Open MPI, Intel
MPI, Slurm) decides the flags it needs beyond ``-n N``: Open MPI refuses to run as root
without ``--allow-run-as-root`` and more ranks than cores without ``--oversubscribe``.
``LAZYHEAT_MPIEXEC_ARGS`` adds the user's own flags after those.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

ENV_COMMAND = "LAZYHEAT_MPIEXEC"
ENV_ARGS = "LAZYHEAT_MPIEXEC_ARGS"
FLAVOURS = ("mpich", "openmpi", "intel", "slurm", "unknown")
# seconds for ``<launcher> --version``: a launcher that hangs (a wrapper waiting for input, a
# Slurm controller that does not answer) must not hang whoever asked for the flavour
VERSION_TIMEOUT = 10.0


def _words(cmd: str | Sequence[str]) -> list[str]:
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def find_mpiexec(env: Mapping[str, str] | None = None,
                 python: str | None = None) -> list[str] | None:
    """The launcher command as a list of words, or None when there is none.

    ``LAZYHEAT_MPIEXEC`` (in ``env``, default ``os.environ``) wins; then ``mpiexec`` beside
    ``python`` (default: this interpreter; the path is not resolved, so a virtual
    environment's ``bin/`` is searched, not the base interpreter's); then ``mpiexec`` on the
    ``PATH`` of ``env``.
    """
    env = os.environ if env is None else env
    given = env.get(ENV_COMMAND, "").strip()
    if given:
        return shlex.split(given)
    local = Path(python or sys.executable).parent / "mpiexec"
    if local.is_file() and os.access(local, os.X_OK):
        return [str(local)]
    found = shutil.which("mpiexec", path=env.get("PATH"))
    return [found] if found else None


def _flavour_of_text(text: str) -> str:
    """The flavour named by a launcher's ``--version`` output."""
    low = text.lower()
    # Intel MPI's mpiexec is Hydra too, and says so: check for Intel first
    if "intel(r) mpi" in low or "intel mpi" in low:
        return "intel"
    if "open mpi" in low or "openrte" in low or "open-mpi" in low or "prrte" in low \
            or "pmix reference" in low:
        return "openmpi"
    if "hydra" in low or "mpich" in low or "mvapich" in low:
        return "mpich"
    if re.match(r"\s*slurm\b", low):
        return "slurm"
    return "unknown"


# launchers whose name alone says what they are (not mpiexec.hydra: Intel MPI has one too)
_BY_NAME = {"srun": "slurm", "orterun": "openmpi", "prterun": "openmpi",
            "mpiexec.gforker": "mpich"}


@functools.lru_cache(maxsize=16)
def _probe(program: str) -> tuple[str, str]:
    """(flavour, first line of ``program --version``); ("unknown", "") when it cannot run."""
    try:
        proc = subprocess.run([program, "--version"], stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=VERSION_TIMEOUT, env=child_env())
    except (OSError, subprocess.SubprocessError):
        return "unknown", ""
    text = proc.stdout or ""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    flavour = _flavour_of_text(text)
    if flavour == "mpich" and first.startswith("HYDRA"):
        # Hydra's first line is only a heading; its version is on a later line
        m = re.search(r"Version:\s*(\S+)", text)
        first = f"Hydra {m.group(1)}" if m else first
    return flavour, first


def mpi_flavour(cmd: str | Sequence[str]) -> str:
    """"mpich", "openmpi", "intel", "slurm" or "unknown": what launcher ``cmd`` is.

    Read off the program's name where that is unambiguous (``srun``), otherwise off its
    ``--version`` output (run once per program and cached; the program alone, without the
    options in ``cmd``, and with a timeout).
    """
    words = _words(cmd)
    if not words:
        return "unknown"
    named = _BY_NAME.get(os.path.basename(words[0]))
    return named or _probe(words[0])[0]


def launcher_version(cmd: str | Sequence[str]) -> str:
    """The first line of the launcher's ``--version`` output ("" when it has none)."""
    words = _words(cmd)
    return _probe(words[0])[1] if words else ""


def physical_cores() -> int:
    """Cores this process may run on, hyperthreads of one core counted once.

    Open MPI's default is one slot per core, so this (not ``os.cpu_count()``, which counts
    hardware threads) is the rank count beyond which it asks for ``--oversubscribe``.
    """
    try:
        cpus = sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1
    cores = set()
    for cpu in cpus:
        topo = Path(f"/sys/devices/system/cpu/cpu{cpu}/topology")
        try:
            cores.add((topo.joinpath("physical_package_id").read_text().strip(),
                       topo.joinpath("core_id").read_text().strip()))
        except OSError:
            cores.add(("cpu", str(cpu)))  # no topology (a container may hide it)
    return max(len(cores), 1)


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def flavour_flags(flavour: str, n: int, given: Sequence[str] = ()) -> list[str]:
    """What launcher ``flavour`` needs beyond ``-n n`` to start ``n`` ranks here.

    ``given`` (the launcher's own words and the user's extra flags) suppresses a flag the user
    already chose, in either of its spellings.
    """
    if flavour != "openmpi":
        # MPICH's Hydra and Intel MPI oversubscribe and run as root without being asked;
        # srun runs as root, and oversubscribing an allocation is the user's decision
        return []
    said = " ".join(given).lower()
    flags = []
    if n > physical_cores() and "oversubscribe" not in said:
        flags.append("--oversubscribe")
    if _is_root() and "allow-run-as-root" not in said:
        flags.append("--allow-run-as-root")
    return flags


def launch_command(n: int, argv: Sequence[str], launcher: str | Sequence[str] | None = None,
                   *, flavour: str | None = None,
                   env: Mapping[str, str] | None = None) -> list[str]:
    """The whole command that starts ``argv`` on ``n`` ranks.

    ``launcher`` (words or a shell-like string) defaults to :func:`find_mpiexec`; ``flavour``
    to :func:`mpi_flavour` of it. The result is the launcher, ``-n n``, the flags its flavour
    needs (:func:`flavour_flags`), the words of ``LAZYHEAT_MPIEXEC_ARGS`` (from ``env``,
    default ``os.environ``), then ``argv``. Raises FileNotFoundError when there is no launcher.
    """
    env = os.environ if env is None else env
    cmd = _words(launcher) if launcher is not None else find_mpiexec(env)
    if not cmd:
        raise FileNotFoundError(
            f"no MPI launcher: set {ENV_COMMAND} or put mpiexec on PATH "
            "(pip install mpich provides one)")
    flavour = flavour or mpi_flavour(cmd)
    extra = shlex.split(env.get(ENV_ARGS, ""))
    # every flavour takes -n (srun's short form of --ntasks, mpiexec's standard option)
    return [*cmd, "-n", str(n), *flavour_flags(flavour, n, cmd + extra), *extra, *argv]


# -- the environment of a nested launch ---------------------------------------------------------
#
# A process started by mpiexec or srun learns from its environment which job it belongs to and
# where its process manager listens. A launch from inside such a process (the test runner run
# under mpiexec, a benchmark driver in a batch step) must not pass those on, or the new ranks
# would try to join the outer job. Everything else is the user's: OMPI_MCA_* options (btl,
# rmaps_base_oversubscribe, ...), OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM), PRTE_MCA_*, I_MPI_*,
# MPIR_CVAR_*, FI_*, UCX_*, LAZYHEAT_* stay.

# set per process or per job by a process manager (PMI / PMIx clients, Hydra, Intel MPI,
# MVAPICH's mpirun_rsh, Open MPI's ORTE and PRRTE, HPE Cray's PALS)
_JOB_PREFIXES = ("PMI_", "PMIX_", "HYDRA_", "HYDI_", "MPI_LOCAL", "MV2_COMM_WORLD_", "MPIRUN_",
                 "OMPI_COMM_WORLD_", "OMPI_MCA_ess", "OMPI_MCA_orte_", "OMPI_MCA_pmix",
                 "PALS_RANKID", "PALS_NODEID", "PALS_LOCAL_", "PALS_APID", "PALS_APINFO",
                 "PALS_SPOOL_DIR")
_JOB_NAMES = frozenset({
    "OMPI_UNIVERSE_SIZE", "OMPI_APP_CTX_NUM_PROCS", "OMPI_NUM_APP_CTX", "OMPI_FIRST_RANKS",
    "OMPI_ARGV", "OMPI_COMMAND", "OMPI_FILE_LOCATION", "OMPI_MCA_initial_wdir",
    "OMPI_MCA_shmem_RUNTIME_QUERY_hint", "OMPI_MCA_mpi_oversubscribe",
})
# Slurm: set by srun for one step or one task of it (never wanted in a new launch)
_SLURM_STEP_PREFIXES = ("SLURM_STEP", "SLURM_CPU_BIND", "SLURM_SRUN_COMM_", "SLURM_PMIX",
                        "SLURM_TOPOLOGY_ADDR")
_SLURM_STEP_NAMES = frozenset({
    "SLURM_PROCID", "SLURM_LOCALID", "SLURM_NODEID", "SLURM_TASK_PID", "SLURM_GTIDS",
    "SLURM_LAUNCH_NODE_IPADDR", "SLURM_PRIO_PROCESS", "SLURM_UMASK",
})


def _belongs_to_outer_job(name: str, keep_allocation: bool) -> bool:
    if name.startswith(_JOB_PREFIXES) or name in _JOB_NAMES:
        return True
    if not name.startswith("SLURM_"):
        return False
    if name.startswith(_SLURM_STEP_PREFIXES) or name in _SLURM_STEP_NAMES:
        return True
    # The allocation's own variables (SLURM_JOB_ID, SLURM_NODELIST, ...): srun needs them to
    # start a step inside the allocation instead of asking for a new one. Any other launcher
    # gets none of them, so that it starts its ranks here, as on a workstation: seeing them,
    # Hydra or Open MPI would start the ranks through srun, in a step that waits for the
    # resources the calling step holds.
    return not keep_allocation


def child_env(env: Mapping[str, str] | None = None, *,
              flavour: str | None = None) -> dict[str, str]:
    """``env`` (default ``os.environ``) without what ties a process to an outer MPI job.

    ``flavour`` is the launcher's (:func:`mpi_flavour`): for ``"slurm"`` the allocation's
    ``SLURM_*`` variables stay (the step's and task's go); for any other, all ``SLURM_*`` go.
    """
    env = os.environ if env is None else env
    keep = flavour == "slurm"
    return {k: v for k, v in env.items() if not _belongs_to_outer_job(k, keep)}

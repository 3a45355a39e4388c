"""``python -m lazyheat info`` (text and JSON, one rank and two) and every subcommand's --help."""

import json
import sys

import pytest
from _launch import mpirun, run, tail

INFO = [sys.executable, "-m", "lazyheat", "info"]
SECTIONS = {"versions", "launcher", "mpi", "ranks", "threads", "devices"}


def _json(output: str) -> dict:
    """The JSON object in ``output`` (a launcher may add lines of its own around it)."""
    start, end = output.find("{"), output.rfind("}")
    assert 0 <= start < end, output
    return json.loads(output[start:end + 1])


def test_info_text():
    proc = run(INFO, timeout=120)
    assert proc.returncode == 0, tail(proc.stdout)
    for label in ("lazyheat", "packages", "launcher", "MPI library", "MPI standard",
                  "thread level", "CUDA-aware", "ranks", "threads", "devices"):
        assert f"\n{label} " in f"\n{proc.stdout}", proc.stdout
    assert "torch" in proc.stdout and "mpi4py" in proc.stdout and "networkx" in proc.stdout


def test_info_json():
    proc = run([*INFO, "--json"], timeout=120)
    assert proc.returncode == 0, tail(proc.stdout)
    info = json.loads(proc.stdout)  # nothing but the object
    assert SECTIONS <= set(info)
    versions = info["versions"]
    for name in ("lazyheat", "python", "torch", "numpy", "mpi4py", "networkx"):
        assert versions[name] and versions[name] != "not installed", versions
    mpi = info["mpi"]
    assert mpi["library_version"] and mpi["standard"].count(".") == 1
    assert mpi["thread_level"] in ("single", "funneled", "serialized", "multiple")
    assert mpi["cuda_aware"]["answer"] in ("yes", "no", "unknown")
    assert info["ranks"] == {"world_size": 1, "rank": 0, "hosts": info["ranks"]["hosts"]}
    assert info["threads"]["OMP_NUM_THREADS"] == "1"  # the test runner's setting, reported
    assert info["threads"]["torch"] >= 1
    assert info["devices"]["cpu"]["logical_cpus"] >= 1
    launcher = info["launcher"]
    if launcher["command"] is not None:
        assert launcher["flavour"] in ("mpich", "openmpi", "intel", "slurm", "unknown")
        assert " -n 4 " in launcher["example"]


def test_info_on_two_ranks_prints_once():
    proc = mpirun(2, ["-m", "lazyheat", "info", "--json"], timeout=120)
    assert proc.returncode == 0, tail(proc.stdout)
    assert proc.stdout.count('"versions"') == 1, proc.stdout
    info = _json(proc.stdout)
    assert info["ranks"]["world_size"] == 2 and info["ranks"]["rank"] == 0


@pytest.mark.parametrize("words, expect", [
    ([], ["demo", "info"]),
    (["demo"], ["--rows", "--cols", "--seed", "default: 200000"]),
    (["info"], ["--json", "bug report"]),
])
def test_help(words, expect):
    proc = run([sys.executable, "-m", "lazyheat", *words, "--help"], timeout=120)
    assert proc.returncode == 0, tail(proc.stdout)
    for text in expect:
        assert text in proc.stdout, proc.stdout
    # every option of the command has a help text of its own
    options = [line for line in proc.stdout.splitlines() if line.strip().startswith("--")]
    assert all(len(line.split(None, 2)) == 3 for line in options), options

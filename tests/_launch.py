"""Helpers for tests that start lazyheat programs in separate processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# Variables a process manager sets for its children; a nested launch must not
# inherit them or the new job would try to join the outer one.
_LAUNCHER_PREFIXES = ("PMI_", "PMIX_", "HYDRA_", "MPI_LOCAL", "OMPI_", "SLURM_")


def find_mpiexec() -> str | None:
    """mpiexec next to this interpreter (the mpich wheel), else one on PATH."""
    local = Path(sys.executable).parent / "mpiexec"
    if local.exists() and os.access(local, os.X_OK):
        return str(local)
    return shutil.which("mpiexec")


def require_mpiexec() -> str:
    mpiexec = find_mpiexec()
    if mpiexec is None:
        pytest.skip("no mpiexec found next to the interpreter or on PATH")
    return mpiexec


def child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_LAUNCHER_PREFIXES)}
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def run(cmd: list[str], timeout: float) -> subprocess.CompletedProcess:
    """Run ``cmd`` from the repository root; fail (not hang) on timeout."""
    try:
        return subprocess.run(
            cmd,
            cwd=ROOT,
            env=child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or ""
        if isinstance(out, bytes):
            out = out.decode(errors="replace")
        pytest.fail(f"{' '.join(cmd)} did not finish within {timeout} s:\n{tail(out)}")


def mpirun(n: int, args: list[str], timeout: float) -> subprocess.CompletedProcess:
    return run([require_mpiexec(), "-n", str(n), sys.executable, *args], timeout)


def tail(text: str, lines: int = 80) -> str:
    """The last ``lines`` lines of ``text``, without frames inside installed packages.

    A hang dumps every rank's stack (faulthandler); the frames that matter are the
    ones in lazyheat and in the tests, not pytest's own.
    """
    keep = [
        line for line in text.splitlines() if "site-packages" not in line and "<frozen " not in line
    ]
    return "\n".join(keep[-lines:])

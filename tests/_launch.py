"""Helpers for tests that start lazyheat programs in separate processes.

Which launcher starts the ranks, the flags it needs and the environment it gets come from
``lazyheat._launcher`` (``LAZYHEAT_MPIEXEC``, ``LAZYHEAT_MPIEXEC_ARGS``; Open MPI's
``--oversubscribe`` / ``--allow-run-as-root`` where needed), so the suite runs the same way
under MPICH, Open MPI, Intel MPI or srun.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from lazyheat import _launcher

ROOT = Path(__file__).resolve().parent.parent

# key under which the multi-rank runs of tests/mpi leave their counts on the pytest config,
# for the table that tests/conftest.py prints at the end of the session
MPI_RUNS = pytest.StashKey[list]()

# Set in the ranks' environment: rank 0's tests/conftest.py writes its pytest counts there as
# JSON. A file rather than the output, because the ranks' outputs interleave.
COUNTS_ENV = "LAZYHEAT_TEST_COUNTS"
KINDS = ("passed", "failed", "skipped", "errors", "xfailed", "xpassed")
# pytest's closing line, e.g. "321 passed, 2 skipped in 40.12s (0:00:40)" (with "=" around it
# when something failed): the fallback when no rank wrote the counts file
_SUMMARY = re.compile(r"^=*\s*(\d+ [a-z]+(?:, \d+ [a-z]+)*) in [\d.]+s\b")
_PLURAL = {"error": "errors", "warning": "warnings"}


def parse_summary(output: str) -> dict[str, int] | None:
    """The counts of the last pytest summary line in ``output`` (None if there is none)."""
    found = None
    for line in output.splitlines():
        m = _SUMMARY.match(line.strip())
        if m:
            found = m.group(1)
    if found is None:
        return None
    counts = dict.fromkeys(KINDS, 0)
    for part in found.split(", "):
        num, kind = part.split(" ", 1)
        kind = _PLURAL.get(kind, kind)
        if kind in counts:
            counts[kind] = int(num)
    return counts


def read_counts(path, output: str) -> tuple[dict[str, int] | None, str]:
    """Rank 0's counts from its file, else parsed from the output; and where they came from."""
    try:
        return json.loads(path.read_text()), "rank 0"
    except (OSError, ValueError):
        counts = parse_summary(output)
        return counts, "output" if counts is not None else "none"


def describe(counts: dict[str, int] | None) -> str:
    """``"321 passed, 0 failed, 2 skipped"``, plus the rarer kinds when there are any."""
    if counts is None:
        return "no pytest summary"
    n = {k: counts.get(k, 0) for k in KINDS}
    text = f"{n['passed']} passed, {n['failed']} failed, {n['skipped']} skipped"
    rare = [f"{n[k]} {k}" for k in ("errors", "xfailed", "xpassed") if n[k]]
    return ", ".join([text, *rare])


def summary_line(row: dict) -> str:
    """One launch of tests/mpi, as the end-of-session table shows it:
    ``"tests/mpi on 2 ranks: 321 passed, 0 failed, 2 skipped, 41 s"``."""
    text = f"tests/mpi on {row['ranks']} ranks: {describe(row['counts'])}"
    if row.get("seconds") is not None:
        text += f", {row['seconds']:.0f} s"
    if row.get("source") == "output":
        text += " (read from the output)"
    if row.get("returncode") is None:
        text += " (did not finish)"
    elif row["returncode"] != 0:
        text += f" (exit code {row['returncode']})"
    return text


def find_mpiexec() -> str | None:
    """The launcher command (see ``lazyheat._launcher.find_mpiexec``) as one shell-quoted
    string, or None when there is none."""
    cmd = _launcher.find_mpiexec()
    return shlex.join(cmd) if cmd else None


def require_mpiexec() -> str:
    """The launcher command as one string; skips the test when there is none."""
    mpiexec = find_mpiexec()
    if mpiexec is None:
        pytest.skip("no MPI launcher: LAZYHEAT_MPIEXEC is unset and no mpiexec was found "
                    "next to the interpreter or on PATH")
    return mpiexec


def child_env(flavour: str | None = None, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process the tests start: this one's, without what would tie it to
    an MPI job this process may run in, one thread per process, the checkout importable."""
    env = _launcher.child_env(os.environ, flavour=flavour)
    env["OMP_NUM_THREADS"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.update(extra or {})
    return env


def run(cmd: list[str], timeout: float, env: dict[str, str] | None = None
        ) -> subprocess.CompletedProcess:
    """Run ``cmd`` from the repository root; fail (not hang) on timeout.

    ``env`` defaults to :func:`child_env`.
    """
    try:
        return subprocess.run(
            cmd,
            cwd=ROOT,
            env=child_env() if env is None else env,
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
        pytest.fail(f"{shlex.join(cmd)} did not finish within {timeout} s:\n{tail(out)}")


def mpirun(n: int, args: list[str], timeout: float,
           extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run ``python args...`` on ``n`` ranks with the launcher lazyheat finds (skips the test
    when there is none); ``extra_env`` is added to the ranks' environment."""
    launcher = shlex.split(require_mpiexec())
    flavour = _launcher.mpi_flavour(launcher)
    cmd = _launcher.launch_command(n, [sys.executable, *args], launcher, flavour=flavour)
    return run(cmd, timeout, env=child_env(flavour, extra_env))


def tail(text: str, lines: int = 80) -> str:
    """The last ``lines`` lines of ``text``, without frames inside installed packages.

    A hang dumps every rank's stack (faulthandler); the frames that matter are the
    ones in lazyheat and in the tests, not pytest's own.
    """
    keep = [
        line for line in text.splitlines() if "site-packages" not in line and "<frozen " not in line
    ]
    return "\n".join(keep[-lines:])

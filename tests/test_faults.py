"""The fault matrix: real jobs under ``mpiexec -n 2``, ``-n 3`` and ``-n 4``, one per fault.

For every fault the job must end with a non-zero exit well within the test's timeout, the
message must name the rank or ranks, the cause and the user's line, and no rank may print a
wrong result (scripts print ``RESULT <value>`` lines; every one printed must be right). The
module prints the matrix at its end: fault x ranks, exit code and seconds to end.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest
from _launch import ROOT, child_env, mpirun, require_mpiexec, tail

from lazyheat import _launcher

RANKS = (2, 3, 4)
TIMEOUT = 90  # per job; every fault must end it far sooner
MATRIX: dict = {}

HEAD = """
import os, sys, time
import numpy as np
import lazyheat as lh
from mpi4py import MPI
rank, size = MPI.COMM_WORLD.rank, MPI.COMM_WORLD.size
def out(value):  # one write per line: ranks' lines do not interleave
    sys.stdout.write(f"RESULT {value}\\n"); sys.stdout.flush()
"""

# name -> (script body, what the output must contain, extra environment)
FAULTS = {
    "kernel exception on one rank": ("""
        n = 4 * size
        base = lh.full((n,), 2, dtype=lh.int64, split=0)
        exponent = lh.where(lh.arange(n, split=0) < n - 1, 1, -1)  # -1 only in the last block
        out((base ** exponent).sum().item())
        """, ["failed in power", "kernel_exception_on_one_rank.py:13"], {}),
    "kernel exception while a collective is in flight": ("""
        n = 4 * size
        x = lh.random.rand(64 * size, 64, split=0, seed=1)  # its resplit overlaps the power
        base = lh.full((n,), 2, dtype=lh.int64, split=0)
        exponent = lh.where(lh.arange(n, split=0) < n - 1, 1, -1)  # -1 only in the last block
        y, s = lh.compute(lh.resplit(x, 1), (base ** exponent).sum())
        out(s.item())
        """, ["failed in power", "kernel_exception_while_a_collective_is_in_flight.py:14"], {}),
    "exception before the first lazyheat call": ("""
        if rank == 1:
            raise RuntimeError("bad input file")
        x = lh.arange(100, split=0)
        out(x.sum().item())
        """, ["rank 1 failed at exception_before_the_first_lazyheat_call.py:11",
              "bad input file"], {}),
    "MemoryError on one rank": ("""
        x = lh.arange(100, split=0)
        if rank == size - 1:
            big = np.ones(10**14)  # far more than any node holds
        out(x.sum().item())
        """, ["MemoryError", "memoryerror_on_one_rank.py:12"], {}),
    "rank 0 computes an extra max() first": ("""
        x = lh.arange(100, split=0, dtype=lh.float32)
        if rank == 0:
            out(x.max().item())
        out(x.sum().item())
        """, ["diverged", "max -> f32[] at rank_0_computes_an_extra_max_first.py:12"], {}),
    "extra compute in the middle of a loop": ("""
        x = lh.arange(100, split=0, dtype=lh.float32)
        for i in range(6):
            out((x * i).sum().item())
            if i == 3 and rank == size - 1:
                (x - i).max().item()
        """, ["diverged", "extra_compute_in_the_middle_of_a_loop.py:14"], {}),
    "sum on one rank, max on the others": ("""
        x = lh.arange(100, split=0, dtype=lh.float32)
        v = x.sum() if rank == 0 else x.max()
        out(v.item())
        """, ["diverged", "rank 0: compute of sum", "max -> f32[]"], {}),
    "only rank 0 computes": ("""
        x = lh.arange(100, split=0, dtype=lh.float32)
        if rank == 0:
            out(x.sum().item())
        """, ["finished its script", "only_rank_0_computes.py:12"], {}),
    "caught exception skips a compute": ("""
        x = lh.arange(100, split=0, dtype=lh.float32)
        y = lh.arange(100, split=0, dtype=lh.float32) * 2
        try:
            if rank == 1:
                raise KeyError("missing")
            out(x.sum().item())
        except KeyError:
            pass
        out(y.sum().item())
        """, ["diverged", "caught_exception_skips_a_compute.py:15",
              "caught_exception_skips_a_compute.py:18"], {}),
    "lh.array data differs between ranks": ("""
        x = lh.array(np.full(4, rank), split=0)
        out(x.numpy().tolist())
        """, ["differs between ranks", "lh_array_data_differs_between_ranks.py:10"], {}),
    "a rank blocked outside lazyheat": ("""
        x = lh.arange(100, split=0)
        if rank == 1:
            time.sleep(600)
        out(x.sum().item())
        """, ["LAZYHEAT_TIMEOUT", "rank 1: never arrived", "a_rank_blocked_outside_lazyheat.py:13"],
        {"LAZYHEAT_TIMEOUT": "4"}),
    "a failure while a file is being saved": ("""
        from lazyheat.runtime.io import BACKENDS
        npy = BACKENDS["npy"]
        write = type(npy).write
        def failing(self, job):
            if job.rank == job.size - 1:
                raise OSError("No space left on device")
            write(self, job)
        type(npy).write = failing
        target = sys.argv[1]
        np.save(target, np.zeros(3))  # the previous file, which must survive
        lh.save_npy(lh.arange(1000, split=0), target, overwrite=True)
        out("saved")
        """, ["No space left on device", "nothing was written",
              "a_failure_while_a_file_is_being_saved.py:20"], {}),
    "SIGKILL of a rank mid-plan": ("""
        import threading
        if rank == 1:
            threading.Timer(1.5, lambda: os.kill(os.getpid(), 9)).start()
        x = lh.random.rand(200_000, split=0, seed=1)
        for i in range(10**6):
            value = round(float((x * 0 + 1).sum().item()))
            if rank == 0:
                out(value)
        """, ["signal 9"], {}),
}

# the right value of every RESULT line a fault script may print
RIGHT = {"4950.0", "4950", "99.0", "9900.0", "0.0", "14850.0", "19800.0", "24750.0",
         "200000"}


def _script_name(fault: str) -> str:
    keep = "".join(c if c.isalnum() else "_" for c in fault.lower())
    while "__" in keep:
        keep = keep.replace("__", "_")
    return keep.strip("_") + ".py"


def _record(fault, ranks, code, seconds):
    MATRIX.setdefault(fault, {})[ranks] = (code, seconds)


def _results_right(out: str) -> None:
    # ranks' lines may interleave ("RESULTRESULT 1\n 1"): take every value after a marker
    for value in re.findall(r"RESULT\s+(\S+)", out):
        assert value in RIGHT, f"a rank printed a wrong result {value!r}:\n{tail(out)}"


@pytest.mark.parametrize("ranks", RANKS)
@pytest.mark.parametrize("fault", list(FAULTS))
def test_fault_ends_the_job_clearly(tmp_path, fault, ranks, monkeypatch):
    body, expected, env = FAULTS[fault]
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    script = tmp_path / _script_name(fault)
    script.write_text(textwrap.dedent(HEAD) + textwrap.dedent(body))
    t0 = time.monotonic()
    target = tmp_path / "saved.npy"
    proc = mpirun(ranks, [str(script), str(target)], timeout=TIMEOUT)
    seconds = time.monotonic() - t0
    _record(fault, ranks, proc.returncode, seconds)
    out = proc.stdout
    assert proc.returncode != 0, tail(out)
    for text in expected:
        assert text in out, f"{text!r} missing:\n{tail(out)}"
    _results_right(out)
    if target.exists():  # the save never replaced the previous file, and left no temporary
        assert np.load(target).tolist() == [0.0, 0.0, 0.0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("ranks", RANKS)
def test_sigint_to_the_launcher_ends_the_job(tmp_path, ranks):
    script = tmp_path / "interrupted.py"
    script.write_text(textwrap.dedent(HEAD) + textwrap.dedent("""
        x = lh.random.rand(100_000, split=0, seed=1)
        print("STARTED", flush=True)
        while True:
            (x * 2).sum().item()
        """))
    cmd = _launcher.launch_command(ranks, [sys.executable, str(script)], require_mpiexec())
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=child_env(), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        for line in proc.stdout:
            if "STARTED" in line:
                break
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail("the job did not end within 30 s of SIGINT")
    _record("SIGINT to the launcher", ranks, proc.returncode, time.monotonic() - t0)
    assert proc.returncode != 0


def test_zz_print_the_matrix(capsys):
    """Print fault x ranks: exit code and seconds to end (run last in this module)."""
    if not MATRIX:
        pytest.skip("no fault ran")
    width = max(len(f) for f in MATRIX)
    lines = ["", "fault matrix (exit code, seconds to end):",
             " " * width + "".join(f"   {r} ranks     " for r in RANKS)]
    for fault, cells in MATRIX.items():
        row = fault.ljust(width)
        for r in RANKS:
            code, secs = cells.get(r, (None, None))
            row += "   " + ("-" if code is None else f"exit {code:<3} {secs:5.1f} s").ljust(14)
        lines.append(row)
    with capsys.disabled():
        print("\n".join(lines))

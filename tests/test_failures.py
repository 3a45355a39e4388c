"""A failure on one rank ends the whole job instead of leaving the others waiting."""

import textwrap

from _launch import mpirun, tail

RANK_FAILS = """
import lazyheat as lh
from mpi4py import MPI

x = lh.arange(0, 1000, 1, split=0)
y = (x * 2).compute()
if MPI.COMM_WORLD.rank == 1:
    raise RuntimeError("boom")
# rank 0 enters collectives that rank 1 never joins
for _ in range(3):
    print(int((y + 1).sum().item()), flush=True)
"""

ALL_RANKS_FAIL = """
import lazyheat as lh

a = lh.ones((3, 4), split=0)
b = lh.ones((5,))
c = a + b
c.compute()
"""


def run_failing(tmp_path, name, source, ranks):
    """Run ``source`` as script ``name`` on ``ranks`` ranks; it must end, and end nonzero.
    Returns the combined output."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source))
    proc = mpirun(ranks, [str(path)], timeout=120)
    assert proc.returncode != 0, tail(proc.stdout)
    return proc.stdout


def test_one_rank_raising_aborts_the_job(tmp_path):
    out = run_failing(tmp_path, "rank_fails.py", RANK_FAILS, 2)
    assert "boom" in out or "rank 1" in out, tail(out)


def test_build_time_error_on_all_ranks_exits_nonzero(tmp_path):
    out = run_failing(tmp_path, "all_fail.py", ALL_RANKS_FAIL, 3)
    assert "ValueError" in out, tail(out)
    assert "(5,)" in out and "(3, 4)" in out, tail(out)
    assert "all_fail.py" in out, tail(out)


KERNEL_FAILS_ON_ONE_RANK = """
import lazyheat as lh

base = lh.array([2, 2, 2, 2], split=0)
exponent = lh.array([1, 1, -1, -1], split=0)  # negative powers only in rank 1's block
print((base ** exponent).sum().item(), flush=True)
"""


def test_kernel_failure_on_one_rank_aborts_with_rank_and_cause(tmp_path):
    out = run_failing(tmp_path, "kernel_fails.py", KERNEL_FAILS_ON_ONE_RANK, 2)
    assert "rank 1 failed in power" in out, tail(out)
    assert "kernel_fails.py:6" in out, tail(out)

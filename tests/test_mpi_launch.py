"""Run the rank-count independent suite in tests/mpi on 2, 3 and 4 ranks.

The single-process ``python -m pytest`` run covers one rank; this launches the
same tests under mpiexec (oversubscribing the cores where needed).
"""

import pytest
from _launch import mpirun, tail


@pytest.mark.parametrize("nranks", [2, 3, 4])
def test_mpi_suite(nranks):
    # -s: when a kernel fails on one rank lazyheat aborts the whole job; without output
    # capture its "lazyheat: rank R failed ..." message reaches us.
    # faulthandler_timeout: if the ranks ever disagree and wait on each other, every rank
    # prints where it is stuck before the launch times out.
    args = ["-m", "pytest", "-q", "-x", "-s", "-p", "no:cacheprovider"]
    args += ["-o", "faulthandler_timeout=120", "tests/mpi"]
    proc = mpirun(nranks, args, timeout=600)
    if proc.returncode != 0:
        pytest.fail(
            f"tests/mpi failed on {nranks} ranks (exit code {proc.returncode}):\n"
            f"{tail(proc.stdout, 150)}"
        )

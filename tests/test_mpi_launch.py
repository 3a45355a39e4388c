"""Run the rank-count independent suite in tests/mpi on 2, 3 and 4 ranks.

The single-process ``python -m pytest`` run covers one rank; this launches the
same tests under mpiexec (oversubscribing the cores where needed).
"""

import pytest
from _launch import mpirun, tail


@pytest.mark.parametrize("nranks", [2, 3, 4])
def test_mpi_suite(nranks):
    proc = mpirun(
        nranks,
        ["-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", "tests/mpi"],
        timeout=900,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"tests/mpi failed on {nranks} ranks (exit code {proc.returncode}):\n"
            f"{tail(proc.stdout, 150)}"
        )

"""Test-suite configuration.

pytest-mpi treats every test whose keywords contain ``mpi`` as an MPI test and
skips it unless ``--with-mpi`` is given; the directory name ``tests/mpi`` puts
that keyword on all tests in it. Those tests are written to be correct on any
number of ranks, one included, so they always run: the option is switched on
here (after pytest-mpi has configured itself, so its MPI summary stays quiet).
"""

import os

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if hasattr(config.option, "with_mpi"):
        config.option.with_mpi = True


def _launched_rank() -> int:
    """This process's rank when started by mpiexec/srun (without initialising MPI)."""
    for var in ("PMI_RANK", "PMIX_RANK", "OMPI_COMM_WORLD_RANK", "SLURM_PROCID"):
        value = os.environ.get(var)
        if value and value.isdigit():
            return int(value)
    return 0


def pytest_configure(config):
    # every plan built during the tests is checked by the verifier after each pass
    import lazyheat.planner

    lazyheat.planner.VERIFY_PASSES = True
    # Under mpiexec every rank reports; failures in tests/mpi are raised on all ranks
    # together, so ranks other than 0 report them in one line each.
    if _launched_rank() > 0:
        config.option.tbstyle = "line"

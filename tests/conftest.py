"""Test-suite configuration.

pytest-mpi treats every test whose keywords contain ``mpi`` as an MPI test and
skips it unless ``--with-mpi`` is given; the directory name ``tests/mpi`` puts
that keyword on all tests in it. Those tests are written to be correct on any
number of ranks, one included, so they always run: the option is switched on
here (after pytest-mpi has configured itself, so its MPI summary stays quiet).
"""

import json
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


def _counts(terminalreporter) -> dict[str, int]:
    """This session's counts, as pytest's own closing line counts them."""
    stats = terminalreporter.stats

    def count(key):
        return sum(1 for r in stats.get(key, []) if getattr(r, "count_towards_summary", True))

    return {"passed": count("passed"), "failed": count("failed"), "skipped": count("skipped"),
            "errors": count("error"), "xfailed": count("xfailed"), "xpassed": count("xpassed")}


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    import _launch  # the tests' launch helpers (tests/ is on sys.path beside this file)

    # In a launch of tests/mpi by tests/test_mpi_launch.py: rank 0 hands its counts to the
    # launching session through a file (the ranks' outputs interleave; a file does not).
    path = os.environ.get(_launch.COUNTS_ENV)
    if path and _launched_rank() == 0:
        with open(path, "w") as f:
            json.dump(_counts(terminalreporter), f)
    # In the launching session: one line per launch, with that launch's own counts
    runs = config.stash.get(_launch.MPI_RUNS, None)
    if runs:
        terminalreporter.write_sep("-", "tests/mpi under MPI (rank 0's counts)")
        for row in runs:
            terminalreporter.write_line(_launch.summary_line(row))

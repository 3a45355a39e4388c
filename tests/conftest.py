"""Test-suite configuration.

pytest-mpi treats every test whose keywords contain ``mpi`` as an MPI test and
skips it unless ``--with-mpi`` is given; the directory name ``tests/mpi`` puts
that keyword on all tests in it. Those tests are written to be correct on any
number of ranks, one included, so they always run: the option is switched on
here (after pytest-mpi has configured itself, so its MPI summary stays quiet).
"""

import pytest


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    if hasattr(config.option, "with_mpi"):
        config.option.with_mpi = True

"""Fixtures of the rank-count independent tests."""

from __future__ import annotations

import shutil
import tempfile

import pytest
from mpi4py import MPI


@pytest.fixture
def shared_tmp():
    """A fresh directory every rank of the job agrees on (made by rank 0, broadcast; the
    ranks of these tests share one file system), removed when every rank is done."""
    comm = MPI.COMM_WORLD
    path = tempfile.mkdtemp(prefix="lazyheat-test-") if comm.rank == 0 else None
    path = comm.bcast(path, root=0)
    yield path
    comm.barrier()
    if comm.rank == 0:
        shutil.rmtree(path, ignore_errors=True)

"""Plans of integer indexing, item assignment, scans and diff: what moves, and how much.

Along the split axis a take routes its requests to the owners: the bytes are those of the
indices and the rows they ask for, never the array. Item assignment moves only the value's
needed part; diff along the split axis moves one boundary row per rank. Out-of-bounds
indices known only at run time raise the same IndexError on every rank.
"""

import textwrap

import numpy as np
import pytest
from _launch import mpirun, tail
from _plans import comms_of, ops_of

import lazyheat as lh
from lazyheat import indexing
from lazyheat import searching as s

P = 4


FC = lh.FakeComm(P)  # one communicator: operands must share theirs


def _moving(comms):
    return [(k, b) for k, b in comms if b > 0]


def test_take_along_the_split_axis_sends_the_indices_not_the_array():
    x = lh.zeros((100_000, 8), dtype="float64", split=0, comm=FC)
    idx = lh.arange(10, dtype="int64", split=0, comm=FC)
    out = indexing.take(x, idx, axis=0)
    assert out.split == 0 and out.shape == (10, 8)
    comms = _moving(comms_of([out]))
    assert [k for k, _ in comms] == ["allreduce[index bounds flag]",
                                     "alltoall (indices to owners, rows back)"]
    row = 8 * 8
    assert comms[1][1] <= 3 * (8 + row) + 8 * P  # 3 of the 10 indices on a rank
    assert max(b for _, b in comms) < x.nbytes // 1000


def test_take_with_replicated_indices_cuts_them_and_needs_no_bounds_message():
    x = lh.zeros((1000, 3), split=0, comm=FC)
    out = indexing.take(x, lh.arange(5, dtype="int64", comm=FC), axis=0)
    assert out.split == 0
    assert [k for k, _ in _moving(comms_of([out]))] == ["alltoall (indices to owners, rows back)"]


def test_take_along_a_non_split_axis_is_block_local():
    x = lh.zeros((1000, 6), split=0, comm=FC)
    out = indexing.take(x, lh.arange(3, dtype="int64", comm=FC), axis=1)
    assert out.split == 0 and out.aval.counts == x.aval.counts
    assert _moving(comms_of([out])) == []
    assert "take" in ops_of([out])


def test_take_along_axis_on_the_split_axis_routes_elements():
    x = lh.zeros((4000, 5), split=0, comm=FC)
    idx = lh.zeros((8, 5), dtype="int64", split=0, comm=FC)
    out = indexing.take_along_axis(x, idx, axis=0)
    kinds = [k for k, _ in _moving(comms_of([out]))]
    assert kinds[-1] == "alltoall (element requests to owners, values back)"
    assert all(b < x.nbytes // 100 for _, b in comms_of([out]))


def test_setitem_moves_only_the_values_part_and_never_gathers_x():
    x = lh.zeros((1000, 4), split=0, comm=FC)
    x[10:20] = lh.ones((10, 4), split=0, comm=FC)
    comms = comms_of([x])
    assert all(b <= 10 * 4 * 4 for _, b in comms)
    assert "setitem_slice" in ops_of([x])
    y = lh.zeros((1000, 4), split=0, comm=FC)
    y[lh.arange(6, dtype="int64", split=0, comm=FC)] = 1.0
    kinds = [k for k, _ in _moving(comms_of([y]))]
    assert "alltoall ((index, row) pairs to owners)" in kinds
    assert all(b < y.nbytes // 10 for _, b in comms_of([y]))


def test_diff_along_the_split_axis_moves_one_row_per_rank():
    x = lh.zeros((10_000, 6), dtype="float64", split=0, comm=FC)
    comms = _moving(comms_of([s.diff(x, axis=0)]))
    assert comms and all(b <= 6 * 8 for _, b in comms)


def test_cumprod_along_the_split_axis_gathers_one_slice_per_rank():
    x = lh.zeros((10_000, 6), split=0, comm=FC)
    comms = _moving(comms_of([s.cumprod(x, axis=0)]))
    assert [k for k, _ in comms] == ["allgather"]
    assert comms[0][1] == (P - 1) * 6 * 4


def test_an_out_of_bounds_lazy_index_raises_index_error_at_run_time():
    x = lh.array(np.arange(6.0), split=0)
    bad = lh.array(np.array([0, 6]))  # lazy: checked when the plan runs
    with pytest.raises(IndexError, match="out of bounds"):
        indexing.take(x, bad).numpy()
    with pytest.raises(IndexError, match="out of bounds"):
        x[lh.array(np.array([-7]))] = 1.0
        x.numpy()


OUT_OF_BOUNDS_ON_ONE_RANK = """
import numpy as np
import lazyheat as lh

x = lh.array(np.arange(8.0), split=0)
idx = lh.array(np.array([0, 1, 2, 99]), split=0)  # the bad index in the last rank's block
print(lh.take(x, idx).numpy() if hasattr(lh, "take") else
      lh.indexing.take(x, idx).numpy(), flush=True)
"""


def test_an_out_of_bounds_index_on_one_rank_ends_every_rank(tmp_path):
    path = tmp_path / "take_oob.py"
    path.write_text(textwrap.dedent(OUT_OF_BOUNDS_ON_ONE_RANK))
    proc = mpirun(2, [str(path)], timeout=120)
    assert proc.returncode != 0, tail(proc.stdout)
    out = proc.stdout
    assert "IndexError" in out and "out of bounds" in out, tail(out)
    assert "rank 0" in out and "rank 1" in out, tail(out)  # both ranks raised it

"""Plans of the shaping functions: what moves between ranks (planned for any world size with
FakeComm, no MPI). Along a kept axis nothing moves; along the split axis only the rows whose
owner changes do, and nothing is ever gathered whole."""

import json

import pytest

import lazyheat as lh
from lazyheat.graph import ops, topo_order

ROW = 8 * 4  # bytes of one row of an (n, 8) float32 array


def _recv(y):
    """(collective kinds, bytes each rank receives over all of y's collectives)."""
    nodes = [n for n in topo_order(lh.plan(y).outputs) if n.op in ops.COLLECTIVES]
    p = y.comm.size
    per_rank = [0] * p
    for n in nodes:
        for r, b in enumerate(ops.OPS[n.op].comm.recv_bytes(n)):
            per_rank[r] += b
    return [n.op for n in nodes], per_rank


def _x(p, n=100, split=0):
    return lh.random.randn(n, 8, split=split, seed=1, comm=lh.FakeComm(p))


@pytest.mark.parametrize("p", [2, 3, 4])
@pytest.mark.parametrize("shift", [1, 3, -5])
def test_roll_along_the_split_axis_moves_only_the_rows_that_cross_blocks(p, shift):
    kinds, recv = _recv(lh.roll(_x(p), shift, axis=0))
    assert set(kinds) <= {"redistribute"}
    assert recv == [abs(shift) * ROW] * p


def test_roll_plan_in_explain_json():
    doc = json.loads(lh.explain(lh.roll(_x(4), 3, axis=0), format="json"))
    comms = [n["comm"] for n in doc["nodes"] if n.get("comm")]
    assert all(c["kind"].startswith("alltoall") for c in comms)
    assert max(c["bytes_per_rank"] for c in comms) == 3 * ROW


@pytest.mark.parametrize("p", [2, 4])
def test_flip_along_the_split_axis_is_one_alltoall_of_the_blocks(p):
    x = _x(p)
    kinds, recv = _recv(lh.flip(x, 0))
    assert kinds == ["redistribute"]
    block = 100 // p * ROW
    assert max(recv) <= block and sum(recv) <= 100 * ROW


def test_flip_roll_pad_along_a_kept_axis_move_nothing():
    x = _x(4)
    for y in (lh.flip(x, 1), lh.roll(x, 2, axis=1), lh.pad(x, ((0, 0), (1, 2))),
              lh.fliplr(x), lh.tile(x, (1, 3)), lh.repeat(x, 2, axis=0),
              lh.repeat(x, 3, axis=1), lh.repeat(x, list(range(100)), axis=0),
              lh.repeat(x, [1, 2] * 4, axis=1), lh.tril(x), lh.triu(x, 1), lh.diagonal(x, 2),
              lh.moveaxis(x, 0, 1), lh.swapaxes(x, 0, 1)):
        assert _recv(y)[0] == [], lh.explain(y)
    xc = _x(4, split=1)
    for y in (lh.tril(xc, -1), lh.triu(xc), lh.diagonal(xc, -1), lh.flip(xc, 0)):
        assert _recv(y)[0] == [], lh.explain(y)


def test_pad_along_the_split_axis_moves_only_shifted_rows():
    kinds, recv = _recv(lh.pad(_x(4), ((2, 2), (0, 0))))
    assert max(recv) <= 2 * ROW  # the constant pads are generated where they land


def test_broadcast_of_a_split_length_one_axis_gathers_that_row_only():
    x = _x(4)
    y = lh.broadcast_to(x[:1], (100, 8))
    kinds, recv = _recv(y)
    assert y.split == 0 and max(recv) == ROW
    v = lh.random.randn(100, split=0, seed=1, comm=lh.FakeComm(4))
    w = lh.random.randn(12, split=0, seed=2, comm=v.comm)
    grids = lh.meshgrid(v, w, indexing="ij")
    assert [g.split for g in grids] == [0, 1] and all(_recv(g)[0] == [] for g in grids)


def test_diag_of_a_split_vector_builds_a_split_matrix_without_a_gather():
    v = lh.random.randn(100, split=0, seed=1, comm=lh.FakeComm(4))
    d = lh.diag(v, 2)
    assert d.shape == (102, 102) and d.split == 0
    assert max(_recv(d)[1]) <= 2 * 4  # the pad shifts at most two elements


def test_build_time_errors_name_the_function():
    x = _x(2)
    cases = [(lambda: lh.broadcast_to(x, (3, 8)), ValueError, "broadcast_to"),
             (lambda: lh.roll(x, (1, 2), axis=(0, 1, 0)), ValueError, "roll"),
             (lambda: lh.repeat(x, -1), ValueError, "repeat"),
             (lambda: lh.repeat(x, [1, 2], axis=0), ValueError, "repeat"),
             (lambda: lh.split(x, 3), ValueError, "split"),
             (lambda: lh.moveaxis(x, (0, 1), 0), ValueError, "moveaxis"),
             (lambda: lh.tril(x[0]), ValueError, "tril"),
             (lambda: lh.pad(x, 1, mode="median"), NotImplementedError, "pad"),
             (lambda: lh.pad(x, -1), ValueError, "pad"),
             (lambda: lh.rot90(x, axes=(0, 0)), ValueError, "rot90"),
             (lambda: lh.meshgrid(x, indexing="zz"), ValueError, "meshgrid"),
             (lambda: lh.diag(lh.zeros((2, 2, 2))), ValueError, "diag"),
             (lambda: lh.flip(x, 2), ValueError, "flip"),
             (lambda: lh.expand_dims(x, (0, 0)), ValueError, "expand_dims"),
             (lambda: lh.unstack(lh.zeros(())), ValueError, "unstack"),
             (lambda: lh.vsplit(lh.zeros(3), 1), ValueError, "vsplit")]
    for fn, cls, name in cases:
        with pytest.raises(cls, match=name):
            fn()


def test_unstack_and_squeeze_of_the_split_axis_scatter_instead_of_replicating():
    x = lh.random.randn(8, 100, split=0, seed=1, comm=lh.FakeComm(4))
    for piece in lh.unstack(x)[:3]:
        kinds, recv = _recv(piece)
        assert piece.split == 0 and max(recv) <= 25 * 4
    y = lh.squeeze(x[:1])
    assert y.split == 0 and max(_recv(y)[1]) <= 25 * 4

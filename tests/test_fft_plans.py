"""Plans of distributed Fourier transforms (``lazyheat.fft``): along unsplit axes nothing
moves; along the split axis one all-to-all of the block moves the split off the transformed
axis; a 1-D split array takes three all-to-alls (four-step), never a gather."""

import json

import lazyheat as lh


def _plan(y):
    return json.loads(lh.explain(y, format="json"))


def _comms(doc):
    return [n["comm"] for n in doc["nodes"] if n.get("comm")]


def test_unsplit_axis_transform_moves_nothing():
    x = lh.zeros((64, 32), dtype="complex64", split=0, comm=lh.FakeComm(4))
    doc = _plan(lh.fft.fft(x, axis=1))
    assert doc["totals"]["collectives"] == 0
    assert [n["op"] for n in doc["nodes"]].count("fft") == 1


def test_split_axis_transform_is_one_alltoall_of_the_block():
    x = lh.zeros((64, 32), dtype="complex64", split=0, comm=lh.FakeComm(4))
    y = lh.fft.fft(x, axis=0)
    assert y.split == 1
    comms = _comms(_plan(y))
    assert [c["kind"] for c in comms] == ["alltoall (split 0 -> 1)"]
    # each rank receives the 3/4 of its 64 x 8 output block it did not hold: 3072 B
    assert comms[0]["bytes_per_rank"] == 64 * 8 * 8 * 3 // 4


def test_fft2_of_split_array_is_staged():
    x = lh.zeros((64, 32), dtype="complex64", split=0, comm=lh.FakeComm(4))
    doc = _plan(lh.fft.fft2(x))
    assert [n["op"] for n in doc["nodes"]].count("fft") == 2
    assert [c["kind"] for c in _comms(doc)] == ["alltoall (split 0 -> 1)"]


def test_1d_split_is_four_step_without_gather():
    n, p = 1 << 12, 4
    x = lh.zeros(n, dtype="complex128", split=0, comm=lh.FakeComm(p))
    doc = _plan(lh.fft.fft(x))
    kinds = [c["kind"] for c in _comms(doc)]
    assert "allgather" not in kinds and len(kinds) == 3
    # no rank ever receives more than its share of the array
    assert all(c["bytes_per_rank"] <= n * 16 // p for c in _comms(doc))

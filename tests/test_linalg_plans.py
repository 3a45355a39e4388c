"""Plans of the distributed factorizations: TSQR moves only the p small R factors (its
byte count is the TSQR formula for any world size), a column-split matrix costs one
all-to-all more, ``svdvals`` never builds Q, and the randomized SVD never moves the matrix."""

import json

import pytest

import lazyheat as lh


def _doc(*ys, p):
    return json.loads(lh.explain(*ys, world_size=p, format="json"))


def _comms(doc):
    return [n["comm"] for n in doc["nodes"] if n.get("comm")]


@pytest.mark.parametrize("p", (2, 3, 4, 64, 1024))
def test_tsqr_moves_p_minus_one_small_factors(p):
    m, n = 8_000_000, 32
    x = lh.zeros((m, n), dtype="float32", split=0)
    q, r = lh.linalg.qr(x)
    doc = _doc(q, r, p=p)
    comms = _comms(doc)
    assert [c["kind"] for c in comms] == ["allgather"]
    assert doc["totals"]["bytes_moved_per_rank"] == (p - 1) * n * n * 4
    ops = [nd["op"] for nd in doc["nodes"]]
    # one local factorization feeds both factors (shared, not repeated)
    assert ops.count("tsqr_rlocal") == 1 and ops.count("allgather") == 1
    assert ops.count("tsqr_q") == 1 and ops.count("tsqr_merge") == 1


def test_column_split_costs_one_alltoall_first():
    x = lh.zeros((4096, 16), dtype="float64", split=1)
    doc = _doc(*lh.linalg.qr(x), p=4)
    kinds = [c["kind"] for c in _comms(doc)]
    assert kinds == ["alltoall (split 1 -> 0)", "allgather"]


def test_svdvals_builds_no_q_and_one_rank_runs_locally():
    x = lh.zeros((10_000, 8), split=0)
    ops = [nd["op"] for nd in _doc(lh.linalg.svdvals(x), p=4)["nodes"]]
    assert "tsqr_q" not in ops and "tsqr_rlocal" in ops
    ops1 = [nd["op"] for nd in _doc(*lh.linalg.qr(x), p=1)["nodes"]]
    assert "allgather" not in ops1 and ops1.count("tsqr") == 2


def test_wide_svd_factors_the_transpose_without_moving_it():
    x = lh.zeros((8, 10_000), split=1)  # wide, split along its long axis
    doc = _doc(*lh.linalg.svd(x, full_matrices=False), p=4)
    assert [c["kind"] for c in _comms(doc)] == ["allgather"]


def test_rsvd_never_moves_the_matrix():
    m, n, k = 20_000, 20_000, 20
    a = lh.zeros((m, n), dtype="float32", split=0)
    u, s, v = lh.linalg.rsvd(a, k, n_oversamples=10, power_iter=1, seed=0)
    doc = _doc(u, s, v, p=4)
    width = k + 10
    for c in _comms(doc):  # small blocks only: nothing near the matrix's size moves
        # a block of max(m, n) x width, at most: an all-reduce of it receives up to about
        # twice its bytes (Rabenseifner's reduce-scatter and all-gather: 2 (p-1)/p of it)
        assert c["bytes_per_rank"] <= 2 * max(m, n) * width * 4
    assert doc["totals"]["bytes_moved_per_rank"] < m * n * 4 / 100


@pytest.mark.parametrize("p", (2, 4, 256))
def test_hsvd_gathers_one_small_factor_per_rank(p):
    m, n, r, shift = 20_000, 20_000, 20, 5
    a = lh.zeros((m, n), dtype="float32", split=1)
    u, s, v, err = lh.linalg.hsvd_rank(a, r, compute_sv=True, safetyshift=shift)
    doc = _doc(u, s, v, p=p)
    gathers = [c for c in _comms(doc) if c["kind"] == "allgather"]
    assert len(gathers) == 1
    assert gathers[0]["bytes_per_rank"] == (p - 1) * m * (r + shift) * 4
    ops = [nd["op"] for nd in doc["nodes"]]
    assert ops.count("hsvd_local") == 1 and ops.count("hsvd_merge") == 2  # U and S

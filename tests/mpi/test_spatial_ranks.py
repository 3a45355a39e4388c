"""lazyheat.spatial on any number of ranks: cdist, rbf and manhattan against SciPy for every
layout (uneven blocks, more ranks than rows), the result's split, the plan (a row-split X
never moves), column blocks of the difference form, and graph Laplacians against
scipy.sparse.csgraph."""

import json

import numpy as np
import pytest
from _util import SIZE, check, lh, make, raise_if_any, same_everywhere

import lazyheat.spatial as sp
import lazyheat.spatial.distance as spd

distance = pytest.importorskip("scipy.spatial.distance")
csgraph = pytest.importorskip("scipy.sparse.csgraph")

METRICS = ("euclidean", "sqeuclidean", "cityblock", "cosine")
TOL = {"float32": dict(rtol=1e-4, atol=1e-4), "float64": dict(rtol=1e-10, atol=1e-9)}


def _split_ok(d, sx, sy):
    """The rows of the result are split as X's (a column split counts as a row split);
    with X replicated the columns are split as Y's rows. One rank has no layout to keep
    (every split is free there), so only several ranks are checked."""
    return SIZE == 1 or d.split == (0 if sx in (0, 1) else (1 if sy == 0 else None))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("sx,sy", [(0, None), (0, 0), (None, 0), (None, None), (1, 1)])
def test_cdist_matches_scipy_every_layout(metric, sx, sy):
    a, b = make((7, 5), "float64", seed=1), make((6, 5), "float64", seed=2)
    ref = distance.cdist(a, b, metric)
    for qe in (None, False):
        d = sp.cdist(lh.array(a, split=sx), lh.array(b, split=sy), metric=metric,
                     quadratic_expansion=qe)
        assert _split_ok(d, sx, sy)
        check(d, ref, **TOL["float64"])


@pytest.mark.parametrize("shape", [(3, 4), (1, 6)])
@pytest.mark.parametrize("split", [None, 0])
def test_cdist_few_rows_float32_and_self_distances(shape, split):
    """Fewer rows than ranks; Y=None pairs X with itself (the expansion's diagonal is only
    near 0, so it is checked with an absolute tolerance)."""
    a = make(shape, "float32", seed=3)
    x = lh.array(a, split=split)
    for metric in METRICS:
        ref = distance.cdist(a, a, metric).astype(np.float32)
        check(sp.cdist(x, metric=metric, quadratic_expansion=False), ref,
              **TOL["float32"])
    check(sp.cdist(x), distance.cdist(a, a).astype(np.float32), rtol=1e-4, atol=5e-3)
    check(sp.manhattan(x, expand=True), distance.cdist(a, a, "cityblock").astype(np.float32),
          **TOL["float32"])


def test_integers_become_float32_and_types_promote():
    a = make((5, 3), "int64", seed=4)
    b = make((4, 3), "float64", seed=5)
    d = sp.cdist(a, a, metric="manhattan")
    check(d, distance.cdist(a, a, "cityblock").astype(np.float32))
    check(sp.cdist(lh.array(a.astype(np.float32), split=0), lh.array(b)),
          distance.cdist(a.astype(np.float32).astype(np.float64), b), **TOL["float64"])


@pytest.mark.parametrize("split", [None, 0])
def test_rbf_is_the_gaussian_of_the_distances(split):
    a, b = make((7, 3), "float64", seed=6), make((5, 3), "float64", seed=7)
    for sigma in (0.5, 2):
        ref = np.exp(-distance.cdist(a, b, "sqeuclidean") / (2 * sigma**2))
        for qe in (True, False):
            check(sp.rbf(lh.array(a, split=split), b, sigma=sigma, quadratic_expansion=qe),
                  ref, **TOL["float64"])


@pytest.mark.parametrize("sx,sy", [(0, None), (None, 0), (None, None)])
def test_difference_form_in_column_blocks(sx, sy, monkeypatch):
    """A tiny block budget forces several blocks: same values, same split."""
    monkeypatch.setattr(spd, "_BLOCK_ELEMENTS", 8)
    a, b = make((7, 3), "float64", seed=8), make((9, 3), "float64", seed=9)
    x, y = lh.array(a, split=sx), lh.array(b, split=sy)
    for metric in ("cityblock", "euclidean"):
        d = sp.cdist(x, y, metric=metric, quadratic_expansion=False)
        assert _split_ok(d, sx, sy)
        check(d, distance.cdist(a, b, metric), **TOL["float64"])


def _collectives(d):
    doc = json.loads(lh.explain(d, format="json"))
    return [n["comm"] for n in doc["nodes"] if n.get("comm")]


@pytest.mark.parametrize("metric", ["euclidean", "cityblock", "cosine"])
def test_plan_never_moves_a_row_split_x(metric, monkeypatch):
    """Planned for 4 ranks (whatever this run has), the difference form in blocks too."""
    monkeypatch.setattr(spd, "_BLOCK_ELEMENTS", 1 << 22)
    comm = lh.FakeComm(4)
    n, m, d = 100_000, 300, 16
    x = lh.zeros((n, d), split=0, comm=comm)
    # Y split: one all-gather of Y alone (its rows, and nothing of X's size)
    dist = sp.cdist(x, lh.zeros((m, d), split=0, comm=comm), metric=metric)
    comms = _collectives(dist)
    assert dist.split == 0 and [c["kind"] for c in comms] == ["allgather"]
    assert comms[0]["bytes_per_rank"] <= m * d * 4
    # Y replicated, or X replicated and Y split: no communication at all
    dist = sp.cdist(x, lh.zeros((m, d), comm=comm), metric=metric)
    assert dist.split == 0 and _collectives(dist) == []
    dist = sp.cdist(lh.zeros((m, d), comm=comm), x, metric=metric)
    assert dist.split == 1 and _collectives(dist) == []


def _error(fn):
    try:
        fn()
    except (ValueError, TypeError) as e:
        return f"{type(e).__name__}: {e}"
    return None


def test_errors_at_build_time_same_on_every_rank():
    x = lh.array(make((6, 3), "float32"), split=0)
    cases = {
        "X must be 2-D": lambda: sp.cdist(lh.array(np.zeros(4), split=0)),
        "same number of columns": lambda: sp.cdist(x, np.zeros((2, 4))),
        "unknown metric": lambda: sp.cdist(x, metric="hamming"),
        "quadratic_expansion": lambda: sp.cdist(x, quadratic_expansion="yes"),
        "sigma": lambda: sp.rbf(x, sigma=0),
    }
    for needle, fn in cases.items():
        msg = _error(fn)
        who = "rbf" if needle == "sigma" else "cdist"
        err = None if msg and needle in msg and who in msg else f"{needle}: got {msg!r}"
        raise_if_any(err)
        assert same_everywhere(msg)


def _laplacian_refs(a, threshold):
    S = np.exp(-distance.cdist(a, a, "sqeuclidean") / 2)
    np.fill_diagonal(S, 0)
    D = distance.cdist(a, a)
    near = (D < threshold) & ~np.eye(len(a), dtype=bool)
    return S, np.where(near, D, 0), near.astype(float)


@pytest.mark.parametrize("split", [None, 0])
@pytest.mark.parametrize("definition,normed", [("simple", False), ("norm_sym", True)])
def test_laplacian_matches_scipy(split, definition, normed):
    a = make((9, 3), "float64", seed=10)
    S, A, A1 = _laplacian_refs(a, 1.5)
    x = lh.array(a, split=split)
    cases = [
        (sp.Laplacian("rbf", definition=definition), S),
        (sp.Laplacian(lambda X: sp.rbf(X, sigma=1.0), definition=definition), S),
        (sp.Laplacian("euclidean", definition=definition, mode="eNeighbour",
                      threshold_key="upper", threshold_value=1.5), A),
        (sp.Laplacian("euclidean", weighted=False, definition=definition,
                      mode="eNeighbour", threshold_value=1.5), A1),  # a node without edges
        (sp.Laplacian("rbf", weighted=False, definition=definition, mode="eNeighbour",
                      threshold_key="lower", threshold_value=0.3), (S > 0.3).astype(float)),
    ]
    for lap, adjacency in cases:
        L = lap.construct(x)
        assert L.split == split
        check(L, csgraph.laplacian(adjacency, normed=normed), rtol=1e-9, atol=1e-9)


def test_laplacian_errors_and_params():
    x = lh.array(make((4, 2), "float32"), split=0)
    for bad, needle in (({"definition": "random_walk"}, "definition"),
                        ({"mode": "knn"}, "mode"),
                        ({"similarity": "hamming"}, "similarity"),
                        ({"mode": "eNeighbour", "threshold_key": "mid"}, "threshold_key")):
        msg = _error(lambda bad=bad: sp.Laplacian(**bad).construct(x))
        raise_if_any(None if msg and "Laplacian" in msg and needle in msg else repr(msg))
    with pytest.raises(NotImplementedError, match="kNN"):
        sp.Laplacian(mode="kNN").construct(x)
    lap = sp.Laplacian(definition="simple")
    assert lap.get_params()["definition"] == "simple"
    assert lap.set_params(mode="eNeighbour").mode == "eNeighbour"
    assert SIZE >= 1


def test_laplacian_plan_moves_x_and_the_degrees_only():
    """The similarity gathers X once (Y of cdist); norm_sym adds one gather of the n scale
    factors; the n x n matrix never moves."""
    n, d = 20_000, 8
    x = lh.zeros((n, d), split=0, comm=lh.FakeComm(4))
    L = sp.Laplacian("rbf", definition="norm_sym").construct(x)
    comms = _collectives(L)
    assert L.split == 0 and [c["kind"] for c in comms] == ["allgather", "allgather"]
    assert sum(c["bytes_per_rank"] for c in comms) <= n * d * 4 + n * 4

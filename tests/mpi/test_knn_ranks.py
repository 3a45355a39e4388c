"""KNeighborsClassifier on any number of ranks against scikit-learn's brute force: the same
predictions, probabilities and neighbours for training and query sets split along rows or
replicated (uneven blocks, more ranks than training rows), exact distance ties broken by
training index, vote ties by the smallest label, string labels, and the same errors on every
rank."""

import json

import numpy as np
import pytest
import torch
from _util import check, lh, raise_if_any, rng, same_everywhere

import lazyheat.classification.kneighbors as knn
from lazyheat.base import NotFittedError
from lazyheat.classification import KNeighborsClassifier

neighbors = pytest.importorskip("sklearn.neighbors")
sk_base = pytest.importorskip("sklearn.base")


def _data(n, q, d=4, classes=3, seed=0):
    """float64 Gaussian data (no distance ties) with labels; the same on every rank."""
    g = rng(seed)
    return (g.standard_normal((n, d)), g.integers(0, classes, n),
            g.standard_normal((q, d)))


def _sklearn(X, y, **kw):
    return neighbors.KNeighborsClassifier(algorithm="brute", **kw).fit(X, y)


@pytest.mark.parametrize("sx,sq,weights,metric", [
    (0, 0, "uniform", "euclidean"),
    (None, 0, "distance", "manhattan"),
    (0, None, "distance", "euclidean"),
    (1, 0, "uniform", "cosine"),
])
def test_matches_sklearn_brute(sx, sq, weights, metric):
    X, y, Q = _data(23, 11)
    ref = _sklearn(X, y, n_neighbors=4, weights=weights, metric=metric)
    clf = KNeighborsClassifier(4, weights=weights, metric=metric)
    clf.fit(lh.array(X, split=sx), y)
    q = lh.array(Q, split=sq)
    pred = clf.predict(q)
    assert pred.split == sq
    check(pred, ref.predict(Q))
    check(clf.predict_proba(q), ref.predict_proba(Q), rtol=1e-12, atol=1e-12)
    dist, ind = clf.kneighbors(q)
    rd, ri = ref.kneighbors(Q)
    check(ind, ri)
    check(dist, rd, rtol=1e-9, atol=1e-9)


def test_queries_in_chunks_and_two_level_selection(monkeypatch):
    """Tiny budgets: the queries are paired with the training rows a few at a time, and the
    local selection goes through block minima (blocks of 2 columns)."""
    monkeypatch.setattr(knn, "_CHUNK_ELEMENTS", 64)
    monkeypatch.setattr(knn, "_BLOCK", 2)
    X, y, Q = _data(150, 9, seed=5)
    for weights, metric in (("distance", "euclidean"), ("uniform", "cosine")):
        ref = _sklearn(X, y, n_neighbors=3, weights=weights, metric=metric)
        clf = KNeighborsClassifier(3, weights=weights, metric=metric)
        clf.fit(lh.array(X, split=0), y)
        check(clf.predict(lh.array(Q, split=0)), ref.predict(Q))
        check(clf.kneighbors(Q, return_distance=False), ref.kneighbors(Q)[1])


def test_local_selection_orders_ties_by_index(monkeypatch):
    """The per-rank selection (torch, no communication) against a lexsort, on small
    integers (many ties), whole rows and block minima alike."""
    g = rng(6)
    for block in (64, 2):
        monkeypatch.setattr(knn, "_BLOCK", block)
        for _ in range(40):
            q, n = int(g.integers(1, 5)), int(g.integers(1, 80))
            D = torch.tensor(g.integers(0, 5, (q, n)).astype(np.float64))
            k = int(g.integers(1, n + 1))
            vals, idx = knn._smallest(D, k)
            ref = np.array([np.lexsort((np.arange(n), row))[:k] for row in D.numpy()])
            assert np.array_equal(idx.numpy(), ref), (q, n, k, block)
            assert np.array_equal(vals.numpy(), np.take_along_axis(D.numpy(), ref, axis=1))


def test_fewer_training_rows_than_ranks_and_k_equal_n():
    """3 training rows: on 4 ranks one holds none; k = n uses every row."""
    X, y, Q = _data(3, 5, d=2, classes=2, seed=1)
    for kk in (1, 3):
        ref = _sklearn(X, y, n_neighbors=kk)
        clf = KNeighborsClassifier(n_neighbors=kk).fit(X, y)
        check(clf.predict(Q), ref.predict(Q))
        check(clf.kneighbors(Q, return_distance=False), ref.kneighbors(Q)[1])


def test_vote_ties_go_to_the_smallest_label_and_float32():
    """k = 2 over two classes ties often: sklearn's answer is the smaller label."""
    X, y, Q = _data(30, 40, d=3, classes=2, seed=2)
    y = y * 3 + 5  # labels 5 and 8
    X32, Q32 = X.astype(np.float32), Q.astype(np.float32)
    ref = _sklearn(X, y, n_neighbors=2)
    clf = KNeighborsClassifier(n_neighbors=2).fit(lh.array(X32, split=0), y)
    check(clf.predict(lh.array(Q32, split=0)), ref.predict(Q))
    assert list(clf.classes_) == [5, 8]
    assert clf.score(Q32, ref.predict(Q)) == 1.0


def test_exact_distance_ties_go_to_the_lower_training_index():
    """Integer points with duplicates: equal distances are exact in float64, and the
    neighbours come in (distance, index) order, across ranks too."""
    g = rng(3)
    X = g.integers(0, 3, (37, 2)).astype(np.float64)
    Q = g.integers(0, 3, (6, 2)).astype(np.float64)
    y = g.integers(0, 2, 37)
    clf = KNeighborsClassifier(n_neighbors=5).fit(lh.array(X, split=0), y)
    dist, ind = clf.kneighbors(lh.array(Q, split=0))
    D = np.sqrt(((Q[:, None, :] - X[None, :, :]) ** 2).sum(-1))
    order = np.array([np.lexsort((np.arange(37), row))[:5] for row in D])
    check(ind, order)
    check(dist, np.take_along_axis(D, order, axis=1), rtol=1e-12, atol=1e-12)


def test_string_labels_lazy_labels_clone_and_attributes():
    X, y, Q = _data(12, 7, seed=4)
    names = np.array(["cat", "dog", "emu"])[y]
    ref = _sklearn(X, names, n_neighbors=3)
    clf = KNeighborsClassifier(n_neighbors=3).fit(X, names)
    got = clf.predict(Q)
    raise_if_any(None if np.array_equal(got, ref.predict(Q)) else f"{got}")
    assert clf.score(Q, ref.predict(Q)) == 1.0
    lazy_y = KNeighborsClassifier(n_neighbors=3).fit(X, lh.array(y, split=0))
    check(lazy_y.predict(Q), _sklearn(X, y, n_neighbors=3).predict(Q))
    soft = KNeighborsClassifier(n_neighbors=3, weights=lambda d: 1 / (1 + d)).fit(X, y)
    ref = _sklearn(X, y, n_neighbors=3, weights=lambda d: 1 / (1 + d))
    check(soft.predict_proba(Q), ref.predict_proba(Q), rtol=1e-12, atol=1e-12)
    twin = sk_base.clone(KNeighborsClassifier(n_neighbors=2, weights="distance"))
    assert twin.get_params() == {"n_neighbors": 2, "weights": "distance",
                                 "metric": "euclidean", "p": 2}
    assert (clf.n_features_in_, clf.n_samples_fit_) == (4, 12)
    assert list(clf.classes_) == ["cat", "dog", "emu"]


def _error(fn):
    try:
        fn()
    except (ValueError, TypeError, AttributeError, NotImplementedError) as e:
        return type(e), str(e)
    return None, ""


def test_errors_same_on_every_rank():
    X, y, Q = _data(6, 2)
    fitted = KNeighborsClassifier(n_neighbors=2).fit(X, y)
    cases = [
        ("not fitted", lambda: KNeighborsClassifier().predict(Q)),
        ("n_neighbors=7", lambda: KNeighborsClassifier(n_neighbors=7).fit(X, y)),
        ("positive int", lambda: KNeighborsClassifier(n_neighbors=0).fit(X, y)),
        ("unknown metric", lambda: KNeighborsClassifier(metric="hamming").fit(X, y)),
        ("weights", lambda: KNeighborsClassifier(weights="gauss").fit(X, y)),
        ("2-D", lambda: KNeighborsClassifier().fit(X[:, 0], y)),
        ("y has 5", lambda: KNeighborsClassifier(n_neighbors=2).fit(X, y[:5])),
        ("expecting 4 features", lambda: fitted.predict(Q[:, :3])),
        ("n_neighbors=9", lambda: fitted.kneighbors(Q, n_neighbors=9)),
    ]
    for needle, fn in cases:
        cls, msg = _error(fn)
        ok = cls is not None and needle in msg and "KNeighborsClassifier" in msg
        raise_if_any(None if ok else f"{needle}: got {cls} {msg!r}")
        assert same_everywhere(msg)
    with pytest.raises(NotFittedError):
        KNeighborsClassifier().predict_proba(Q)


@pytest.mark.parametrize("metric", ["euclidean", "cosine", "manhattan"])
def test_plan_of_the_local_step_moves_nothing(metric):
    """The matrix each rank selects from pairs replicated queries with its own training
    rows: split along the training rows, no collective, on any number of ranks."""
    comm = lh.FakeComm(4)
    train = lh.zeros((100_000, 16), split=0, comm=comm)
    queries = lh.zeros((500, 16), comm=comm)
    clf = KNeighborsClassifier(metric=metric)
    clf.effective_metric_ = clf._effective_metric()
    side, keys, _ = clf._ranking(train)
    block = keys(queries, side)
    assert block.shape == (500, 100_000) and block.split == 1
    doc = json.loads(lh.explain(block, format="json"))
    assert [n["comm"] for n in doc["nodes"] if n.get("comm")] == []

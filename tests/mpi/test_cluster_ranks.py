"""Nearest centers and the k-cluster estimators on 1-4 ranks, against NumPy and
scikit-learn: every split, uneven splits, fewer rows than ranks."""

from __future__ import annotations

import numpy as np
import pytest
from _util import RANK, SIZE, check, raise_if_any

import lazyheat as lh
from lazyheat.base import NotFittedError
from lazyheat.cluster import KMeans


def _blobs(n_per=40, k=4, d=3, seed=0, dtype=np.float64):
    g = np.random.default_rng(seed)
    centers = g.standard_normal((k, d)) * 6
    X = np.concatenate([c + g.standard_normal((n_per, d)) for c in centers])
    return X[g.permutation(len(X))].astype(dtype)


@pytest.mark.parametrize("split", [None, 0, 1])
@pytest.mark.parametrize("n", [0, 1, 7, 50])
def test_nearest_centers_and_stats(split, n):
    g = np.random.default_rng(n)
    Xn = g.standard_normal((n, 3))
    Cn = g.standard_normal((4, 3))
    X, C = lh.array(Xn, split=split), lh.array(Cn)
    D = ((Xn[:, None] - Cn[None]) ** 2).sum(-1)
    L = D.argmin(1) if n else np.zeros(0, np.int64)
    labels, dist = lh.nearest_centers(X, C, return_distance=True)
    sums, counts, dsum = lh.center_stats(X, C)
    check(labels, L)
    check(dist, D.min(1) if n else np.zeros(0))
    S = np.zeros((4, 3))
    np.add.at(S, L, Xn)
    check(sums, S, rtol=1e-12, atol=1e-12)
    check(counts, np.bincount(L, minlength=4).astype(np.float64))
    W = np.zeros(4)
    np.add.at(W, L, D.min(1) if n else np.zeros(0))
    check(dsum, W, rtol=1e-12, atol=1e-12)


def test_cityblock_and_euclidean_distances():
    g = np.random.default_rng(3)
    Xn, Cn = g.standard_normal((11, 4)).astype(np.float32), g.standard_normal((3, 4))
    Cn = Cn.astype(np.float32)
    X, C = lh.array(Xn, split=0), lh.array(Cn)
    L1 = np.abs(Xn[:, None] - Cn[None]).sum(-1)
    lab, dist = lh.nearest_centers(X, C, metric="manhattan", return_distance=True)
    check(lab, L1.argmin(1))
    check(dist, L1.min(1), rtol=1e-5, atol=1e-6)
    E = np.sqrt(((Xn[:, None] - Cn[None]) ** 2).sum(-1))
    check(lh.nearest_centers(X, C, metric="euclidean", return_distance=True)[1], E.min(1),
          rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("split", [None, 0])
def test_kmeans_matches_sklearn_from_the_same_centers(split):
    sk = pytest.importorskip("sklearn.cluster")
    X = _blobs()
    init = X[:4].copy()
    ours = KMeans(4, init=init, max_iter=50, tol=1e-6).fit(lh.array(X, split=split))
    ref = sk.KMeans(4, init=init, n_init=1, max_iter=50, tol=1e-6).fit(X)
    err = None
    try:
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
        assert abs(ours.inertia_ - ref.inertia_) <= 1e-10 * ref.inertia_
        assert ours.n_iter_ == ref.n_iter_
    except AssertionError as e:
        err = str(e)
    raise_if_any(err)
    check(ours.labels_, ref.labels_.astype(np.int64))  # int64 as NumPy's argmin
    check(ours.predict(X[:9]), ref.predict(X[:9]).astype(np.int64))
    check(ours.transform(X[:5]), ref.transform(X[:5]), rtol=1e-10, atol=1e-10)
    assert abs(ours.score(X) - ref.score(X)) <= 1e-9 * abs(ref.score(X))


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_kmeans_seeding_is_the_same_on_any_number_of_ranks(init):
    """A seed picks the same rows whether the data is split over the ranks or replicated
    (which every rank then processes alone)."""
    X = _blobs(n_per=25, seed=4)
    split = KMeans(4, init=init, n_init=2, random_state=7).fit(lh.array(X, split=0))
    whole = KMeans(4, init=init, n_init=2, random_state=7).fit(lh.array(X))
    err = None
    try:
        np.testing.assert_allclose(split.cluster_centers_, whole.cluster_centers_, rtol=1e-10)
    except AssertionError as e:
        err = str(e)
    raise_if_any(err)


def test_kmeans_float32_and_fewer_rows_than_ranks():
    X = np.array([[0.0, 0.0], [0.0, 1.0], [9.0, 9.0]], dtype=np.float32)
    km = KMeans(2, init=X[[0, 2]], max_iter=10).fit(X)
    assert km.cluster_centers_.dtype == np.float32
    np.testing.assert_allclose(km.cluster_centers_, [[0.0, 0.5], [9.0, 9.0]])
    check(km.labels_, np.array([0, 0, 1]))


def test_kmeans_refills_an_empty_cluster_as_sklearn():
    sk = pytest.importorskip("sklearn.cluster")
    X = np.array([[0.0], [0.1], [0.2], [10.0], [10.5], [30.0]])
    init = np.array([[0.0], [100.0], [10.0]])  # center 1 starts with no samples
    ours = KMeans(3, init=init, max_iter=20).fit(lh.array(X, split=0))
    ref = sk.KMeans(3, init=init, n_init=1, max_iter=20).fit(X)
    np.testing.assert_allclose(np.sort(ours.cluster_centers_, 0),
                               np.sort(ref.cluster_centers_, 0))
    assert abs(ours.inertia_ - ref.inertia_) < 1e-9


def test_kmeans_errors_are_raised_on_every_rank():
    X = _blobs(n_per=2)
    with pytest.raises(ValueError, match="n_samples=8 should be >= n_clusters=9"):
        KMeans(9).fit(X)
    bad = X.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="KMeans: X contains NaN"):
        KMeans(2).fit(bad)
    with pytest.raises(NotFittedError):
        KMeans(2).predict(X)
    km = KMeans(2, random_state=0).fit(X)
    with pytest.raises(ValueError, match="2 features, but it was fitted with 3"):
        km.predict(X[:, :2])
    with pytest.raises(ValueError, match="init has shape"):
        KMeans(2, init=np.zeros((3, 3))).fit(X)


def test_kmeans_clone_params_and_verbose(capsys):
    base = pytest.importorskip("sklearn.base")
    km = KMeans(3, max_iter=5, random_state=1, verbose=True)
    twin = base.clone(km)
    assert twin.get_params() == km.get_params() and twin is not km
    twin.set_params(n_clusters=2)
    assert twin.n_clusters == 2
    km.fit(_blobs(n_per=10))
    err = capsys.readouterr().err
    assert ("KMeans" in err) == (RANK == 0), (RANK, SIZE, err)


@pytest.mark.parametrize("split", [None, 0])
def test_silhouette_matches_sklearn(split):
    metrics = pytest.importorskip("sklearn.metrics")
    from lazyheat.cluster import silhouette_samples, silhouette_score

    X = _blobs(n_per=9, k=3)
    labels = KMeans(3, random_state=0).fit(X).labels_.numpy()
    labels[0] = 7  # labels need not be 0..k-1
    for metric in ("euclidean", "cityblock"):
        got = silhouette_samples(lh.array(X, split=split), lh.array(labels, split=split),
                                 metric=metric)
        # both take euclidean distances through the quadratic expansion: rounding differs
        check(got, metrics.silhouette_samples(X, labels, metric=metric), rtol=1e-6,
              atol=1e-7)
    assert abs(silhouette_score(X, labels) - metrics.silhouette_score(X, labels)) < 1e-7
    with pytest.raises(ValueError, match="number of labels is 1"):
        silhouette_samples(X, np.zeros(len(X), np.int64))


def test_kmedians_and_kmedoids():
    from lazyheat.cluster import KMedians, KMedoids

    X = np.array([[0.0, 0.0], [0.0, 1.0], [0.0, 5.0], [9.0, 9.0], [9.0, 8.0], [8.0, 9.0]])
    init = np.array([[0.0, 0.0], [9.0, 9.0]])
    med = KMedians(2, init=init).fit(lh.array(X, split=0))
    np.testing.assert_allclose(med.cluster_centers_, [[0.0, 1.0], [9.0, 9.0]])
    check(med.labels_, np.array([0, 0, 0, 1, 1, 1]))
    assert med.inertia_ == pytest.approx(1 + 4 + 1 + 1)
    doid = KMedoids(2, init=init).fit(lh.array(X, split=0))
    # every center is a sample
    assert all((X == c).all(axis=1).any() for c in doid.cluster_centers_)
    np.testing.assert_allclose(doid.cluster_centers_, [[0.0, 1.0], [9.0, 9.0]])


def test_batch_parallel_kmeans_finds_separated_clusters():
    from lazyheat.cluster import BatchParallelKMeans

    X = _blobs(n_per=30, k=3, seed=2)
    bp = BatchParallelKMeans(3, random_state=1).fit(lh.array(X, split=0))
    km = KMeans(3, random_state=1).fit(X)
    order = lambda C: C[np.lexsort(C.T)]  # noqa: E731
    # approximate on several ranks (the mean of the ranks' centers), exact on one
    tol = 1e-8 if SIZE == 1 else 0.5
    np.testing.assert_allclose(order(bp.cluster_centers_), order(km.cluster_centers_),
                               rtol=tol, atol=tol)
    assert bp.inertia_ == pytest.approx(km.inertia_, rel=1e-8 if SIZE == 1 else 0.05)


def test_spectral_separates_blobs_and_finds_their_number():
    from lazyheat.cluster import Spectral

    g = np.random.default_rng(0)
    means = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    truth = np.repeat(np.arange(3), 15)
    X = means[truth] + 0.3 * g.standard_normal((45, 2))
    sp = Spectral(gamma=0.5, random_state=0, n_lanczos=30).fit(lh.array(X, split=0))
    assert sp.n_clusters_ == 3
    labels = sp.labels_.numpy()
    # the same partition as the truth, whatever the cluster numbering
    pairs = {(int(t), int(lab)) for t, lab in zip(truth, labels)}
    assert len(pairs) == 3 and len({t for t, _ in pairs}) == 3


def test_weighted_kmeans_matches_sklearn_and_stats_weigh_rows():
    sk = pytest.importorskip("sklearn.cluster")
    X = _blobs(n_per=20, seed=6)
    w = np.random.default_rng(6).random(len(X)) * 3
    init = X[:4].copy()
    ours = KMeans(4, init=init, tol=1e-8).fit(lh.array(X, split=0), sample_weight=w)
    ref = sk.KMeans(4, init=init, n_init=1, tol=1e-8).fit(X, sample_weight=w)
    err = None
    try:
        np.testing.assert_allclose(ours.cluster_centers_, ref.cluster_centers_, rtol=1e-10)
        assert abs(ours.inertia_ - ref.inertia_) <= 1e-10 * ref.inertia_
        assert abs(ours.score(X, sample_weight=w) - ref.score(X, sample_weight=w)) < 1e-8
    except AssertionError as e:
        err = str(e)
    raise_if_any(err)
    C = lh.array(init)
    sums, counts, _ = lh.center_stats(lh.array(X, split=0), C, sample_weight=w)
    L = ((X[:, None] - init[None]) ** 2).sum(-1).argmin(1)
    check(counts, np.bincount(L, weights=w, minlength=4), rtol=1e-12, atol=1e-12)
    S = np.zeros((4, 3))
    np.add.at(S, L, X * w[:, None])
    check(sums, S, rtol=1e-12, atol=1e-12)
    from lazyheat.cluster import KMedians
    with pytest.raises(ValueError, match="sample_weight is not supported"):
        KMedians(2).fit(X, sample_weight=w)


def test_pipeline_of_scaler_pca_and_kmeans_on_lazy_arrays():
    pipeline = pytest.importorskip("sklearn.pipeline")
    from lazyheat.decomposition import PCA
    from lazyheat.preprocessing import StandardScaler

    X = _blobs(n_per=15, k=3, d=4, seed=9)
    pipe = pipeline.Pipeline([("scale", StandardScaler()), ("pca", PCA(2)),
                              ("km", KMeans(3, random_state=0))])
    labels = pipe.fit_predict(lh.array(X, split=0))
    check(pipe.predict(lh.array(X, split=0)), labels.numpy())
    assert pipe.named_steps["km"].cluster_centers_.shape == (3, 2)

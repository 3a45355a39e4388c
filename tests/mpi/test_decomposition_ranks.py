"""lazyheat.decomposition against scikit-learn on any number of ranks: PCA with every solver
(components with scikit-learn's signs, variances, ratios, noise variance), transform and its
inverse, whitening, uneven and empty blocks, float32, IncrementalPCA batch by batch, the
estimator contract (clone, Pipeline, errors raised alike on every rank)."""

import numpy as np
import pytest
from _util import raise_if_any, same_everywhere

import lazyheat as lh
from lazyheat.base import NotFittedError
from lazyheat.decomposition import PCA, IncrementalPCA

sk_dec = pytest.importorskip("sklearn.decomposition")

ATTRS = ("components_", "explained_variance_", "explained_variance_ratio_",
         "singular_values_", "mean_", "noise_variance_")


def _data(n=300, d=8, seed=0, dtype=np.float64):
    """Rows of a d-dimensional Gaussian with well separated variances, off-centre."""
    g = np.random.default_rng(seed)
    q, _ = np.linalg.qr(g.standard_normal((d, d)))
    scales = 2.0 ** -np.arange(d) * 10
    return (g.standard_normal((n, d)) * scales @ q.T + g.uniform(-5, 5, d)).astype(dtype)


def _compare(ours, ref, tag, rtol=1e-5, attrs=ATTRS):
    """Mismatches between the fitted attributes (relative to each attribute's scale)."""
    bad = []
    if ours.n_components_ != ref.n_components_:
        return [f"{tag}: n_components_ {ours.n_components_} vs {ref.n_components_}"]
    for a in attrs:
        got, want = np.asarray(getattr(ours, a), np.float64), np.asarray(getattr(ref, a),
                                                                        np.float64)
        scale = max(np.abs(want).max(initial=0.0), 1e-12)
        if got.shape != want.shape or not np.allclose(got, want, rtol=0, atol=rtol * scale):
            diff = np.abs(got - want).max() if got.shape == want.shape else "shape"
            bad.append(f"{tag}: {a} differs by {diff}")
    return bad


@pytest.mark.parametrize("solver", ("covariance_eigh", "full", "tsqr", "hierarchical", "auto"))
@pytest.mark.parametrize("split", (0, None))
def test_pca_matches_sklearn(solver, split):
    X = _data()
    x = lh.array(X, split=split)
    bad = []
    for k in (None, 3, 0.9):
        ours = PCA(k, svd_solver=solver).fit(x)
        ref = sk_dec.PCA(k, svd_solver="full").fit(X)
        bad += _compare(ours, ref, f"{solver} k={k}")
        if not same_everywhere(ours.components_.tobytes()):
            bad.append(f"{solver} k={k}: components differ between ranks")
    raise_if_any("; ".join(bad) or None)


@pytest.mark.parametrize("split", (0, None))
def test_randomized_pca_and_random_state(split):
    X = _data(seed=1)
    bad = []
    ours = PCA(3, svd_solver="randomized", random_state=7).fit(lh.array(X, split=split))
    ref = sk_dec.PCA(3, svd_solver="full").fit(X)
    bad += _compare(ours, ref, "randomized")
    again = PCA(3, svd_solver="randomized", random_state=7).fit(lh.array(X, split=0))
    if not np.array_equal(ours.singular_values_, again.singular_values_) and split == 0:
        bad.append("random_state does not repeat the fit")
    if not np.allclose(ours.components_, again.components_, atol=1e-12):
        bad.append("split None and split 0 disagree")
    rs = PCA(2, svd_solver="randomized", random_state=np.random.RandomState(3),
             iterated_power=2, n_oversamples=4).fit(X)
    bad += _compare(rs, sk_dec.PCA(2).fit(X), "RandomState seed", rtol=1e-4)
    raise_if_any("; ".join(bad) or None)


def test_transform_inverse_whiten():
    X = _data(seed=2)
    x = lh.array(X, split=0)
    bad = []
    for whiten in (False, True):
        for solver in ("covariance_eigh", "full"):
            ours = PCA(4, whiten=whiten, svd_solver=solver)
            z = ours.fit_transform(x)
            ref = sk_dec.PCA(4, whiten=whiten, svd_solver="full")
            zr = ref.fit_transform(X)
            if not (isinstance(z, lh.LazyArray) and z.split == 0 and z.shape == (300, 4)):
                bad.append(f"transform layout {type(z)} {z.shape}")
            if not np.allclose(z.numpy(), zr, atol=1e-6):
                bad.append(f"transform whiten={whiten} {solver}")
            back = ours.inverse_transform(z).numpy()
            if not np.allclose(back, ref.inverse_transform(zr), atol=1e-6):
                bad.append(f"inverse_transform whiten={whiten} {solver}")
    raise_if_any("; ".join(bad) or None)


@pytest.mark.parametrize("shape", ((7, 5), (5, 3), (3, 4), (2, 6)))
@pytest.mark.parametrize("solver", ("full", "covariance_eigh", "hierarchical"))
def test_pca_small_uneven_and_wide(shape, solver):
    # more ranks than rows on 4 ranks; with n <= d the last direction has zero variance and
    # is arbitrary, so components are compared where their variance is not negligible
    X = _data(n=shape[0], d=shape[1], seed=3)
    ours = PCA(svd_solver=solver).fit(lh.array(X, split=0))
    ref = sk_dec.PCA(svd_solver="full").fit(X)
    bad = _compare(ours, ref, f"{shape}", rtol=1e-6, attrs=ATTRS[1:])
    keep = ref.explained_variance_ > 1e-10 * ref.explained_variance_[0]
    if not np.allclose(ours.components_[keep], ref.components_[keep], atol=1e-6):
        bad.append(f"{shape}: components differ")
    raise_if_any("; ".join(bad) or None)


def test_pca_float32():
    X = _data(n=400, seed=4, dtype=np.float32)
    ours = PCA(3).fit(X)
    ref = sk_dec.PCA(3, svd_solver="full").fit(X.astype(np.float64))
    bad = _compare(ours, ref, "float32", rtol=2e-4)
    ours_full = PCA(3, svd_solver="full").fit(X)
    bad += _compare(ours_full, ref, "float32 full", rtol=2e-4)
    if ours.components_.dtype != np.float32 or ours.transform(X).dtype != lh.float32:
        bad.append("float32 attributes or transform changed type")
    raise_if_any("; ".join(bad) or None)


@pytest.mark.parametrize("k", (None, 3))
def test_incremental_pca_matches_sklearn(k):
    X = _data(n=230, seed=5)
    ours = IncrementalPCA(k, batch_size=60).fit(lh.array(X, split=0))
    ref = sk_dec.IncrementalPCA(k, batch_size=60).fit(X)
    bad = _compare(ours, ref, f"ipca k={k}", attrs=ATTRS + ("var_",))
    if ours.n_samples_seen_ != 230:
        bad.append(f"n_samples_seen_ {ours.n_samples_seen_}")
    # partial_fit on batches of different sizes, one of them wide (fewer rows than features)
    inc, sk_inc = IncrementalPCA(3), sk_dec.IncrementalPCA(3)
    for a, b in ((0, 100), (100, 105), (105, 230)):
        inc.partial_fit(lh.array(X[a:b], split=0))
        sk_inc.partial_fit(X[a:b])
    bad += _compare(inc, sk_inc, "partial_fit", attrs=ATTRS + ("var_",))
    z = inc.transform(X)
    if not np.allclose(z.numpy(), sk_inc.transform(X), atol=1e-6):
        bad.append("ipca transform")
    raise_if_any("; ".join(bad) or None)


def test_errors_are_raised_alike_and_name_the_estimator():
    X = _data(n=20, d=4)
    with pytest.raises(ValueError, match=r"PCA: n_components=5 must be between 1 and "
                                         r"min\(n_samples, n_features\)=4"):
        PCA(5).fit(X)
    bad = X.copy()
    bad[13, 2] = np.nan
    for solver in ("covariance_eigh", "full"):
        with pytest.raises(ValueError, match="PCA: X contains NaN or infinity"):
            PCA(2, svd_solver=solver).fit(bad)
    with pytest.raises(ValueError, match="IncrementalPCA: X contains NaN"):
        IncrementalPCA(2).fit(bad)
    with pytest.raises(NotFittedError, match="PCA"):
        PCA(2).transform(X)
    with pytest.raises(ValueError, match="PCA: svd_solver must be one of"):
        PCA(2, svd_solver="arpack").fit(X)
    with pytest.raises(ValueError, match="randomized"):
        PCA(0.5, svd_solver="randomized").fit(X)
    with pytest.raises(ValueError, match="PCA: X has 3 columns"):
        PCA(2).fit(X).transform(X[:, :3])
    with pytest.raises(ValueError, match="IncrementalPCA: n_components=5 must be at most"):
        IncrementalPCA(5).fit(X)
    with pytest.raises(ValueError, match="PCA: X must be 2-D"):
        PCA().fit(X[:, 0])


def test_clone_and_pipeline():
    from sklearn.base import clone
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import make_pipeline

    import lazyheat.regression as reg

    X = _data(seed=6)
    y = X @ np.arange(8.0)
    model = PCA(3, svd_solver="randomized", random_state=0, whiten=True)
    assert clone(model).get_params() == model.get_params()
    assert clone(IncrementalPCA(2, batch_size=10)).get_params()["batch_size"] == 10
    ours = make_pipeline(PCA(4), reg.LinearRegression()).fit(X, y)
    ref = make_pipeline(sk_dec.PCA(4), LinearRegression()).fit(X, y)
    ok = np.isclose(ours.score(X, y), ref.score(X, y), atol=1e-8) and np.allclose(
        ours.predict(X).numpy(), ref.predict(X), atol=1e-6)
    raise_if_any(None if ok else "pipeline PCA -> LinearRegression differs")

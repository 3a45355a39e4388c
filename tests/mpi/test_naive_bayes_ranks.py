"""lazyheat.naive_bayes.GaussianNB on any number of ranks, against scikit-learn: fitted
attributes, identical predictions and matching probabilities for rows split unevenly,
columns split and replicated data, float32 and float64, lazy and NumPy labels; partial_fit,
priors, sample weights, many classes (the bincount path), string labels; errors on every
rank; clone and a Pipeline with a lazyheat scaler."""

import numpy as np
import pytest
from _util import lh, make, raise_if_any

import lazyheat.naive_bayes as nbm
import lazyheat.preprocessing as pre
from lazyheat.base import NotFittedError

sk_nb = pytest.importorskip("sklearn.naive_bayes")
sk_base = pytest.importorskip("sklearn.base")
sk_pipeline = pytest.importorskip("sklearn.pipeline")
sk_pre = pytest.importorskip("sklearn.preprocessing")

TOL = {"float32": (2e-5, 2e-5), "float64": (1e-9, 1e-10)}
ATTRS = ("classes_", "class_count_", "class_prior_", "theta_", "var_", "epsilon_")


def data(n, d, k, dtype, seed=0, labels=(3, 7, 11, 20)):
    """n samples of k classes (labels not 0..k-1) whose means differ a little, so that
    classes overlap and predictions are not trivial."""
    g = np.random.default_rng(seed)
    y = np.asarray(labels)[g.integers(0, k, n)]
    X = make((n, d), "float64", seed=seed + 1) * np.linspace(0.5, 3.0, d) + \
        (y[:, None] % 5) * 0.7 + 10.0
    return X.astype(dtype), y


def agree(got, expected, dtype, what):
    rtol, atol = TOL[np.dtype(dtype).name]
    err = None
    try:
        got, expected = np.asarray(got), np.asarray(expected)
        if expected.dtype.kind in "iuUSb":
            np.testing.assert_array_equal(got, expected, err_msg=what)
        else:
            np.testing.assert_allclose(got.astype(np.float64), expected.astype(np.float64),
                                       rtol=rtol, atol=atol, err_msg=what)
    except AssertionError as e:
        err = str(e)
    raise_if_any(err)


def compare(ours, theirs, X, x, dtype, what):
    """Fitted attributes (and their dtypes), predictions and probabilities."""
    for name in ATTRS:
        got, exp = getattr(ours, name), getattr(theirs, name)
        assert np.asarray(got).dtype == np.asarray(exp).dtype, f"{what}: {name} dtype"
        agree(got, exp, dtype, f"{what}: {name}")
    pred, proba, logp = ours.predict(x), ours.predict_proba(x), ours.predict_log_proba(x)
    assert isinstance(pred, lh.LazyArray) and pred.split == (0 if x.split == 0 else pred.split)
    lh.compute(pred, proba, logp)
    agree(pred.numpy(), theirs.predict(X), dtype, f"{what}: predict")
    agree(proba.numpy(), theirs.predict_proba(X), dtype, f"{what}: predict_proba")
    agree(logp.numpy(), theirs.predict_log_proba(X), dtype, f"{what}: predict_log_proba")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("split", [None, 0, 1])
def test_fit_predict_match_sklearn(split, dtype):
    # (7, 5): uneven on 2-4 ranks; (2, 3): fewer rows than ranks
    for n, d, k in ((10, 3, 3), (7, 5, 2), (2, 3, 2)):
        X, y = data(n, d, k, dtype, seed=n)
        x = lh.array(X, split=split)
        theirs = sk_nb.GaussianNB().fit(X, y)
        # NumPy labels (classes found on the host) and lazy ones (a distributed unique)
        for labels in (y, lh.array(y, split=0))[:2 if n == 10 else 1]:
            ours = nbm.GaussianNB().fit(x, labels)
            compare(ours, theirs, X, x, dtype, f"{(n, d, k)} split={split}")
        assert ours.score(x, lh.array(y, split=0)) == theirs.score(X, y)


def test_priors_smoothing_weights_and_many_classes():
    X, y = data(30, 4, 4, "float64", seed=5)
    x = lh.array(X, split=0)
    for params in ({"priors": [0.1, 0.2, 0.3, 0.4]}, {"var_smoothing": 1e-2}):
        compare(nbm.GaussianNB(**params).fit(x, y), sk_nb.GaussianNB(**params).fit(X, y),
                X, x, "float64", str(params))
    w = np.linspace(0.5, 2.0, 30)
    compare(nbm.GaussianNB().fit(x, y, sample_weight=lh.array(w, split=0)),
            sk_nb.GaussianNB().fit(X, y, sample_weight=w), X, x, "float64", "weights")
    # more classes than the one-hot products take: per-class sums by bincount
    labels = np.arange(40) * 3
    X, y = data(120, 3, 40, "float32", seed=6, labels=labels)
    x = lh.array(X, split=1)
    compare(nbm.GaussianNB().fit(x, lh.array(y, split=0)), sk_nb.GaussianNB().fit(X, y),
            X, x, "float32", "40 classes")


def test_partial_fit_matches_sklearn():
    X, y = data(17, 3, 3, "float64", seed=7)
    classes = [3, 7, 11]
    ours, theirs = nbm.GaussianNB(), sk_nb.GaussianNB()
    # batches: one class missing in the first, a single row, lazy labels in the last
    first = np.flatnonzero(y != 11)[:5]
    rest = np.setdiff1d(np.arange(17), first)
    for rows, lazy in ((first, False), (rest[:1], False), (rest[1:], True)):
        labels = lh.array(y[rows], split=0) if lazy else y[rows]
        ours.partial_fit(lh.array(X[rows], split=0), labels, classes=classes)
        theirs.partial_fit(X[rows], y[rows], classes=classes)
    compare(ours, theirs, X, lh.array(X, split=0), "float64", "partial_fit")


def test_string_labels_and_numpy_input():
    X, y = data(9, 2, 3, "float32", seed=8)
    ys = np.array(["cat", "dog", "eel", "fox"])[np.searchsorted([3, 7, 11, 20], y)]
    ours, theirs = nbm.GaussianNB().fit(X, ys), sk_nb.GaussianNB().fit(X, ys)
    pred = ours.predict(X)
    assert isinstance(pred, np.ndarray)
    agree(pred, theirs.predict(X), "float32", "string labels")
    assert ours.score(X, ys) == theirs.score(X, ys)


def test_errors_on_every_rank():
    X, y = data(8, 3, 2, "float32", seed=9)
    x = lh.array(X, split=0)
    with pytest.raises(NotFittedError, match="This GaussianNB instance is not fitted"):
        nbm.GaussianNB().predict(x)
    bad = X.copy()
    bad[5, 1] = np.nan
    with pytest.raises(ValueError, match="GaussianNB: Input X contains NaN"):
        nbm.GaussianNB().fit(lh.array(bad, split=0), y)
    bad[5, 1] = -np.inf
    with pytest.raises(ValueError, match="GaussianNB: Input X contains infinity"):
        nbm.GaussianNB().fit(lh.array(bad, split=0), y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        nbm.GaussianNB().fit(x, y[:-1])
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        nbm.GaussianNB().partial_fit(x, y)
    for labels in (y, lh.array(y, split=0)):
        with pytest.raises(ValueError, match=r"label\(s\) \[7\] in y do not exist"):
            nbm.GaussianNB().partial_fit(x, labels, classes=[3, 11])
    with pytest.raises(ValueError, match="number of priors"):
        nbm.GaussianNB(priors=[1.0]).fit(x, y)
    with pytest.raises(ValueError, match="sum of the priors"):
        nbm.GaussianNB(priors=[0.5, 0.6]).fit(x, y)
    nb = nbm.GaussianNB().fit(x, y)
    with pytest.raises(ValueError, match="X has 2 features, but GaussianNB is expecting 3"):
        nb.predict(x[:, :2])
    with pytest.raises(ValueError, match="y contains NaN"):
        nbm.GaussianNB().fit(x, lh.array(np.where(y == 3, np.nan, 1.0), split=0))


def test_fit_with_numpy_labels_is_one_plan(monkeypatch):
    X, y = data(9, 3, 3, "float32", seed=10, labels=(0, 1, 2))  # labels are their indices
    calls = []
    real = nbm._gaussian.compute
    monkeypatch.setattr(nbm._gaussian, "compute", lambda *a: calls.append(1) or real(*a))
    ours = nbm.GaussianNB().fit(lh.array(X, split=0), y)
    assert len(calls) == 1
    pred = ours.predict(lh.array(X, split=0))
    assert pred.dtype.name == "int64"
    agree(pred.numpy(), sk_nb.GaussianNB().fit(X, y).predict(X), "float32", "0..k-1")


@pytest.mark.parametrize("split", [None, 0])
def test_clone_and_pipeline_on_lazy_arrays(split):
    X, y = data(11, 3, 3, "float32", seed=11)
    x, yl = lh.array(X, split=split), lh.array(y, split=0)
    ours = sk_pipeline.Pipeline([("scale", pre.StandardScaler()),
                                 ("nb", nbm.GaussianNB(var_smoothing=1e-8))])
    ours = sk_base.clone(ours).fit(x, yl)
    theirs = sk_pipeline.Pipeline([("scale", sk_pre.StandardScaler()),
                                   ("nb", sk_nb.GaussianNB(var_smoothing=1e-8))]).fit(X, y)
    pred = ours.predict(x)
    assert isinstance(pred, lh.LazyArray)
    agree(pred.numpy(), theirs.predict(X), "float32", "pipeline predict")
    agree(ours.predict_proba(x).numpy(), theirs.predict_proba(X), "float32", "pipeline proba")
    assert ours.score(x, yl) == theirs.score(X, y)
    c = sk_base.clone(nbm.GaussianNB(priors=[0.2, 0.3, 0.5]))
    assert c.get_params() == {"priors": [0.2, 0.3, 0.5], "var_smoothing": 1e-9}
    assert not hasattr(c, "theta_")

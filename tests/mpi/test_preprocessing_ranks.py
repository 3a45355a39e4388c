"""lazyheat.preprocessing on any number of ranks, against scikit-learn: every scaler's fitted
statistics and its (lazy) transform and inverse for rows split unevenly, columns split and
replicated data, float32 and float64; NaNs ignored by fit, infinity refused on every rank;
partial_fit batches; one plan per fit of clean data."""

import numpy as np
import pytest
from _util import SIZE, lh, make, raise_if_any

import lazyheat.preprocessing as pre
from lazyheat.base import NotFittedError

P = pytest.importorskip("sklearn.preprocessing")
sk_base = pytest.importorskip("sklearn.base")

TOL = {"float32": (2e-5, 2e-5), "float64": (1e-9, 1e-10)}
# uneven on 2, 3 and 4 ranks; (2, 4) leaves ranks without rows
SHAPES = ((10, 3), (2, 4))
CONFIGS = (
    ("StandardScaler", {}),
    ("StandardScaler", {"with_mean": False}),
    ("MinMaxScaler", {"feature_range": (-1, 2), "clip": True}),
    ("MaxAbsScaler", {}),
    ("RobustScaler", {"quantile_range": (10.0, 80.0), "unit_variance": True}),
    ("RobustScaler", {"with_centering": False}),
)


def data(shape, dtype, seed=0):
    """Columns of different offsets and scales; the last one constant (zero variance)."""
    a = make(shape, "float64", seed=seed)
    a = a * np.linspace(0.1, 10.0, shape[1]) + np.linspace(-3.0, 5.0, shape[1])
    a[:, -1] = 2.5
    return a.astype(dtype)


def agree(got, expected, dtype, what):
    """assert_allclose, failing on every rank when it fails on one."""
    rtol, atol = TOL[np.dtype(dtype).name]
    err = None
    try:
        if expected is None or got is None:
            assert got is None and expected is None, f"{what}: {got!r} vs {expected!r}"
        else:
            np.testing.assert_allclose(np.asarray(got, dtype=np.float64),
                                       np.asarray(expected, dtype=np.float64),
                                       rtol=rtol, atol=atol, equal_nan=True, err_msg=what)
    except AssertionError as e:
        err = str(e)
    raise_if_any(err)


def fitted(est):
    return {k: v for k, v in vars(est).items() if k.endswith("_") and not k.startswith("_")}


def compare(ours, theirs, X, x, dtype, what):
    """Fitted attributes, transform and inverse_transform of ours (on lazy x) vs theirs."""
    ours.fit(x)
    theirs.fit(X)
    for name, value in fitted(theirs).items():
        agree(getattr(ours, name), value, dtype, f"{what}: {name}")
    t = ours.transform(x)
    assert isinstance(t, lh.LazyArray) and t.shape == X.shape and t.dtype.name == dtype
    assert t.split == x.split  # rows (or columns) stay where they are
    inv = ours.inverse_transform(t)
    lh.compute(t, inv)
    agree(t.numpy(), theirs.transform(X), dtype, f"{what}: transform")
    agree(inv.numpy(), theirs.inverse_transform(theirs.transform(X)), dtype,
          f"{what}: inverse_transform")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("split", [None, 0, 1])
def test_scalers_match_sklearn(split, dtype):
    for shape in SHAPES:
        X = data(shape, dtype)
        x = lh.array(X, split=split)
        for name, params in CONFIGS:
            compare(getattr(pre, name)(**params), getattr(P, name)(**params), X, x, dtype,
                    f"{name}({params}) {shape} split={split}")


@pytest.mark.parametrize("split", [None, 0])
def test_nan_ignored_by_fit_and_kept_by_transform(split):
    X = data((10, 3), "float64", seed=1)
    X[[1, 6], 0] = np.nan
    X[9, 1] = np.nan
    x = lh.array(X, split=split)
    for name, params in (("StandardScaler", {}), ("MinMaxScaler", {}), ("MaxAbsScaler", {}),
                         ("RobustScaler", {}),
                         ("StandardScaler", {"with_mean": False, "with_std": False})):
        compare(getattr(pre, name)(**params), getattr(P, name)(**params), X, x, "float64",
                f"{name}({params}) NaN")
    s = pre.StandardScaler().fit(x)
    assert s.n_samples_seen_.tolist() == [8, 9, 10]


@pytest.mark.parametrize("split", [None, 0, 1])
def test_infinity_refused_on_every_rank(split):
    X = data((7, 3), "float32")
    X[SIZE % 7, 1] = np.inf  # on the last rank's block for some rank counts
    x = lh.array(X, split=split)
    for est in (pre.StandardScaler(), pre.StandardScaler(with_mean=False, with_std=False),
                pre.MinMaxScaler(), pre.MaxAbsScaler(), pre.RobustScaler()):
        with pytest.raises(ValueError, match=f"{type(est).__name__}: .*infinity"):
            est.fit(x)
    with pytest.raises(ValueError, match="Normalizer: X contains NaN or infinity"):
        pre.Normalizer().fit(x)


def test_errors_name_the_estimator():
    x = lh.array(data((6, 3), "float32"), split=0)
    for cls in (pre.StandardScaler, pre.MinMaxScaler, pre.MaxAbsScaler, pre.RobustScaler,
                pre.Normalizer):
        who = cls.__name__
        with pytest.raises(NotFittedError, match=f"This {who} instance is not fitted"):
            cls().transform(x)
        est = cls().fit(x)
        with pytest.raises(ValueError, match=f"X has 2 features, but {who} is expecting 3"):
            est.transform(x[:, :2])
        with pytest.raises(ValueError, match=f"{who}: X must be 2-D"):
            cls().fit(lh.array(np.ones(4), split=0))
        with pytest.raises(ValueError, match=f"{who}: X has 0 samples"):
            cls().fit(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="MinMaxScaler: the minimum of the desired"):
        pre.MinMaxScaler(feature_range=(2, 1)).fit(x)
    with pytest.raises(ValueError, match="RobustScaler: invalid quantile range"):
        pre.RobustScaler(quantile_range=(80, 20)).fit(x)
    with pytest.raises(ValueError, match="Normalizer: norm must be one of"):
        pre.Normalizer(norm="l3").fit(x)


@pytest.mark.parametrize("name", ["StandardScaler", "MinMaxScaler", "MaxAbsScaler"])
def test_partial_fit_matches_sklearn(name):
    X = data((13, 4), "float64", seed=3)
    X[2, 1] = np.nan  # per-feature counts differ
    ours, theirs = getattr(pre, name)(), getattr(P, name)()
    for lo, hi, split in ((0, 5, 0), (5, 6, 0), (6, 13, 1)):  # a batch of one row, too
        ours.partial_fit(lh.array(X[lo:hi], split=split))
        theirs.partial_fit(X[lo:hi])
    for attr, value in fitted(theirs).items():
        agree(getattr(ours, attr), value, "float64", f"{name}.partial_fit: {attr}")
    agree(ours.transform(X).numpy(), theirs.transform(X), "float64", f"{name} transform")


@pytest.mark.parametrize("split", [None, 0, 1])
def test_normalizer_and_normalize(split):
    X = data((7, 4), "float32", seed=4)
    X[3] = 0.0  # a zero row stays zero
    x = lh.array(X, split=split)
    for norm in ("l1", "l2", "max"):
        t = pre.Normalizer(norm=norm).fit(x).transform(x)
        assert t.split == split
        agree(t.numpy(), P.Normalizer(norm=norm).fit_transform(X), "float32", f"{norm} rows")
        agree(pre.normalize(x, norm, axis=0).numpy(), P.normalize(X, norm, axis=0),
              "float32", f"{norm} columns")
    assert not hasattr(pre.Normalizer(), "inverse_transform")


def test_numpy_input_clone_and_params():
    Xi = np.arange(12, dtype=np.int64).reshape(6, 2) ** 2  # integers become float64
    s = pre.StandardScaler(with_std=False).fit(Xi)
    r = P.StandardScaler(with_std=False).fit(Xi)
    agree(s.mean_, r.mean_, "float64", "int input")
    t = s.transform(Xi)
    assert t.dtype.name == "float64" and t.split == 0
    agree(t.numpy(), r.transform(Xi), "float64", "int input transform")
    c = sk_base.clone(pre.MinMaxScaler(feature_range=(-2, 2), clip=True))
    assert c.get_params() == {"clip": True, "copy": True, "feature_range": (-2, 2)}
    assert not hasattr(c, "scale_") and repr(c) == "MinMaxScaler(clip=True, feature_range=(-2, 2))"
    c.set_params(clip=False)
    assert c.clip is False
    names = pre.MaxAbsScaler().fit(Xi).get_feature_names_out()
    assert names.tolist() == ["x0", "x1"]


def test_fit_is_one_plan_and_transform_is_lazy(monkeypatch):
    """Clean data: all the statistics of one fit come from one lh.compute."""
    x = lh.array(data((9, 3), "float32"), split=0)
    for module, cls in ((pre._standard, pre.StandardScaler), (pre._minmax, pre.MinMaxScaler),
                        (pre._minmax, pre.MaxAbsScaler), (pre._robust, pre.RobustScaler)):
        calls = []
        real = module.compute
        monkeypatch.setattr(module, "compute",
                            lambda *a, _r=real, _c=calls: _c.append(1) or _r(*a))
        t = cls().fit(x).transform(x)
        monkeypatch.setattr(module, "compute", real)
        assert len(calls) == 1, f"{cls.__name__}.fit ran {len(calls)} plans"
        assert isinstance(t, lh.LazyArray) and not t.is_materialized

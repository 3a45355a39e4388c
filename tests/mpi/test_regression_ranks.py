"""lazyheat.regression against scikit-learn on any number of ranks: Lasso and ElasticNet
(coefficients, objective, iterations, duality gap), LinearRegression (TSQR and normal
equations), lazy predict and score, uneven and empty blocks, float32, 2-D targets, the
estimator contract (clone, Pipeline, errors raised alike on every rank)."""

import warnings

import numpy as np
import pytest
from _util import RANK, SIZE, raise_if_any, same_everywhere

import lazyheat as lh
import lazyheat.regression as reg
from lazyheat.base import NotFittedError

sk_lm = pytest.importorskip("sklearn.linear_model")


def _data(n=240, d=6, seed=0, offset=3.0, targets=None):
    g = np.random.default_rng(seed)
    X = g.standard_normal((n, d)) * g.uniform(0.5, 3.0, d) + offset
    w = np.zeros(d)
    w[: max(1, d // 2)] = g.uniform(-3, 3, max(1, d // 2))
    if targets:
        W = np.stack([w, np.roll(w, 1)], axis=1)[:, :targets]
        return X, X @ W + 0.5 * g.standard_normal((n, targets)) + 2.0
    return X, X @ w + 0.5 * g.standard_normal(n) + 2.0


def _objective(X, y, coef, intercept, alpha, l1_ratio=1.0):
    r = y - X @ coef - intercept
    return (r @ r / (2 * len(y)) + alpha * l1_ratio * np.abs(coef).sum()
            + 0.5 * alpha * (1 - l1_ratio) * coef @ coef)


class Checks:
    """Mismatches collected on this rank; ``done()`` raises on every rank if any failed."""

    def __init__(self):
        self.bad = []

    def close(self, name, got, want, atol, rtol=0.0):
        got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
        if got.shape != want.shape or not np.allclose(got, want, rtol=rtol, atol=atol):
            diff = np.abs(got - want).max() if got.shape == want.shape else "shape"
            self.bad.append(f"{name}: got {got} want {want} (max diff {diff})")

    def true(self, name, ok):
        if not ok:
            self.bad.append(name)

    def done(self):
        raise_if_any("; ".join(self.bad) or None)


@pytest.mark.parametrize("split", (0, None))
@pytest.mark.parametrize("fit_intercept", (True, False))
def test_lasso_matches_sklearn(split, fit_intercept):
    X, y = _data()
    c = Checks()
    for alpha in (0.02, 0.3, 5.0):
        ours = reg.Lasso(alpha=alpha, fit_intercept=fit_intercept).fit(
            lh.array(X, split=split), lh.array(y, split=split))
        ref = sk_lm.Lasso(alpha=alpha, fit_intercept=fit_intercept).fit(X, y)
        c.close(f"coef a={alpha}", ours.coef_, ref.coef_, 1e-5)
        c.close(f"intercept a={alpha}", ours.intercept_, ref.intercept_, 1e-5)
        c.close(f"objective a={alpha}",
                _objective(X, y, ours.coef_, ours.intercept_, alpha),
                _objective(X, y, ref.coef_, ref.intercept_, alpha), 1e-5)
        c.true(f"n_iter {ours.n_iter_} vs {ref.n_iter_}", abs(ours.n_iter_ - ref.n_iter_) <= 1)
        c.close(f"dual gap a={alpha}", ours.dual_gap_, ref.dual_gap_, 1e-6)
        c.true("objective()", np.isclose(ours.objective(X, y),
                                         _objective(X, y, ours.coef_, ours.intercept_, alpha)))
        c.true("coef the same on every rank", same_everywhere(ours.coef_.tobytes()))
    c.done()


def test_elastic_net_options():
    X, y = _data(seed=1)
    c = Checks()
    x = lh.array(X, split=0)
    for kw in ({"l1_ratio": 0.5}, {"l1_ratio": 0.2, "positive": True}, {"l1_ratio": 0.0},
               {"l1_ratio": 0.7, "selection": "random", "random_state": 3, "tol": 1e-10}):
        ours = reg.ElasticNet(alpha=0.1, **kw).fit(x, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # l1_ratio=0 warns in scikit-learn
            ref = sk_lm.ElasticNet(alpha=0.1, max_iter=5000, **kw).fit(X, y)
        r = kw["l1_ratio"]
        c.close(f"coef {kw}", ours.coef_, ref.coef_, 1e-5)
        c.close(f"objective {kw}", _objective(X, y, ours.coef_, ours.intercept_, 0.1, r),
                _objective(X, y, ref.coef_, ref.intercept_, 0.1, r), 1e-5)
        c.true(f"same on every rank {kw}", same_everywhere(ours.coef_.tobytes()))
    # a given centered Gram matrix replaces X^T X (the pass still reads X^T y and the sums)
    Xc = X - X.mean(axis=0)
    given = reg.Lasso(alpha=0.1, precompute=Xc.T @ Xc).fit(x, y)
    c.close("precomputed Gram", given.coef_, sk_lm.Lasso(alpha=0.1).fit(X, y).coef_, 1e-5)
    # warm start resumes from coef_: a refit at the same alpha converges at once
    model = reg.Lasso(alpha=0.05, warm_start=True, tol=1e-8).fit(x, y)
    c.true("warm start", model.fit(x, y).n_iter_ <= 1)
    c.done()


@pytest.mark.parametrize("n", (7, 3, 1))
def test_lasso_uneven_blocks_and_float32(n):
    X, y = _data(n=n, d=4, seed=2)
    c = Checks()
    ours = reg.Lasso(alpha=0.01, tol=1e-8, max_iter=20000).fit(lh.array(X, split=0), y)
    ref = sk_lm.Lasso(alpha=0.01, tol=1e-8, max_iter=20000).fit(X, y)
    scale = max(1.0, np.abs(ref.coef_).max())
    c.close(f"coef n={n}", ours.coef_, ref.coef_, 1e-5 * scale)
    X32, y32 = _data(n=300, d=5, seed=3)
    X32, y32 = X32.astype(np.float32), y32.astype(np.float32)
    ours = reg.Lasso(alpha=0.05).fit(X32, y32)
    ref = sk_lm.Lasso(alpha=0.05).fit(X32.astype(np.float64), y32.astype(np.float64))
    c.true("float32 coef_ dtype", ours.coef_.dtype == np.float32)
    c.close("float32 coef", ours.coef_, ref.coef_, 1e-4)
    pred = ours.predict(X32)
    c.true("float32 predict", pred.dtype == lh.float32 and pred.split == 0)
    c.done()


def test_multi_target_predict_and_score():
    X, Y = _data(seed=4, targets=2)
    c = Checks()
    ours = reg.Lasso(alpha=0.1).fit(X, Y)
    ref = sk_lm.Lasso(alpha=0.1).fit(X, Y)
    c.close("coef 2-D", ours.coef_, ref.coef_, 1e-5)
    c.close("intercept 2-D", ours.intercept_, ref.intercept_, 1e-5)
    pred = ours.predict(lh.array(X, split=0))
    c.true("predict is lazy and split", isinstance(pred, lh.LazyArray) and pred.split == 0)
    c.close("predict", pred.numpy(), ref.predict(X), 1e-5)
    c.close("score", ours.score(X, Y), ref.score(X, Y), 1e-8)
    c.done()


@pytest.mark.parametrize("solver", ("lstsq", "normal"))
@pytest.mark.parametrize("split", (0, None))
def test_linear_regression(solver, split):
    c = Checks()
    for n, targets, fit_intercept in ((50, None, True), (9, 2, False), (3, None, True)):
        X, y = _data(n=n, d=3, seed=5, targets=targets)
        ours = reg.LinearRegression(fit_intercept=fit_intercept, solver=solver).fit(
            lh.array(X, split=split), lh.array(y, split=split))
        ref = sk_lm.LinearRegression(fit_intercept=fit_intercept).fit(X, y)
        tol = 1e-8 if solver == "lstsq" else 1e-6
        c.close(f"coef n={n}", ours.coef_, ref.coef_, tol, tol)
        c.close(f"intercept n={n}", ours.intercept_, ref.intercept_, tol, tol)
        c.close(f"predict n={n}", ours.predict(X).numpy(), ref.predict(X), 1e-6, 1e-6)
        c.close(f"score n={n}", ours.score(X, y), ref.score(X, y), 1e-8)
    # rank deficient: the minimum-norm solution
    X, y = _data(n=40, d=3, seed=6)
    X = np.hstack([X, X[:, :1] * 2.0])
    ours = reg.LinearRegression(solver=solver).fit(lh.array(X, split=split), y)
    ref = sk_lm.LinearRegression().fit(X, y)
    c.close("rank-deficient coef", ours.coef_, ref.coef_, 1e-6, 1e-6)
    c.true(f"rank_ {ours.rank_}", ours.rank_ == 3)
    c.done()


def test_errors_are_raised_alike_and_name_the_estimator():
    X, y = _data(n=20, d=3)
    with pytest.raises(ValueError, match="Lasso: X has 20 samples but y has 19"):
        reg.Lasso().fit(X, y[:19])
    bad = X.copy()
    bad[11, 1] = np.nan
    with pytest.raises(ValueError, match="Lasso: X contains NaN"):
        reg.Lasso().fit(bad, y)
    bad_y = y.copy()
    bad_y[-1] = np.inf
    with pytest.raises(ValueError, match="ElasticNet: y contains NaN or infinity"):
        reg.ElasticNet().fit(X, bad_y)
    with pytest.raises(ValueError, match="LinearRegression: X contains NaN"):
        reg.LinearRegression().fit(bad, y)
    with pytest.raises(NotFittedError, match="Lasso"):
        reg.Lasso().predict(X)
    with pytest.raises(ValueError, match="Lasso: X has 2 columns|Lasso: X has 2 features"):
        reg.Lasso().fit(X, y).predict(X[:, :2])
    with pytest.raises(ValueError, match="ElasticNet: l1_ratio must be in"):
        reg.ElasticNet(l1_ratio=2.0).fit(X, y)
    with pytest.raises(ValueError, match="y must be 1-D or 2-D"):
        reg.Lasso().fit(X, y.reshape(1, 4, 5))


def test_convergence_warning_and_verbose(capsys):
    X, y = _data(seed=7)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        model = reg.Lasso(alpha=1e-4, max_iter=2, tol=1e-12, verbose=True).fit(X, y)
    warned = any(issubclass(w.category, reg.ConvergenceWarning) for w in seen)
    err = capsys.readouterr().err
    raise_if_any(None if model.n_iter_ == 2 and warned == (RANK == 0)
                 and (bool(err) == (RANK == 0)) else
                 f"n_iter {model.n_iter_}, warned {warned}, progress shown {bool(err)}")


def test_clone_and_pipeline():
    from sklearn.base import clone
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = _data(seed=8)
    model = reg.Lasso(alpha=0.2, max_iter=300, selection="random", random_state=1)
    twin = clone(model)
    assert twin.get_params() == model.get_params() and twin is not model
    assert "l1_ratio" not in model.get_params()
    assert clone(reg.ElasticNet(l1_ratio=0.3)).l1_ratio == 0.3
    pipe = make_pipeline(StandardScaler(), reg.LinearRegression()).fit(X, y)
    ref = make_pipeline(StandardScaler(), sk_lm.LinearRegression()).fit(X, y)
    c = Checks()
    c.close("pipeline score", pipe.score(X, y), ref.score(X, y), 1e-8)
    c.close("pipeline predict", np.asarray(pipe.predict(X).numpy()), ref.predict(X), 1e-8)
    c.true(f"ranks {SIZE}", True)
    c.done()

"""NumPy functions and ufuncs on lazy arrays dispatch to lazyheat and stay lazy."""

import numpy as np
import pytest

import lazyheat as lh

A = np.arange(12, dtype=np.float64).reshape(3, 4) - 4.5


@pytest.fixture
def x():
    return lh.array(A, split=0)


def _lazy(r, expected):
    assert isinstance(r, lh.LazyArray), type(r)
    np.testing.assert_allclose(r.numpy(), expected)


@pytest.mark.parametrize("call", [
    lambda m, a: m.mean(a), lambda m, a: m.sum(a, axis=0), lambda m, a: m.sum(a, 1, None),
    lambda m, a: m.var(a, ddof=1), lambda m, a: m.std(a, axis=0, keepdims=True),
    lambda m, a: m.max(a, axis=1), lambda m, a: m.argmin(a), lambda m, a: m.prod(a, axis=0),
    lambda m, a: m.exp(a), lambda m, a: m.add(a, 1), lambda m, a: m.multiply(2, a),
    lambda m, a: m.absolute(a), lambda m, a: m.divide(a, 3), lambda m, a: m.where(a > 0, a, 0),
    lambda m, a: m.concatenate([a, a]), lambda m, a: m.linalg.norm(a),
    lambda m, a: m.nanmean(a, axis=0), lambda m, a: m.add.reduce(a),
    lambda m, a: m.maximum.reduce(a, axis=1), lambda m, a: m.add.accumulate(a),
    lambda m, a: m.matmul(a, a.T), lambda m, a: m.cov(a), lambda m, a: m.sum(a, where=A > 0),
    lambda m, a: m.sort(a, axis=0),
])
def test_numpy_calls_give_lazy_arrays(x, call):
    _lazy(call(np, x), call(np, A))


def test_numpy_array_on_the_left_of_an_operator_gives_a_lazy_array(x):
    for r, e in [(A + x, A + A), (A * x, A * A), (A < x, A < A), (np.float64(2) * x, 2 * A),
                 (A @ x.T, A @ A.T)]:
        _lazy(r, e)


def test_asarray_still_gathers_and_metadata_functions_answer_at_once(x):
    assert isinstance(np.asarray(x), np.ndarray)
    np.testing.assert_array_equal(np.asarray(x), A)
    assert np.shape(x) == (3, 4) and np.ndim(x) == 2 and np.size(x) == 12


def test_out_and_unknown_functions_raise_clear_errors(x):
    with pytest.raises(TypeError, match="out= is not supported"):
        np.add(x, 1, out=np.empty((3, 4)))
    b = A.copy()
    with pytest.raises(TypeError, match="out= is not supported"):
        b += x
    with pytest.raises(TypeError, match="lazyheat has no"):
        np.unwrap(x)
    with pytest.raises(TypeError, match="out= is not supported"):
        np.sum(x, out=np.empty(()))

"""Invalid programs fail when the expression is built, with a helpful message."""

import os

import numpy as np
import pytest
from _util import lh

HERE = os.path.basename(__file__)


def _assert_points_here(exc_info):
    msg = str(exc_info.value)
    assert HERE in msg, f"message does not name {HERE}: {msg!r}"


def test_broadcast_mismatch_names_shapes_and_caller():
    a = lh.ones((3, 4))
    b = lh.ones((5,))
    with pytest.raises(ValueError) as ei:
        a + b  # noqa: B018
    msg = str(ei.value)
    assert "(3, 4)" in msg and "(5,)" in msg, msg
    _assert_points_here(ei)
    with pytest.raises(ValueError):
        lh.ones((3, 4), split=0) * lh.ones((4, 3), split=1)
    with pytest.raises(ValueError):
        lh.where(lh.ones(3) > 0, lh.ones(3), lh.ones(4))


def test_matmul_mismatch():
    with pytest.raises(ValueError) as ei:
        lh.ones((3, 4)) @ lh.ones((5, 2))
    _assert_points_here(ei)
    with pytest.raises(ValueError):
        lh.matmul(lh.ones((3, 4), split=0), lh.ones((3,), split=0))
    with pytest.raises(ValueError):
        lh.dot(lh.ones(3), lh.ones(4))


def test_bad_axis():
    with pytest.raises(ValueError) as ei:
        lh.ones(3).sum(axis=2)
    _assert_points_here(ei)
    with pytest.raises(ValueError):
        lh.ones((3, 4)).mean(axis=-3)
    with pytest.raises(ValueError):
        lh.sum(lh.ones((3, 4)), axis=(0, 0))
    with pytest.raises(ValueError):
        lh.concatenate([lh.ones((3, 4)), lh.ones((3, 5))], axis=0)
    with pytest.raises(ValueError):
        lh.stack([lh.ones((3, 4)), lh.ones((4, 3))])
    with pytest.raises(ValueError):
        lh.squeeze(lh.ones((3, 4)), axis=0)
    with pytest.raises(ValueError):
        lh.ones((3, 4)).reshape(5, 3)
    with pytest.raises(ValueError):
        lh.transpose(lh.ones((3, 4)), (0, 0))


def test_bad_split():
    with pytest.raises(ValueError) as ei:
        lh.ones((3, 3), split=2)
    _assert_points_here(ei)
    with pytest.raises(ValueError):
        lh.array(np.ones((2, 2)), split=-3)
    with pytest.raises(ValueError):
        lh.resplit(lh.ones((3, 3)), 5)
    with pytest.raises((ValueError, TypeError)):
        lh.zeros((), split=0)


def test_bad_index():
    x = lh.ones((3, 4), split=0)
    with pytest.raises(IndexError):
        x[3]
    with pytest.raises(IndexError):
        x[0, 0, 0]
    with pytest.raises(IndexError):
        x[:, -5]


def test_unsupported_dtype():
    with pytest.raises(TypeError) as ei:
        lh.zeros((2, 2), dtype="U4")
    _assert_points_here(ei)
    with pytest.raises(TypeError):
        lh.array(np.array(["a", "b"]))
    with pytest.raises(TypeError):
        lh.array(np.array([object(), object()], dtype=object))
    with pytest.raises(TypeError):
        lh.ones(3, dtype=object)
    with pytest.raises(TypeError):
        lh.ones(3).astype("U4")

"""Printing (one rank): computed arrays show their values exactly as NumPy lays them out,
summarized as NumPy summarizes the whole array; lazy arrays show metadata and compute
nothing."""

import numpy as np
import pytest
import torch

import lazyheat as lh
from lazyheat import printing

PREFIX = "LazyArray("


class LazyArray(np.ndarray):
    """An ndarray subclass of the same name: NumPy's own repr of it is the oracle."""


def _values(v) -> str:
    """NumPy's text of ``v``'s values in a repr that opens with ``LazyArray(``."""
    body = np.array2string(v, separator=", ", prefix=PREFIX, suffix=")")
    # the oracle itself: NumPy's repr of an array of that class name opens with this text
    assert np.array_repr(v.view(LazyArray)).startswith(PREFIX + body)
    return PREFIX + body


def _check(x, v):
    """``repr(x)`` is NumPy's text of the values ``v``, then shape (when NumPy shows it),
    dtype, device and split; ``str(x)`` is the same."""
    text = repr(x)
    assert text.startswith(_values(v) + ","), (text, np.array_repr(v.view(LazyArray)))
    meta = f"dtype=lh.{x.dtype.name}, device=cpu, split={x.split})"
    assert text.endswith(meta), text
    numpy_text = np.array_repr(v.view(LazyArray))
    assert ("shape=" in text) == ("shape=" in numpy_text)
    if "shape=" in numpy_text:
        assert f"shape={v.shape}" in text
    assert str(x) == text
    return text


DTYPES = ["float32", "float64", "int64", "int32", "bool", "complex64", "uint8"]


def _data(shape, dtype, seed=0) -> np.ndarray:
    g = np.random.default_rng(seed)
    if dtype == "bool":
        v = g.integers(0, 2, size=shape).astype(bool)
    elif np.dtype(dtype).kind in "iu":
        v = g.integers(0, 100, size=shape).astype(dtype)
    elif np.dtype(dtype).kind == "c":
        v = (g.standard_normal(shape) + 1j * g.standard_normal(shape)).astype(dtype)
    else:
        v = (g.standard_normal(shape) * 100).astype(dtype)
    return np.asarray(v)  # 0-d: an array, not a NumPy scalar


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(), (1,), (5,), (3, 4), (2, 3, 4), (0,), (0, 3)])
def test_small_arrays_print_as_numpy(shape, dtype):
    v = _data(shape, dtype)
    for split in [None] + list(range(len(shape))):
        _check(lh.array(v, split=split), v)


@pytest.mark.parametrize("dtype", ["float32", "int64", "bool", "complex128"])
@pytest.mark.parametrize("shape", [(2000,), (1001,), (300, 5), (5, 300), (40, 30),
                                   (20, 30, 40), (12, 3, 40)])
def test_large_arrays_are_summarized_as_numpy_summarizes_the_whole(shape, dtype):
    v = _data(shape, dtype, seed=1)
    assert v.size > np.get_printoptions()["threshold"]
    for split in [None] + list(range(len(shape))):
        text = _check(lh.array(v, split=split), v)
        assert "..." in text


def test_computed_results_print_their_values():
    x = lh.arange(4, dtype=lh.float32, split=0).reshape(2, 2)
    y = (x * 2).compute()
    assert repr(y) == ("LazyArray([[0., 2.],\n"
                       "           [4., 6.]], dtype=lh.float32, device=cpu, split=0)")
    s = x.sum().compute()
    assert repr(s) == "LazyArray(6., dtype=lh.float32, device=cpu, split=None)"
    v = np.arange(3000, dtype=np.int64).reshape(1000, 3)
    _check((lh.arange(3000, split=0).reshape(1000, 3) + 0).compute(), v)


def test_bfloat16_and_float16_print_their_values():
    v = np.linspace(-2, 2, 7, dtype=np.float32)
    x = lh.array(torch.tensor(v, dtype=torch.bfloat16), split=0)
    assert repr(x).startswith(_values(torch.tensor(v).bfloat16().float().numpy()) + ",")
    assert repr(x).endswith("dtype=lh.bfloat16, device=cpu, split=0)")
    h = v.astype(np.float16)
    _check(lh.array(h, split=0), h)


@pytest.mark.parametrize("options", [dict(threshold=10, edgeitems=2), dict(edgeitems=1),
                                     dict(precision=2),
                                     dict(linewidth=40), dict(threshold=100000),
                                     dict(suppress=True, precision=3, edgeitems=4)])
def test_print_options_are_honoured(options):
    v = _data((30, 40), "float64", seed=2) / 1000
    with np.printoptions(**options):
        for split in (None, 0, 1):
            _check(lh.array(v, split=split), v)
        _check(lh.array(v[0, :5], split=0), v[0, :5])


def test_edgeitems_zero_shows_the_last_items_as_numpy_does():
    # NumPy sizes the format from every item then; the values shown are the same
    v = np.arange(40, dtype=np.int64).reshape(5, 8) * 3
    with np.printoptions(edgeitems=0, threshold=5):
        assert repr(lh.array(v, split=0)).startswith(_values(v) + ",")


def test_the_extras_go_to_a_new_line_past_the_line_width():
    v = np.arange(6, dtype=np.float32)
    with np.printoptions(linewidth=50):
        text = _check(lh.array(v, split=0), v)
    assert text == ("LazyArray([0., 1., 2., 3., 4., 5.],\n"
                    "          dtype=lh.float32, device=cpu, split=0)")


def test_summarizing_reads_only_the_edge_items():
    x = lh.array(_data((500, 40), "float32"), split=0)
    got = printing._gather_edges(x, 3, True)
    assert got.shape == (6, 6)
    v = x.numpy()
    np.testing.assert_array_equal(got, v[np.ix_([0, 1, 2, 497, 498, 499],
                                                [0, 1, 2, 37, 38, 39])])
    # an axis no longer than 2 * edgeitems is read whole
    y = lh.array(_data((4, 2000), "int32"), split=1)
    assert printing._gather_edges(y, 3, True).shape == (4, 6)


def test_lazy_arrays_print_metadata_and_compute_nothing():
    x = lh.random.randn(1000, 8, split=0, seed=1)
    z = (x - x.mean(0)) * 2
    before = lh.planner.plan_cache_info()
    for text in (repr(z), str(z), f"{z}"):
        assert text == ("LazyArray(shape=(1000, 8), dtype=float32, split=0, device=cpu, "
                        "lazy, type=f32[1000@0, 8])")
    assert not z.is_materialized
    assert lh.planner.plan_cache_info() == before


def test_an_array_on_a_planning_only_communicator_prints_its_metadata():
    x = lh.array(np.ones((8, 2)), split=0, comm=lh.FakeComm(4))
    assert repr(x) == ("LazyArray(shape=(8, 2), dtype=float64, split=0, device=cpu, "
                       "materialized, type=f64[8@0, 2])")
    r = lh.array(np.ones(3), comm=lh.FakeComm(4))  # replicated: rank 0 holds it all
    assert repr(r).startswith("LazyArray([1., 1., 1.]")


def test_dndarray_is_the_same_class():
    assert lh.DNDarray is lh.LazyArray
    assert repr(lh.array([1, 2])).startswith("LazyArray([1, 2], dtype=lh.int64")

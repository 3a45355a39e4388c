"""The ``torch.compile`` tier of fused groups gives NumPy's values on any number of ranks.

``LAZYHEAT_FUSED_TIER=compile`` compiles a fused group the second time its cached plan runs,
so each check below computes the same expression three times: the first run takes the default
tier, the later ones the compiled group. Compilation costs about a second per group (more on
a cold inductor cache), so this file keeps to a few shapes that still cover closers, empty
blocks, broadcasting and integer data."""

import shutil

import numpy as np
import pytest
import torch
from _util import check, lh, make

from lazyheat.runtime import compiled as C


@pytest.fixture(autouse=True)
def compile_tier(monkeypatch):
    monkeypatch.setenv("LAZYHEAT_FUSED_TIER", "compile")
    monkeypatch.setenv("LAZYHEAT_CHUNK", "64")  # first runs also take the chunked path


def _thrice(build, want, **tol):
    for _ in range(3):
        check(build(), np.asarray(want), **tol)


@pytest.mark.parametrize("shape", [(23, 5), (3, 4), (1, 6)])
def test_chain_closed_by_sum_mean_max(shape):
    an, bn = make(shape, "float32", seed=1), make(shape, "float32", seed=2)
    a, b = lh.array(an, split=0), lh.array(bn, split=0)
    f = np.float32
    chain = np.exp((an * f(2) + bn) / (an + f(1)))
    _thrice(lambda: ((a * 2 + b) / (a + 1)).exp().sum(), chain.sum(), rtol=1e-5)
    _thrice(lambda: ((a * 2 + b) / (a + 1)).exp().mean(0), chain.mean(0), rtol=1e-5)
    _thrice(lambda: ((a * 2 + b) / (a + 1)).exp().max(1), chain.max(1), rtol=1e-5)


@pytest.mark.parametrize("split", [None, 0, 1])
def test_elementwise_output_with_broadcast(split):
    xn = make((9, 4), "float64", seed=3)
    x = lh.array(xn, split=split)
    want = np.tanh(xn - xn.mean(0)) * 3.0 + 1.0
    _thrice(lambda: (lh.tanh(x - x.mean(0)) * 3.0 + 1.0), want, rtol=1e-12)


def test_integer_and_bool_groups():
    xn = np.arange(40, dtype=np.int64).reshape(10, 4)
    x = lh.array(xn, split=0)
    _thrice(lambda: (x * 3 - 7).sum(0), (xn * 3 - 7).sum(0))
    _thrice(lambda: ((x % 3) == 1).any(1), ((xn % 3) == 1).any(1))


def test_ineligible_closer_keeps_default_tier():
    xn = make((11, 3), "float32", seed=4)
    x = lh.array(xn, split=0)
    _thrice(lambda: (x * 2 + 1).var(0), (xn * np.float32(2) + np.float32(1)).var(0),
            rtol=1e-5)


@pytest.mark.skipif(not (shutil.which("c++") or shutil.which("g++")) and
                    not torch.cuda.is_available(),
                    reason="no C++ compiler: the tier falls back to the default one")
def test_groups_compile_once_per_plan():
    xn = make((17, 3), "float32", seed=5)
    x = lh.array(xn, split=0)
    for _ in range(4):
        check((x * x + 1).sum(), np.asarray((xn * xn + np.float32(1)).sum()), rtol=1e-5)
    compiled = [s for per_dev in C._STATE.values() for s in per_dev.values()
                if callable(s)]
    assert compiled, "no fused group was compiled"


@pytest.mark.parametrize("split", [0, 1])
def test_output_written_over_a_dead_temporary(split):
    # the matmul's result dies in the group: the compiled group writes over it in place
    xn, wn = make((40, 8), "float64", seed=6), make((8, 8), "float64", seed=7)
    x, w = lh.array(xn, split=split), lh.array(wn)
    want = np.tanh((xn @ wn) * 2.0 + 1.0) - 0.5
    _thrice(lambda: lh.tanh((x @ w) * 2.0 + 1.0) - 0.5, want, rtol=1e-12)
    y = lh.array(xn, split=split)  # user data is never overwritten
    _thrice(lambda: lh.tanh(y * 2.0 + 1.0), np.tanh(xn * 2.0 + 1.0), rtol=1e-12)
    check(y, xn)

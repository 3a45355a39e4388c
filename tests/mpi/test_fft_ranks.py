"""``lazyheat.fft`` against ``numpy.fft`` on any number of ranks: every transform along
unsplit and split axes (the four-step 1-D path and the staged n-D path), real and Hermitian
transforms, lengths that pad or truncate, prime lengths, and the frequency helpers."""

import numpy as np
import pytest
from _util import check, lh, rng

ATOL = {"complex64": 1e-4, "complex128": 1e-10, "float32": 1e-4, "float64": 1e-10}


def _close(got, want):
    tol = ATOL.get(str(np.asarray(want).dtype), 1e-10)
    check(got, want, rtol=tol, atol=tol * max(1.0, float(np.abs(want).max(initial=0))),
          layout=False)


@pytest.mark.parametrize("n", [12, 7, 16, 1])
@pytest.mark.parametrize("split", [None, 0])
def test_1d_complex_transforms(n, split):
    a = rng(1).standard_normal(n) + 1j * rng(2).standard_normal(n)
    x = lh.array(a, split=split)
    _close(lh.fft.fft(x), np.fft.fft(a))
    _close(lh.fft.ifft(x, norm="ortho"), np.fft.ifft(a, norm="ortho"))
    _close(lh.fft.fft(x, n=n + 3, norm="forward"), np.fft.fft(a, n=n + 3, norm="forward"))
    if n > 2:
        _close(lh.fft.ifft(x, n=n - 2), np.fft.ifft(a, n=n - 2))


@pytest.mark.parametrize("n", [12, 9, 5])
@pytest.mark.parametrize("split", [None, 0])
def test_1d_real_and_hermitian_transforms(n, split):
    a = rng(3).standard_normal(n)
    x = lh.array(a, split=split)
    spec = np.fft.rfft(a)
    _close(lh.fft.rfft(x), spec)
    _close(lh.fft.irfft(lh.array(spec, split=split)), np.fft.irfft(spec))
    _close(lh.fft.irfft(lh.array(spec, split=split), n=n), np.fft.irfft(spec, n=n))
    _close(lh.fft.hfft(lh.array(spec, split=split)), np.fft.hfft(spec))
    _close(lh.fft.ihfft(x), np.fft.ihfft(a))


def test_single_precision_stays_single():
    a = rng(4).standard_normal(10).astype(np.float32)
    y = lh.fft.fft(lh.array(a, split=0))
    assert y.dtype == lh.complex64
    _close(y, np.fft.fft(a).astype(np.complex64))
    assert lh.fft.irfft(lh.fft.rfft(lh.array(a))).dtype == lh.float32


@pytest.mark.parametrize("split", [None, 0, 1])
def test_nd_transforms_on_every_split(split):
    a = (rng(5).standard_normal((6, 10)) + 1j * rng(6).standard_normal((6, 10)))
    x = lh.array(a, split=split)
    _close(lh.fft.fft2(x), np.fft.fft2(a))
    _close(lh.fft.fft(x, axis=0), np.fft.fft(a, axis=0))
    _close(lh.fft.ifftn(x, s=(4, 12)), np.fft.ifftn(a, s=(4, 12), axes=(0, 1)))
    r = np.ascontiguousarray(a.real)
    xr = lh.array(r, split=split)
    _close(lh.fft.rfftn(xr), np.fft.rfftn(r))
    _close(lh.fft.rfft2(xr, s=(4, 8)), np.fft.rfft2(r, s=(4, 8)))
    spec = np.fft.rfftn(r)
    _close(lh.fft.irfftn(lh.array(spec, split=split)), np.fft.irfftn(spec))


def test_three_d_split_middle_axis():
    a = rng(7).standard_normal((3, 8, 5))
    x = lh.array(a, split=1)
    _close(lh.fft.fftn(x), np.fft.fftn(a))
    _close(lh.fft.fftn(x, axes=(1,)), np.fft.fftn(a, axes=(1,)))


@pytest.mark.parametrize("split", [None, 0])
def test_frequencies_and_shifts(split):
    for n in (1, 8, 9):
        _close(lh.fft.fftfreq(n, d=0.5, split=split), np.fft.fftfreq(n, d=0.5))
        _close(lh.fft.rfftfreq(n, d=0.5, split=split), np.fft.rfftfreq(n, d=0.5))
    a = np.arange(30.0).reshape(5, 6)
    x = lh.array(a, split=split)
    check(lh.fft.fftshift(x), np.fft.fftshift(a), layout=False)
    check(lh.fft.ifftshift(x, axes=0), np.fft.ifftshift(a, axes=0), layout=False)
    check(lh.fft.fftshift(lh.array(a[0], split=split)), np.fft.fftshift(a[0]), layout=False)


def test_errors_at_build_time():
    x = lh.zeros((4, 4), split=0)
    with pytest.raises(ValueError, match="norm"):
        lh.fft.fft(x, norm="fancy")
    with pytest.raises(ValueError, match="axis"):
        lh.fft.fft(x, axis=2)
    with pytest.raises(TypeError, match="real input"):
        lh.fft.rfft(lh.zeros(4, dtype="complex64"))
    with pytest.raises(ValueError, match="data points"):
        lh.fft.fft(x, n=0)

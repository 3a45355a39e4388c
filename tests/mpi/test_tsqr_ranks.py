"""Distributed factorizations on any number of ranks against NumPy: TSQR (``qr``), the SVD
through it (tall and wide, every split), ``lstsq`` (full rank and rank-deficient),
randomized SVD, conjugate gradients, Lanczos and ``eigsh``. Factorizations are checked by
their defining properties (``Q R = A``, orthonormality, ``U S Vh = A``), up to the sign
conventions NumPy leaves open."""

import numpy as np
import pytest
from _util import make, same_everywhere

import lazyheat as lh

TOL = {"float32": 2e-4, "float64": 1e-10}
# tall shapes: fewer rows than ranks, fewer rows than columns on some ranks, square
TALL = ((40, 5), (9, 4), (4, 4), (2, 1))


def _np(x):
    return np.asarray(x.numpy())


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize("shape", TALL)
@pytest.mark.parametrize("split", (None, 0, 1))
def test_tsqr_factors(dtype, shape, split):
    a = make(shape, dtype, seed=3)
    tol = TOL[dtype] * 10
    q, r = lh.linalg.qr(lh.array(a, split=split))
    assert q.shape == shape and r.shape == (shape[1], shape[1])
    assert q.split == (None if split is None else 0) and r.split is None
    Q, R = _np(q), _np(r)
    assert np.allclose(Q @ R, a, atol=tol)
    assert np.allclose(Q.T @ Q, np.eye(shape[1]), atol=tol)
    assert np.allclose(np.triu(R), R) and (np.diag(R) >= 0).all()
    # the normalized factors are NumPy's up to the signs of R's rows
    R_np = np.linalg.qr(a.astype("float64"))[1]
    assert np.allclose(np.abs(R), np.abs(R_np), atol=tol)
    assert same_everywhere(R.tobytes())  # merged identically on every rank
    assert np.allclose(_np(lh.linalg.qr(lh.array(a, split=split), mode="r")), R, atol=tol)


def test_tsqr_rank_deficient_and_ill_conditioned():
    g = np.random.default_rng(5)
    base = g.standard_normal((30, 3))
    a = np.hstack([base, base[:, :1] * 2.0, (base @ [1.0, 1.0, 0.0])[:, None]])  # rank 3 of 5
    q, r = lh.linalg.qr(lh.array(a, split=0))
    assert np.allclose(_np(q) @ _np(r), a, atol=1e-10)
    assert np.linalg.matrix_rank(_np(r), tol=1e-6) == 3
    v = np.vander(np.linspace(0, 1, 50), 8)  # condition ~1e6
    q, r = lh.linalg.qr(lh.array(v, split=0))
    assert np.allclose(_np(q).T @ _np(q), np.eye(8), atol=1e-10)


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize("split", (None, 0, 1))
@pytest.mark.parametrize("wide", (False, True))
def test_svd_reduced_and_svdvals(dtype, split, wide):
    a = make((23, 6), dtype, seed=4)
    if wide:
        a = np.ascontiguousarray(a.T)
    tol = TOL[dtype] * 20
    x = lh.array(a, split=split)
    u, s, vh = lh.linalg.svd(x, full_matrices=False)
    k = min(a.shape)
    assert u.shape == (a.shape[0], k) and s.shape == (k,) and vh.shape == (k, a.shape[1])
    U, S, Vh = _np(u), _np(s), _np(vh)
    assert np.allclose(S, np.linalg.svd(a.astype("float64"), compute_uv=False), atol=tol)
    assert np.allclose((U * S) @ Vh, a, atol=tol)
    assert np.allclose(U.T @ U, np.eye(k), atol=tol)
    assert np.allclose(Vh @ Vh.T, np.eye(k), atol=tol)
    assert np.allclose(_np(lh.linalg.svdvals(x)), S, atol=tol)


@pytest.mark.parametrize("split", (None, 0, 1))
def test_lstsq_full_rank_and_rank_deficient(split):
    g = np.random.default_rng(6)
    a = g.standard_normal((25, 4))
    b = g.standard_normal(25)
    x, res, rank, s = lh.linalg.lstsq(lh.array(a, split=split), lh.array(b))
    ex = np.linalg.lstsq(a, b, rcond=None)
    assert np.allclose(_np(x), ex[0], atol=1e-10)
    assert np.allclose(_np(res), ex[1], rtol=1e-8)
    assert int(rank) == 4 and np.allclose(_np(s), ex[3])
    d = np.hstack([a, a[:, :1]])  # rank-deficient: the minimum-norm solution, as NumPy
    B = g.standard_normal((25, 2))
    x, _, rank, _ = lh.linalg.lstsq(lh.array(d, split=split), lh.array(B, split=0))
    ex = np.linalg.lstsq(d, B, rcond=None)
    assert int(rank) == 4 and np.allclose(_np(x), ex[0], atol=1e-9)


@pytest.mark.parametrize("split", (None, 0, 1))
def test_rsvd_recovers_a_low_rank_spectrum(split):
    g = np.random.default_rng(7)
    u0 = np.linalg.qr(g.standard_normal((60, 5)))[0]
    v0 = np.linalg.qr(g.standard_normal((40, 5)))[0]
    s0 = np.array([9.0, 7.0, 5.0, 3.0, 1.0])
    a = (u0 * s0) @ v0.T
    u, s, v = lh.linalg.rsvd(lh.array(a, split=split), 3, power_iter=1, seed=11)
    U, S, V = _np(u), _np(s), _np(v)
    assert np.allclose(S, s0[:3], rtol=1e-8)
    assert np.allclose(np.abs(U.T @ u0[:, :3]), np.eye(3), atol=1e-8)
    assert np.allclose(np.abs(V.T @ v0[:, :3]), np.eye(3), atol=1e-8)
    assert same_everywhere(S.tobytes())


@pytest.mark.parametrize("split", (None, 0))
def test_cg_on_a_stencil_and_a_matrix(split):
    n = 64
    bn = np.sin(np.arange(n) * 0.3) + 0.1
    b = lh.array(bn, split=split)

    def lap(v):  # a shifted 1-D periodic Laplacian, never formed
        return 2.05 * v - lh.roll(v, 1) - lh.roll(v, -1)

    x, it, ok = lh.linalg.cg(lap, b, rtol=1e-10, return_info=True)
    A = 2.05 * np.eye(n) - np.roll(np.eye(n), 1, 0) - np.roll(np.eye(n), -1, 0)
    assert ok and 1 < it <= n and np.allclose(_np(x), np.linalg.solve(A, bn), atol=1e-8)
    assert x.split == b.split
    x2 = lh.linalg.cg(lh.array(A, split=split), b, rtol=1e-10, maxiter=3)
    assert not np.allclose(_np(x2), np.linalg.solve(A, bn), atol=1e-8)  # stopped early


@pytest.mark.parametrize("split", (None, 0, 1))
def test_lanczos_and_eigsh(split):
    g = np.random.default_rng(8)
    m = g.standard_normal((30, 30))
    m = m + m.T
    x = lh.array(m, split=split)
    V, T = lh.linalg.lanczos(x, 8, seed=2)
    Vn, Tn = _np(V), _np(T)
    assert np.allclose(Vn.T @ Vn, np.eye(8), atol=1e-10)
    assert np.allclose(Vn.T @ m @ Vn, Tn, atol=1e-9)
    w, vec = lh.linalg.eigsh(x, 2, which="LA", m=30, seed=2)
    ref = np.linalg.eigvalsh(m)
    assert np.allclose(_np(w), ref[-2:], atol=1e-8)
    assert np.allclose(m @ _np(vec), _np(vec) * _np(w), atol=1e-7)
    w = lh.linalg.eigsh(x, 2, which="SA", m=30, seed=2, return_eigenvectors=False)
    assert np.allclose(_np(w), ref[:2], atol=1e-8)


def test_errors_are_raised_at_build_time():
    with pytest.raises(ValueError, match="tall"):
        lh.linalg.tsqr(lh.zeros((3, 5), split=0))
    with pytest.raises(ValueError, match="rank"):
        lh.linalg.rsvd(lh.zeros((10, 4), split=0), 5)
    with pytest.raises(ValueError, match="rows"):
        lh.linalg.lstsq(lh.zeros((10, 4), split=0), lh.zeros(9))
    with pytest.raises(ValueError, match="square"):
        lh.linalg.cg(lh.zeros((4, 3)), lh.zeros(4))


@pytest.mark.parametrize("split", (None, 0, 1))
@pytest.mark.parametrize("transpose", (False, True))
def test_hsvd_rank_and_rtol(split, transpose):
    g = np.random.default_rng(9)
    u0 = np.linalg.qr(g.standard_normal((30, 4)))[0]
    v0 = np.linalg.qr(g.standard_normal((70, 4)))[0]
    a = (u0 * [8.0, 5.0, 3.0, 1.0]) @ v0.T + 1e-4 * g.standard_normal((30, 70))
    if transpose:
        a = np.ascontiguousarray(a.T)
    ref = np.linalg.svd(a)
    x = lh.array(a, split=split)
    u, s, v, err = lh.linalg.hsvd_rank(x, 3, compute_sv=True)
    U, S, V = _np(u), _np(s), _np(v)
    assert np.allclose(S, ref[1][:3], rtol=1e-6)
    assert np.allclose(np.abs(U.T @ ref[0][:, :3]), np.eye(3), atol=1e-6)
    assert np.allclose(np.abs(V.T @ ref[2][:3].T), np.eye(3), atol=1e-6)
    exact = np.linalg.norm(a - (U * S) @ V.T) / np.linalg.norm(a)
    assert abs(float(err) - exact) < 1e-8
    assert same_everywhere(U.tobytes())
    assert np.allclose(_np(lh.linalg.hsvd_rank(x, 3)), U, atol=1e-10)
    # energies 64, 25, 9, 1: rank 3 leaves a relative error of sqrt(1/99) ~ 0.1005
    u, s, v, err = lh.linalg.hsvd_rtol(x, 0.11, compute_sv=True)
    assert s.shape == (3,) and float(err) <= 0.11
    s = lh.linalg.hsvd_rtol(x, 0.05, compute_sv=True)[1]
    assert s.shape == (4,)

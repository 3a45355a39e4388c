"""The Array API ``linalg`` extension against ``numpy.linalg`` on any number of ranks:
factorizations (checked through their defining identities where signs are free), solvers,
norms of every order, trace, products, batched stacks on every split."""

import numpy as np
from _util import raise_if_any

import lazyheat as lh


def _run_checks():
    g = np.random.default_rng(0)
    bad = []

    def chk(name, got, want, tol=1e-8):
        got = got.numpy() if hasattr(got, "numpy") else got
        want = np.asarray(want)
        if not (got.shape == want.shape and np.allclose(got, want, rtol=tol, atol=tol)):
            bad.append(f"{name}: {got.shape} vs {want.shape}")

    A = g.standard_normal((5, 5))
    S = A @ A.T + 5 * np.eye(5)
    B = g.standard_normal((3, 5, 5))
    T = g.standard_normal((7, 4))
    for sp in (None, 0, 1):
        x = lh.array(S, split=sp, dtype="float64")
        t = lh.array(T, split=sp, dtype="float64")
        chk("det", lh.linalg.det(x), np.linalg.det(S))
        chk("inv", lh.linalg.inv(x), np.linalg.inv(S))
        chk("chol", lh.linalg.cholesky(x), np.linalg.cholesky(S))
        chk("eigvalsh", lh.linalg.eigvalsh(x), np.linalg.eigvalsh(S))
        w, v = lh.linalg.eigh(x)
        chk("eigh", (v @ lh.linalg.matrix_transpose(v)), np.eye(5))
        sg, la = lh.linalg.slogdet(x)
        chk("slogdet", la, np.linalg.slogdet(S)[1])
        chk("svdvals", lh.linalg.svdvals(t), np.linalg.svd(T, compute_uv=False))
        u, s_, vh = lh.linalg.svd(t, full_matrices=False)
        chk("svd", (u * lh.expand_dims(s_, 0)) @ vh, T)
        q, rr = lh.linalg.qr(t)
        chk("qr", q @ rr, T)
        chk("pinv", lh.linalg.pinv(t), np.linalg.pinv(T))
        chk("rank", lh.linalg.matrix_rank(t), np.linalg.matrix_rank(T))
        rhs = lh.array(T[:5, 0], split=sp if sp != 1 else None)
        chk("solve", lh.linalg.solve(x, rhs), np.linalg.solve(S, T[:5, 0]))
        chk("mpow", lh.linalg.matrix_power(x, 3), np.linalg.matrix_power(S, 3))
        chk("mpow-2", lh.linalg.matrix_power(x, -2), np.linalg.matrix_power(S, -2))
        chk("mpow0", lh.linalg.matrix_power(x, 0), np.eye(5))
        for o in ("fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf):
            chk(f"mnorm {o}", lh.linalg.matrix_norm(t, ord=o), np.linalg.norm(T, ord=o))
        for o in (2, 1, np.inf, -np.inf, 0, 3):
            chk(f"vnorm {o}", lh.linalg.vector_norm(t, ord=o), np.linalg.norm(T.ravel(), ord=o))
            chk(f"vnorm ax {o}", lh.linalg.vector_norm(t, ord=o, axis=0),
                np.linalg.norm(T, ord=o, axis=0))
        chk("trace", lh.linalg.trace(t, offset=1), np.trace(T, offset=1))
        chk("trace-", lh.linalg.trace(t, offset=-2), np.trace(T, offset=-2))
        chk("tensordot", lh.linalg.tensordot(t, t, axes=([0], [0])),
            np.tensordot(T, T, axes=([0], [0])))
        chk("tensordot2", lh.linalg.tensordot(t, lh.array(T.T), axes=1),
            np.tensordot(T, T.T, axes=1))
        col = lh.array(T[:, 0], split=0 if sp is not None else None)
        chk("outer", lh.linalg.outer(col, lh.array(T[0])), np.outer(T[:, 0], T[0]))
        chk("vecdot", lh.linalg.vecdot(t, t, axis=0), np.sum(T * T, axis=0))
        C = g.standard_normal((6, 3))
        c1, c2 = lh.array(C, split=sp), lh.array(C[::-1].copy(), split=sp)
        chk("cross", lh.linalg.cross(c1, c2), np.cross(C, C[::-1]))
        chk("norm", lh.linalg.norm(t), np.linalg.norm(T))
        for k in (-3, 0, 2, 5):
            chk(f"diagonal {k}", lh.linalg.diagonal(t, offset=k), np.diagonal(T, offset=k))
    for sp in (None, 0, 1):
        b = lh.array(B, split=sp)
        chk("batched inv", lh.linalg.inv(b), np.linalg.inv(B))
        chk("batched det", lh.linalg.det(b), np.linalg.det(B))
        chk("batched svdvals", lh.linalg.svdvals(b), np.linalg.svd(B, compute_uv=False))

    return bad


def test_linalg_extension_matches_numpy_on_every_split():
    bad = _run_checks()
    raise_if_any("; ".join(bad) if bad else None)


def test_stack_split_on_batch_axis_factors_without_communication():
    x = lh.zeros((8, 4, 4), split=0, comm=lh.FakeComm(4))
    text = lh.explain(lh.linalg.inv(x + lh.eye(4, comm=x.comm)))
    assert "0 collectives" in text


def test_single_precision_and_errors():
    a = np.array([[4.0, 1.0], [1.0, 3.0]], dtype=np.float32)
    y = lh.linalg.inv(lh.array(a, split=0))
    assert y.dtype == lh.float32
    assert np.allclose(y.numpy(), np.linalg.inv(a), atol=1e-5)
    import pytest

    with pytest.raises(ValueError, match="square"):
        lh.linalg.det(lh.zeros((3, 4)))
    with pytest.raises(ValueError, match="mode"):
        lh.linalg.qr(lh.zeros((3, 4)), mode="economic")

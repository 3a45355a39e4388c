"""scikit-learn baselines for the algorithm workloads, one process with R threads.

These are scikit-learn's own algorithms, not HeAT's: KMeans stops early once no label
changes (its strict convergence check), and Lasso is coordinate descent with residual
updates (O(n) per coordinate where HeAT's algorithm computes X @ theta each time).
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import data
from ..common import Case
from .numpy_impl import lasso_checksum

MISSING = {w: "scikit-learn is used for the algorithm baselines only"
           for w in data.WORKLOADS if w not in ("kmeans", "lasso", "cdist", "rsvd", "pca",
                                                      "gaussian_nb", "knn")}


def versions():
    import sklearn

    return {"scikit-learn": sklearn.__version__}


def cdist(ctx, p):
    from sklearn.metrics.pairwise import euclidean_distances

    X = data.matrix(5, p["rows"], p["cols"])
    return Case(lambda: euclidean_distances(X, X),
                lambda D: float(np.sum(D, dtype=np.float64)),
                notes="sklearn.metrics.pairwise.euclidean_distances")


def kmeans(ctx, p):
    from sklearn.cluster import KMeans

    X, k = data.kmeans_points(p), p["k"]

    def run():
        model = KMeans(n_clusters=k, init=X[:k], n_init=1, max_iter=p["iters"], tol=0,
                       algorithm="lloyd")
        return model.fit(X).cluster_centers_
    return Case(run, lambda C: float(np.sum(C, dtype=np.float64)),
                notes="sklearn KMeans(lloyd, init=first k points); may stop before 20 "
                "iterations once labels no longer change")


def lasso(ctx, p):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    X, y = data.lasso_inputs(p)

    def run():  # the same objective as HeAT's Lasso: intercept (column 0) not penalized
        model = Lasso(alpha=p["lam"], fit_intercept=True, max_iter=p["iters"], tol=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X[:, 1:], y)
        return np.concatenate([[model.intercept_], model.coef_])
    return Case(run, lasso_checksum, tol=2e-2,
                notes="sklearn Lasso (a different coordinate descent); checksum to 2%")


def rsvd(ctx, p):
    from sklearn.utils.extmath import randomized_svd

    A, k = data.rsvd_input(p), p["rank"]
    return Case(lambda: randomized_svd(A, k, n_oversamples=p["oversamples"],
                                       n_iter=p["power_iter"], random_state=0),
                lambda r: float(np.sum(r[1], dtype=np.float64)),
                notes="sklearn.utils.extmath.randomized_svd(n_iter=power_iter, "
                "random_state=0)")


def pca(ctx, p):
    from sklearn.decomposition import PCA

    X = data.pca_input(p)
    return Case(lambda: PCA(n_components=p["k"]).fit(X).explained_variance_,
                lambda v: float(np.sum(v, dtype=np.float64)), tol=1e-3,
                notes="sklearn PCA (svd_solver auto)")


def gaussian_nb(ctx, p):
    from sklearn.naive_bayes import GaussianNB

    X, y = data.labelled_points(p)
    return Case(lambda: GaussianNB().fit(X, y).predict(X),
                lambda labels: float(np.sum(labels, dtype=np.float64)),
                tol=1e-4,
                notes="sklearn GaussianNB fit + predict on the training rows")


def knn(ctx, p):
    from sklearn.neighbors import KNeighborsClassifier

    X, y = data.labelled_points(p)
    Q = data.knn_queries(p)

    def run():
        model = KNeighborsClassifier(n_neighbors=p["neighbors"], algorithm="brute")
        return model.fit(X, y).predict(Q)
    return Case(run, lambda labels: float(np.sum(labels, dtype=np.float64)),
                tol=1e-3,
                notes="sklearn KNeighborsClassifier(algorithm='brute')")

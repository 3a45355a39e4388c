"""Scale, reduce, cluster and score generated data with lazyheat's estimators.

Run as is on one process, or on several ranks:

    mpiexec -n 2 python examples/cluster_report.py

Every rank generates only its own rows (no rank holds the whole data set), the
estimators run distributed, and rank 0 prints a short report.
"""

from __future__ import annotations

import time

import numpy as np

import lazyheat as lh
from lazyheat.cluster import KMeans, silhouette_score
from lazyheat.decomposition import PCA
from lazyheat.preprocessing import StandardScaler

N_SAMPLES, N_FEATURES, N_CLUSTERS, N_COMPONENTS = 200_000, 16, 5, 4


def generate(rank: int, size: int):
    """This rank's rows of a mixture of N_CLUSTERS Gaussian blobs in N_FEATURES dimensions
    (features on very different scales), the same data set on any number of ranks."""
    centers = np.random.default_rng(0).normal(0, 6, (N_CLUSTERS, N_FEATURES))
    scales = np.logspace(-2, 2, N_FEATURES)
    counts = [N_SAMPLES // size + (r < N_SAMPLES % size) for r in range(size)]
    start = sum(counts[:rank])
    rng = np.random.default_rng([1, start])
    labels = (np.arange(start, start + counts[rank]) * 7919) % N_CLUSTERS
    block = centers[labels] + rng.standard_normal((counts[rank], N_FEATURES))
    return (block * scales).astype(np.float32)


def main():
    comm = lh.world()
    t0 = time.perf_counter()
    X = lh.from_local(generate(comm.rank, comm.size), split=0)

    Z = StandardScaler().fit_transform(X)
    pca = PCA(n_components=N_COMPONENTS, random_state=0).fit(Z)
    Y = pca.transform(Z)
    km = KMeans(n_clusters=N_CLUSTERS, random_state=0).fit(Y)
    score = silhouette_score(Y, km.labels_, sample_size=5_000, random_state=0)
    sizes = lh.bincount(km.labels_, minlength=N_CLUSTERS).numpy()
    elapsed = time.perf_counter() - t0

    if comm.rank == 0:
        print(f"lazyheat {lh.__version__} on {comm.size} rank(s)")
        print(f"data: {X.shape[0]} x {X.shape[1]} float32, split along rows")
        ratio = ", ".join(f"{v:.3f}" for v in pca.explained_variance_ratio_)
        print(f"PCA: {N_COMPONENTS} components explain {ratio} of the variance")
        print(f"KMeans: k={N_CLUSTERS}, {km.n_iter_} iterations, inertia {km.inertia_:.4g}")
        print(f"cluster sizes: {sizes.tolist()}")
        print(f"silhouette score (5000 samples): {score:.3f}")
        print(f"total time: {elapsed:.2f} s")


if __name__ == "__main__":
    main()

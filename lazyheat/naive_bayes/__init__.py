"""Naive Bayes classifiers with scikit-learn's interface, on lazy distributed arrays.

``GaussianNB`` fits in one pass over the rows (per-class counts, sums and sums of squares,
combined by one all-reduce) and predicts lazily, row by row where the rows lie.

>>> from lazyheat.naive_bayes import GaussianNB
>>> X = lh.random.randn(200, 3, split=0, seed=2)
>>> y = (X[:, 0] > 0).astype(lh.int64)
>>> nb = GaussianNB().fit(X, y)
>>> nb.score(X, y) > 0.9
True
"""

from ._gaussian import GaussianNB

__all__ = ["GaussianNB"]

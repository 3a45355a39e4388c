"""Classification estimators on lazy arrays, with scikit-learn's interface:
:class:`KNeighborsClassifier` (k nearest neighbours over a row-split training set, no
gather of it). Written on lazyheat's public API only.

>>> import numpy as np
>>> from lazyheat.classification import KNeighborsClassifier
>>> clf = KNeighborsClassifier(n_neighbors=1).fit(np.array([[0.0], [4.0]]), np.array([7, 9]))
>>> clf.predict(np.array([[3.0]])).numpy()
array([9])
"""

from .kneighbors import KNeighborsClassifier

__all__ = ["KNeighborsClassifier"]

"""Linear regression on distributed data, with scikit-learn's estimator interface.

- :class:`Lasso` and :class:`ElasticNet`: coordinate descent on the centered Gram matrix,
  read from the data in one pass (one collective), then solved on every rank alike;
- :class:`LinearRegression`: least squares by TSQR (``lh.linalg.lstsq``) or by the normal
  equations.

Inputs are lazy arrays or NumPy data (split along their rows); fitted attributes are small
NumPy arrays every rank holds; ``predict`` returns a lazy array split like ``X``.

>>> import numpy as np
>>> from lazyheat.regression import Lasso
>>> X = np.random.default_rng(1).standard_normal((100, 3))
>>> Lasso(alpha=0.05).fit(X, X @ [1.0, 0.0, 2.0]).score(X, X @ [1.0, 0.0, 2.0]) > 0.99
True
"""

from ._cd import ConvergenceWarning
from .coordinate_descent import ElasticNet, Lasso
from .least_squares import LinearRegression

__all__ = ["ConvergenceWarning", "ElasticNet", "Lasso", "LinearRegression"]

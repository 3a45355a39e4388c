"""Feature scaling with scikit-learn's interface, on lazy distributed arrays.

Every scaler computes the statistics of one ``fit`` in one plan (over rows split across
ranks: one pass over each rank's block, one small collective), keeps them as NumPy arrays
(the same on every rank) and transforms lazily: ``transform`` returns a lazy array that
keeps the rows where they are, ready to compute or to feed to the next step of a pipeline.
NumPy input is split along its rows. ``copy`` parameters are accepted for compatibility:
lazy arrays are never modified in place. As in scikit-learn, ``fit`` ignores NaNs and
refuses infinity; ``transform`` does not read the data to check it (it stays lazy).

>>> from lazyheat.preprocessing import StandardScaler
>>> X = lh.random.randn(1000, 4, split=0, seed=1)
>>> Z = StandardScaler().fit_transform(X)      # statistics computed, Z still lazy
>>> bool(abs(Z.mean(axis=0)).max().item() < 1e-5)
True
"""

from ._minmax import MaxAbsScaler, MinMaxScaler
from ._normalize import Normalizer, normalize
from ._robust import RobustScaler
from ._standard import StandardScaler

__all__ = ["StandardScaler", "MinMaxScaler", "MaxAbsScaler", "RobustScaler", "Normalizer",
           "normalize"]

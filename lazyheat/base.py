"""What every lazyheat estimator shares: scikit-learn's conventions on lazy arrays.

The algorithm packages (``lazyheat.cluster``, ``regression``, ``decomposition``,
``preprocessing``, ``naive_bayes``, ``classification``, ``spatial``) sit on the public array
API only. Their estimators follow scikit-learn's contract, without depending on it:

- hyper-parameters are the ``__init__`` arguments, stored unchanged under the same names;
  ``get_params``/``set_params`` read and write them, so ``sklearn.base.clone`` and
  ``sklearn.pipeline.Pipeline`` work on them;
- ``fit`` returns ``self``; fitted attributes end in ``_``; using an estimator before ``fit``
  raises :class:`NotFittedError` (a ``ValueError`` and an ``AttributeError``, as
  scikit-learn's);
- input may be a lazy array or anything ``lh.array`` takes (NumPy arrays are split along
  their rows).

Validation that needs the data (NaNs, sizes) runs one small plan whose result every rank
receives, so a bad input raises the same error on every rank.
"""

from __future__ import annotations

import inspect
import sys
import time

import numpy as np

from . import _core
from ._array import LazyArray
from .creation import array

__all__ = [
    "BaseEstimator", "ClusterMixin", "TransformerMixin", "RegressorMixin", "ClassifierMixin",
    "NotFittedError", "check_array", "check_is_fitted", "Progress", "shared_rng",
]


class NotFittedError(ValueError, AttributeError):
    """An estimator was used before ``fit``."""


class BaseEstimator:
    """Hyper-parameters as ``__init__`` arguments, read and written by ``get_params`` and
    ``set_params`` (the contract ``sklearn.base.clone`` relies on)."""

    @classmethod
    def _param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep: bool = True) -> dict:
        """The estimator's hyper-parameters (``deep``: also those of nested estimators, as
        ``name__param``)."""
        out = {}
        for name in self._param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params):
        """Set hyper-parameters (``name__param`` reaches a nested estimator); returns self."""
        valid = self.get_params(deep=True)
        nested: dict[str, dict] = {}
        for key, value in params.items():
            name, sep, sub = key.partition("__")
            if name not in valid:
                raise ValueError(f"{type(self).__name__}: invalid parameter {name!r}; "
                                 f"valid parameters are {sorted(self._param_names())}")
            if sep:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub in nested.items():
            getattr(self, name).set_params(**sub)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in
                    inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name in self._param_names():
            value = getattr(self, name, None)
            default = defaults.get(name, inspect.Parameter.empty)
            same = value is default or (isinstance(value, (int, float, str, bool, type(None)))
                                        and type(value) is type(default) and value == default)
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def __sklearn_tags__(self):  # scikit-learn >= 1.6 asks estimators for their tags
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=getattr(self, "_estimator_type", None),
                    target_tags=TargetTags(required=False))


class ClusterMixin:
    _estimator_type = "clusterer"

    def fit_predict(self, X, y=None):
        """Fit, then return the label of every sample (``labels_``)."""
        return self.fit(X).labels_


class TransformerMixin:
    def fit_transform(self, X, y=None, **fit_params):
        """``fit(X)`` then ``transform(X)``."""
        return self.fit(X, y, **fit_params).transform(X)


class RegressorMixin:
    _estimator_type = "regressor"

    def score(self, X, y):
        """The coefficient of determination R^2 of ``predict(X)`` against ``y`` (a float;
        for a 2-D ``y`` the mean of the targets' R^2, as scikit-learn's default). A target
        of zero variance scores 1.0 when predicted exactly, else 0.0."""
        y = check_array(y, "y", ndim=(1, 2))
        pred = self.predict(X)
        resid = ((y - pred) ** 2).sum(axis=0)
        total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
        from .planner import compute

        r, t = (np.asarray(v.numpy(), dtype=np.float64).reshape(-1)
                for v in compute(resid, total))
        scores = np.where(t == 0.0, np.where(r == 0.0, 1.0, 0.0),
                          1.0 - r / np.where(t == 0.0, 1.0, t))
        return float(scores.mean())


class ClassifierMixin:
    _estimator_type = "classifier"

    def score(self, X, y):
        """The mean accuracy of ``predict(X)`` against ``y`` (a float)."""
        y = check_array(y, "y", ndim=1, dtype=None)
        return float((self.predict(X) == y).astype("float64").mean().item())


def check_array(X, name: str = "X", *, ndim=2, dtype="float", split=0, allow_nan=True,
                min_samples: int = 0, estimator: str = "") -> LazyArray:
    """``X`` as a lazy array of ``ndim`` dimensions (an int or a tuple of allowed ones).

    ``dtype="float"`` converts integers and bools to float32 (floating input keeps its
    type); None keeps any type. Data that is not yet a lazy array is split along ``split``.
    ``allow_nan=False`` computes ``isnan(X).any()`` (one small plan) and raises on every
    rank when it is true; ``min_samples`` checks the number of rows.
    """
    who = f"{estimator}: " if estimator else ""
    if not isinstance(X, LazyArray):
        if hasattr(X, "__array__") or isinstance(X, (list, tuple)):
            Xn = np.asarray(X)
            if Xn.dtype == object:
                raise TypeError(f"{who}{name} must hold numbers, got an object array")
            X = array(Xn, split=split if Xn.ndim else None)
        else:
            X = array(X, split=None)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if X.ndim not in allowed:
        want = " or ".join(f"{d}-D" for d in allowed)
        raise ValueError(f"{who}{name} must be {want}, got shape {X.shape}")
    if dtype == "float":
        if X.dtype.is_complex:
            raise TypeError(f"{who}{name} must be real, got {X.dtype.name}")
        if not X.dtype.is_floating:
            X = X.astype(_core.dtype_or_none("float32"))
    if X.ndim and X.shape[0] < min_samples:
        raise ValueError(f"{who}{name} has {X.shape[0]} samples; at least {min_samples} "
                         "are needed")
    if not allow_nan and X.dtype.is_floating and X.size:
        # a comparison, not isfinite: (abs(x) < inf) is False for NaN and +-inf alike
        from .elementwise import abs as abs_

        if bool((abs_(X) < float("inf")).all().item()):
            return X
        raise ValueError(f"{who}{name} contains NaN or infinity")
    return X


def check_is_fitted(estimator, *attributes: str) -> None:
    """Raise :class:`NotFittedError` unless ``estimator`` has every fitted attribute."""
    if not all(hasattr(estimator, a) for a in attributes):
        raise NotFittedError(f"This {type(estimator).__name__} instance is not fitted yet; "
                             "call 'fit' with appropriate arguments first")


def shared_rng(random_state, comm=None) -> np.random.Generator:
    """A NumPy generator that yields the same numbers on every rank: from an int seed (the
    same sequence on any number of ranks), a Generator or RandomState given alike on every
    rank, or, for None, fresh entropy drawn on rank 0 and broadcast."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if isinstance(random_state, np.random.RandomState):
        return np.random.default_rng(random_state.randint(0, 2**63 - 1, dtype=np.int64))
    if random_state is None:
        from .runtime.comm import world

        comm = comm or world()
        seed = np.random.SeedSequence().entropy
        if comm.size > 1 and getattr(comm, "mpi", None) is not None:
            seed = comm.mpi.bcast(seed, root=0)
        return np.random.default_rng(seed)
    return np.random.default_rng(random_state)


class Progress:
    """``verbose=True`` progress for iterative estimators: rank 0 shows iteration, objective
    and elapsed time (a tqdm bar where tqdm is installed, plain lines on stderr otherwise);
    every other rank shows nothing. Off (``verbose`` false), it costs nothing."""

    def __init__(self, verbose, total: int, desc: str, comm=None):
        from .runtime.comm import world

        rank = (comm or world()).rank
        self.on = bool(verbose) and rank == 0
        self.desc, self.total, self.t0, self.bar = desc, total, time.perf_counter(), None
        if self.on:
            try:
                from tqdm.auto import tqdm
            except ImportError:
                tqdm = None
            if tqdm is not None:
                self.bar = tqdm(total=total, desc=desc, leave=True)

    def update(self, it: int, **values) -> None:
        if not self.on:
            return
        shown = ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in values.items())
        if self.bar is not None:
            self.bar.update(1)
            self.bar.set_postfix_str(shown)
        else:
            elapsed = time.perf_counter() - self.t0
            print(f"{self.desc}: iteration {it}/{self.total} {shown} ({elapsed:.3f} s)",
                  file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()

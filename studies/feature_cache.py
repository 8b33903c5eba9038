"""Features computed once per study and shared by its trials.

Every trial of a HOG study transforms the same training and validation images; only
the classifier and, sometimes, the HOG setting change. :class:`FeatureCache` keeps the
features of each (split, transformer setting) in memory, bounded in bytes, and
:func:`with_cached_features` wires it into a trial's pipeline.

Only transformers whose output depends on nothing but their parameters and the images
being transformed may be cached, since a cached result is reused whatever training set
the step was fitted on: see :data:`STATELESS_TRANSFORMERS`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Hashable, Mapping
from typing import Any, Self

import cachetools
import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.pipeline import Pipeline

from bench.errors import UsageError
from estimators.hog import HOGTransformer
from estimators.scaling import ImageFlattener, PixelScaler

DEFAULT_MAX_MB = 2048
MAX_MB_VARIABLE = "BENCH_FEATURE_CACHE_MB"

# Their fit only checks the input and records its shape (HOG: image_shape_,
# n_features_out_; PixelScaler: n_features_in_), so transform(X) is the same function
# of X whatever they were fitted on. Matched by exact type: a subclass may learn.
STATELESS_TRANSFORMERS = (HOGTransformer, PixelScaler, ImageFlattener)


def max_bytes_from_environment() -> int:
    """The cache bound: ``BENCH_FEATURE_CACHE_MB`` mebibytes, else 2 GiB.

    Raises
    ------
    UsageError
        If the variable is set to something other than a whole number >= 0.
    """
    text = os.environ.get(MAX_MB_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_MB * 2**20
    if not text.isdigit():
        raise UsageError(
            f"{MAX_MB_VARIABLE}={text!r} is not valid; set it to a whole number of "
            f"mebibytes (0 turns the feature cache off), or unset it for {DEFAULT_MAX_MB}."
        )
    return int(text) * 2**20


class FeatureCache:
    """In-memory LRU cache of feature arrays, bounded in bytes (a ``cachetools.LRUCache``
    that sizes each array by its ``nbytes``).

    Parameters
    ----------
    max_bytes : int or None, default=None
        Most bytes of arrays kept; None reads :func:`max_bytes_from_environment`.
        An array larger than this is computed and returned but not kept.

    Attributes
    ----------
    hits, misses : int
        Lookups answered from the cache, and lookups that computed.

    Notes
    -----
    Returned arrays are read-only: one trial's features are another's, so none may
    write to them. One process runs one trial at a time (``--jobs`` runs processes),
    so the cache takes no locks.
    """

    def __init__(self, max_bytes: int | None = None) -> None:
        self.max_bytes = max_bytes_from_environment() if max_bytes is None else int(max_bytes)
        self.hits = 0
        self.misses = 0
        self._entries: cachetools.LRUCache[Hashable, np.ndarray] = cachetools.LRUCache(
            maxsize=self.max_bytes, getsizeof=_nbytes
        )

    @property
    def nbytes(self) -> int:
        """Bytes of the arrays kept now."""
        return int(self._entries.currsize)

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def get(self, key: Hashable, compute: Callable[[], np.ndarray]) -> np.ndarray:
        """The array stored under ``key``, calling ``compute()`` only if there is none.

        Parameters
        ----------
        key : hashable
            Identifies the array, e.g. from :func:`feature_key`.
        compute : callable
            Returns the array.

        Returns
        -------
        numpy.ndarray
            Read-only.
        """
        features = self._entries.get(key)
        if features is not None:
            self.hits += 1
            return features
        self.misses += 1
        features = np.asarray(compute())
        features.flags.writeable = False
        with contextlib.suppress(ValueError):  # larger than the whole bound: not kept
            self._entries[key] = features
        return features

    def clear(self) -> None:
        """Drop every array; the hit and miss counts stay."""
        self._entries.clear()


def _nbytes(features: np.ndarray) -> int:
    return features.nbytes


def feature_key(data_key: str, transformer: Any) -> tuple[str, tuple[tuple[str, str, str], ...]]:
    """Cache key of ``transformer``'s output on the images named ``data_key``.

    Parameters
    ----------
    data_key : str
        Names the input exactly, e.g. a dataset digest and the split's role.
    transformer : estimator or Pipeline
        The feature step(s); their classes and parameters enter the key.

    Returns
    -------
    tuple
        ``(data_key, ((step name, class, parameters), ...))``.
    """
    steps = transformer.steps if isinstance(transformer, Pipeline) else [("", transformer)]
    return (data_key, tuple(_step_key(name, step) for name, step in steps))


def _step_key(name: str, step: Any) -> tuple[str, str, str]:
    cls = type(step)
    # repr of sorted plain parameters: equal settings give equal text, and a value
    # that repr cannot tell apart (an object) shows its id, so it only misses.
    params = repr(sorted(step.get_params(deep=False).items()))
    return (name, f"{cls.__module__}.{cls.__qualname__}", params)


class CachedFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """A pipeline step that serves its feature steps' output from a :class:`FeatureCache`.

    Parameters
    ----------
    features : Pipeline
        Stateless feature steps (see :data:`STATELESS_TRANSFORMERS`), fitted here.
    cache : FeatureCache
        Shared by the trials of one study.
    inputs : mapping of str to numpy.ndarray
        The arrays whose features may be cached, each under a key that names its
        content exactly (a dataset digest and the split's role). They are recognised
        by identity, so other arrays are transformed without the cache.

    Attributes
    ----------
    n_features_in_ : int
        Features per image seen in :meth:`fit`.
    """

    def __init__(
        self, features: Pipeline, cache: FeatureCache, inputs: Mapping[str, np.ndarray]
    ) -> None:
        self.features = features
        self.cache = cache
        self.inputs = inputs

    def fit(self, X: Any, y: Any = None) -> Self:
        """Fit the feature steps (they learn shapes only); returns self."""
        self.features.fit(X, y)
        self.n_features_in_ = self.features.n_features_in_
        return self

    def transform(self, X: Any) -> np.ndarray:
        """The feature steps' output for ``X``, from the cache when ``X`` is a known input."""
        data_key = next((key for key, array in self.inputs.items() if array is X), None)
        if data_key is None:
            features: np.ndarray = self.features.transform(X)
            return features
        return self.cache.get(
            feature_key(data_key, self.features), lambda: self.features.transform(X)
        )


def with_cached_features(
    pipeline: Pipeline,
    cache: FeatureCache,
    inputs: Mapping[str, np.ndarray],
    *,
    stateless: tuple[type, ...] = STATELESS_TRANSFORMERS,
) -> Pipeline:
    """``pipeline`` with its leading stateless steps served from ``cache``.

    The returned pipeline shares ``pipeline``'s step objects, so fitting it fits them:
    afterwards ``pipeline`` itself is fitted too.

    Parameters
    ----------
    pipeline : Pipeline
        A benchmark pipeline with its parameters set.
    cache : FeatureCache
    inputs : mapping of str to numpy.ndarray
        See :class:`CachedFeatures`.
    stateless : tuple of type, default=STATELESS_TRANSFORMERS
        Step types that may be cached, matched exactly.

    Returns
    -------
    Pipeline
        ``pipeline`` unchanged when its first step is not stateless; otherwise a
        pipeline whose first step, ``"features"``, wraps the leading stateless steps.
    """
    steps = list(pipeline.steps)
    leading = 0
    # The classifier is never cached: it is what each trial trains.
    while leading < len(steps) - 1 and type(steps[leading][1]) in stateless:
        leading += 1
    if leading == 0:
        return pipeline
    cached = CachedFeatures(Pipeline(steps[:leading]), cache, inputs)
    return Pipeline([("features", cached), *steps[leading:]])

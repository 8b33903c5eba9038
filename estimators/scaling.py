"""Stateless pixel steps: scaling, so pipelines feed networks values in [0, 1], and
flattening, so classic scikit-learn classifiers get one row per image."""

from __future__ import annotations

import math
from typing import Any, Self

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class PixelScaler(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Divide pixel values by a fixed maximum (255 for 8-bit images).

    Unlike ``MinMaxScaler`` it learns nothing from the data, so the same pixel
    value maps to the same input whatever the training set.

    Parameters
    ----------
    max_value : float, default=255.0
        The largest possible pixel value.

    Attributes
    ----------
    n_features_in_ : int
        Pixels per image seen in :meth:`fit`, for flat rows and images alike.

    Examples
    --------
    >>> import numpy as np
    >>> images = np.array([[[0, 255], [51, 102]]], dtype=np.uint8)  # one 2x2 image
    >>> PixelScaler(max_value=255).fit_transform(images)
    array([[[0. , 1. ],
            [0.2, 0.4]]], dtype=float32)
    """

    def __init__(self, max_value: float = 255.0) -> None:
        self.max_value = max_value

    def fit(self, X: Any, y: Any = None) -> Self:
        """Check ``X`` and remember its feature count; returns self."""
        if not self.max_value or self.max_value <= 0:
            raise ValueError(f"max_value must be positive, got {self.max_value!r}.")
        self._validate_pixels(X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``X / max_value`` as float32, keeping the input's shape."""
        check_is_fitted(self)
        X = self._validate_pixels(X, reset=False)
        # One new array, not a float32 copy and then its quotient: on MNIST that is
        # 188 MB less to allocate and touch (0.2-0.4 s of a two-second fit's first run).
        scaled: np.ndarray = np.divide(X, np.float32(self.max_value), dtype=np.float32)
        return scaled

    def _validate_pixels(self, X: Any, *, reset: bool) -> np.ndarray:
        """Check ``X`` with scikit-learn, counting an image's pixels as its features.

        Images are validated as flat rows, so ``n_features_in_`` is the pixel count,
        as for the other estimators: comparing the first axis after the samples
        would let images of another size through.
        """
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        shape = X.shape
        if len(shape) > 2:
            X = np.reshape(X, (shape[0], math.prod(shape[1:])))
        checked: np.ndarray = validate_data(self, X, reset=reset)
        return checked.reshape(shape) if len(shape) > 2 else checked

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # the output is always float32
        return tags


class ImageFlattener(TransformerMixin, BaseEstimator):  # type: ignore[misc]  # sklearn is untyped
    """Turn images ``(n, height, width[, channels])`` into rows of their pixels.

    The Keras classifiers take images as they are; scikit-learn's own classifiers
    (the baselines) need one flat row per image. Rows pass through unchanged.

    Attributes
    ----------
    n_features_in_ : int
        Pixels per image seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> ImageFlattener().fit_transform(np.arange(8).reshape(2, 2, 2))
    array([[0, 1, 2, 3],
           [4, 5, 6, 7]])
    """

    def fit(self, X: Any, y: Any = None) -> Self:
        """Check ``X`` and remember its pixel count; returns self."""
        self._rows(X, reset=True)
        return self

    def transform(self, X: Any) -> np.ndarray:
        """Return ``X`` with one row per image."""
        check_is_fitted(self)
        return self._rows(X, reset=False)

    def _rows(self, X: Any, *, reset: bool) -> np.ndarray:
        if not hasattr(X, "shape"):
            X = np.asarray(X)
        if len(X.shape) > 2:
            X = np.reshape(X, (X.shape[0], math.prod(X.shape[1:])))
        rows: np.ndarray = validate_data(self, X, reset=reset)
        return rows

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags

"""Stateless pixel scaling, so pipelines feed networks values in [0, 1]."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data


class PixelScaler(TransformerMixin, BaseEstimator):
    """Divide pixel values by a fixed maximum (255 for 8-bit images).

    Unlike ``MinMaxScaler`` it learns nothing from the data, so the same pixel
    value maps to the same input whatever the training set.

    Parameters
    ----------
    max_value : float, default=255.0
        The largest possible pixel value.
    """

    def __init__(self, max_value=255.0):
        self.max_value = max_value

    def fit(self, X, y=None):
        """Check ``X`` and remember its feature count; returns self."""
        if not self.max_value or self.max_value <= 0:
            raise ValueError(f"max_value must be positive, got {self.max_value!r}.")
        validate_data(self, X, reset=True, allow_nd=True)
        return self

    def transform(self, X):
        """Return ``X / max_value`` as float32, keeping the input's shape."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, allow_nd=True)
        return np.asarray(X, dtype=np.float32) / np.float32(self.max_value)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = True
        return tags

"""The validation split carved from the training data, the same for every classifier.

A Keras classifier carves it inside ``fit`` (``validation_split``, ``random_state``);
the harness carves it for classic scikit-learn classifiers with the same function, so
a baseline and a network run with the same seed train on the same images.
"""

from __future__ import annotations

import math

import numpy as np
from sklearn.model_selection import train_test_split


def holdout_indices(
    labels: np.ndarray, share: float, random_state: int | None
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the training rows and of the ``share`` held out for validation.

    Stratified by class when every class has at least two rows and the split can hold
    one of each; ``ceil(share * n)`` rows are held out, as ``train_test_split`` does.

    Examples
    --------
    >>> train, val = holdout_indices(np.array([0, 1] * 10), 0.1, random_state=0)
    >>> len(train), len(val), sorted(np.array([0, 1] * 10)[val])
    (18, 2, [np.int64(0), np.int64(1)])
    """
    labels = np.asarray(labels)
    if labels.ndim == 2:
        # A column of class indices (what scikeras' encoder gives a sparse loss) or
        # one-hot rows; argmax of a single column would make every label 0.
        labels = labels[:, 0] if labels.shape[1] == 1 else np.argmax(labels, axis=1)
    _, counts = np.unique(labels, return_counts=True)
    n_val = math.ceil(share * len(labels))
    stratify = labels if counts.min() >= 2 and n_val >= len(counts) else None
    train, val = train_test_split(
        np.arange(len(labels)), test_size=share, stratify=stratify, random_state=random_state
    )
    return train, val

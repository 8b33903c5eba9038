"""Sizes by arithmetic alone: the weights of the classifiers' networks, the features
of HOG; and what a fitted classifier stores (:func:`stored_numbers`).

Counting by building the Keras model means importing Keras (seconds); these give the
same numbers (``count_params()``: trainable weights and batch norm's moving
statistics) from the topology parameters, with the estimators' defaults. Tests check
them against Keras and against :class:`~estimators.HOGTransformer`.

Examples
--------
>>> mlp_weights(784, 10, hidden_layer_sizes=(300, 30))  # the seed MLP
244840
>>> cnn_weights((28, 28, 1), 10, filters=(9, 9, 16), kernel_sizes=(5, 5, 3),
...             dense_layers=(300, 30))  # the seed CNN
56420
>>> hog_features((28, 28), orientations=8, pixels_per_cell=4, cells_per_block=1)
392
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

# Keras' BatchNormalization keeps four numbers per unit: gamma, beta and the moving
# mean and variance (the last two are not trained, but count_params counts them).
_BATCH_NORM_PER_UNIT = 4


def dense_weights(n_inputs: int, units: int, *, batch_norm: bool = False) -> int:
    """Weights of a Dense layer (kernel and bias), with its batch norm if any."""
    return n_inputs * units + units + (_BATCH_NORM_PER_UNIT * units if batch_norm else 0)


def mlp_weights(
    n_features: int,
    n_classes: int,
    *,
    hidden_layer_sizes: Sequence[int] = (100,),
    batch_norm: bool = False,
    **ignored: object,
) -> int:
    """Weights of :class:`~estimators.KerasMLPClassifier`'s network.

    Parameters other than the topology (dropout, optimizer, ...) hold no weights and
    are ignored, so a classifier's whole parameter set may be passed.
    """
    total, width = 0, n_features
    for units in hidden_layer_sizes:
        total += dense_weights(width, int(units), batch_norm=batch_norm)
        width = int(units)
    return total + dense_weights(width, n_classes)


def cnn_weights(
    image_shape: tuple[int, ...],
    n_classes: int,
    *,
    filters: Sequence[int] = (32, 64),
    kernel_sizes: int | Sequence[int] = 3,
    pool: int | Sequence[int] = 2,
    dense_layers: Sequence[int] = (128,),
    strides: int | Sequence[int] = 1,
    padding: str | Sequence[str] = "same",
    batch_norm: bool | str = False,
    **ignored: object,
) -> int:
    """Weights of :class:`~estimators.KerasCNNClassifier`'s network on images of
    ``image_shape`` (height, width[, channels]); ``batch_norm="dense"`` normalises the
    head only."""
    height, width = image_shape[:2]
    channels = image_shape[2] if len(image_shape) > 2 else 1
    blocks = len(filters)
    total = 0
    paddings = [padding] * blocks if isinstance(padding, str) else list(padding)
    for n_filters, kernel, pooling, stride, block_padding in zip(
        filters,
        _per_block(kernel_sizes, blocks),
        _per_block(pool, blocks),
        _per_block(strides, blocks),
        paddings,
        strict=True,
    ):
        total += kernel * kernel * channels * n_filters + n_filters
        total += _BATCH_NORM_PER_UNIT * n_filters if batch_norm is True else 0
        height, width = (
            _conv_side(side, kernel, max(1, stride), block_padding) for side in (height, width)
        )
        if pooling > 1:
            height, width = height // pooling, width // pooling
        channels = n_filters
    return total + mlp_weights(
        height * width * channels,
        n_classes,
        hidden_layer_sizes=dense_layers,
        batch_norm=bool(batch_norm),
    )


def hog_features(
    image_shape: tuple[int, ...],
    *,
    orientations: int = 9,
    pixels_per_cell: int | Sequence[int] = (8, 8),
    cells_per_block: int | Sequence[int] = (3, 3),
    **ignored: object,
) -> int:
    """Features per image of :class:`~estimators.HOGTransformer` on ``image_shape``."""
    cell = _pair(pixels_per_cell)
    block = _pair(cells_per_block)
    cells = [image_shape[axis] // cell[axis] for axis in (0, 1)]
    blocks = [max(0, cells[axis] - block[axis] + 1) for axis in (0, 1)]
    return blocks[0] * blocks[1] * block[0] * block[1] * orientations


def _pair(value: int | Sequence[int]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[1]))


def _per_block(value: int | Sequence[int] | None, blocks: int) -> list[int]:
    if isinstance(value, int) or value is None:
        return [value or 0] * blocks
    return [int(v) for v in value]


def _conv_side(side: int, kernel: int, stride: int, padding: str) -> int:
    if padding == "valid":
        return (side - kernel) // stride + 1
    return -(-side // stride)


def stored_numbers(classifier: Any) -> int:
    """How many numbers the fitted classifier keeps to predict: a network's weights; an
    SVC's support vectors, their coefficients and intercepts; a linear model's
    coefficients and intercepts; a forest's split features, thresholds and leaf values;
    any other classifier, the numbers in the arrays it keeps (a k-NN's training set).

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.linear_model import LogisticRegression
    >>> X, y = load_digits(return_X_y=True)
    >>> stored_numbers(LogisticRegression(max_iter=50).fit(X / 16, y))  # (64 + 1) x 10
    650
    >>> from sklearn.neighbors import KNeighborsClassifier
    >>> stored_numbers(KNeighborsClassifier().fit(X, y))  # 1797 x 64 images, labels, classes
    116815
    """
    import numpy as np

    if hasattr(classifier, "count_weights"):
        return int(classifier.count_weights())
    if hasattr(classifier, "support_vectors_"):
        parts = (classifier.support_vectors_, classifier.dual_coef_, classifier.intercept_)
        return sum(int(np.size(part)) for part in parts)
    if hasattr(classifier, "coef_"):
        return int(np.size(classifier.coef_) + np.size(classifier.intercept_))
    if hasattr(classifier, "estimators_"):
        trees = [tree.tree_ for tree in classifier.estimators_]
        return sum(2 * tree.node_count + int(tree.value.size) for tree in trees)
    # Any other classifier: the numbers in the arrays it keeps (a k-NN's training images
    # and labels). Not exact for every kind, but never a crash after a fit.
    arrays = [value for value in vars(classifier).values() if isinstance(value, np.ndarray)]
    numeric = [array for array in arrays if array.dtype.kind in "biuf"]
    if numeric:
        return sum(int(array.size) for array in numeric)
    raise TypeError(f"cannot count what a fitted {type(classifier).__name__} stores")

"""Pipeline factories: pure functions of their parameters returning unfitted pipelines,
and the arithmetic that counts each one's weights without building it.

The factories import scikit-learn and the estimators (and so Keras) when called, not
when this module is imported, so that looking a benchmark up by name, or listing the
benchmarks, answers at once. The final step of every pipeline is the classifier,
named ``clf``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from estimators.sizes import cnn_weights, hog_features, mlp_weights

if TYPE_CHECKING:
    from sklearn.pipeline import Pipeline


def mlp_pipeline(*, pixel_max: float = 255.0, **classifier_params) -> Pipeline:
    """Raw pixels scaled to [0, 1], then an MLP."""
    from sklearn.pipeline import Pipeline

    from estimators import KerasMLPClassifier, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("clf", KerasMLPClassifier(**classifier_params)),
        ]
    )


def deep_mlp_pipeline(*, pixel_max: float = 255.0, **classifier_params) -> Pipeline:
    """Raw pixels scaled to [0, 1], then an MLP of ``depth`` equal Dense layers."""
    from sklearn.pipeline import Pipeline

    from estimators import KerasDeepMLPClassifier, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("clf", KerasDeepMLPClassifier(**classifier_params)),
        ]
    )


def hog_mlp_pipeline(
    *,
    pixel_max: float = 255.0,
    orientations: int = 8,
    pixels_per_cell: int = 4,
    cells_per_block: int = 1,
    block_norm: str = "L2-Hys",
    **classifier_params,
) -> Pipeline:
    """HOG features of the raw image, then an MLP (HOG is scale-invariant per block)."""
    from sklearn.pipeline import Pipeline

    from estimators import HOGTransformer, KerasMLPClassifier

    del pixel_max  # block normalisation makes the pixel range irrelevant
    hog = HOGTransformer(
        orientations=orientations,
        pixels_per_cell=pixels_per_cell,
        cells_per_block=cells_per_block,
        block_norm=block_norm,
    )
    return Pipeline([("hog", hog), ("clf", KerasMLPClassifier(**classifier_params))])


def cnn_pipeline(*, pixel_max: float = 255.0, **classifier_params) -> Pipeline:
    """Pixels scaled to [0, 1], then a CNN on the image."""
    from sklearn.pipeline import Pipeline

    from estimators import KerasCNNClassifier, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("clf", KerasCNNClassifier(**classifier_params)),
        ]
    )


# --- weights without building ----------------------------------------------------------

# counter(benchmark params, image shape, number of classes) -> weights
WeightCounter = Callable[[Mapping[str, Any], tuple[int, ...], int], int]


def _mlp_weights(params, image_shape, n_classes) -> int:
    return mlp_weights(math.prod(image_shape), n_classes, **params)


def _deep_mlp_weights(params, image_shape, n_classes) -> int:
    depth, units = params.get("depth", 5), params.get("units", 32)
    sizes = (units,) * (depth - 1)
    return mlp_weights(math.prod(image_shape), n_classes, **{**params, "hidden_layer_sizes": sizes})


def _hog_mlp_weights(params, image_shape, n_classes) -> int:
    hog = _defaults(hog_mlp_pipeline) | dict(params)
    return mlp_weights(hog_features(image_shape, **hog), n_classes, **params)


def _cnn_weights(params, image_shape, n_classes) -> int:
    return cnn_weights(image_shape, n_classes, **params)


def _defaults(function: Callable) -> dict[str, Any]:
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.default is not inspect.Parameter.empty
    }


# A factory without a counter here is counted by building its network with Keras.
WEIGHT_COUNTERS: dict[Callable[..., Any], WeightCounter] = {
    mlp_pipeline: _mlp_weights,
    deep_mlp_pipeline: _deep_mlp_weights,
    hog_mlp_pipeline: _hog_mlp_weights,
    cnn_pipeline: _cnn_weights,
}

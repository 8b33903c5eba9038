"""Pipeline factories: pure functions of their parameters returning unfitted pipelines,
and the arithmetic that counts each one's weights without building it.

The factories import scikit-learn and the estimators (and so Keras) when called, not
when this module is imported, so that looking a benchmark up by name, or listing the
benchmarks, answers at once. The final step of every pipeline is the classifier,
named ``clf``: a Keras network trained epoch by epoch, or a classic scikit-learn
classifier (the baselines) trained in one call.
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

    from estimators import KerasMLPClassifier

    del pixel_max  # block normalisation makes the pixel range irrelevant
    hog = _hog(orientations, pixels_per_cell, cells_per_block, block_norm)
    return Pipeline([("hog", hog), ("clf", KerasMLPClassifier(**classifier_params))])


def _hog(orientations: int, pixels_per_cell: int, cells_per_block: int, block_norm: str):
    """The HOG step the HOG pipelines share."""
    from estimators import HOGTransformer

    return HOGTransformer(
        orientations=orientations,
        pixels_per_cell=pixels_per_cell,
        cells_per_block=cells_per_block,
        block_norm=block_norm,
    )


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


def svc_pipeline(*, pixel_max: float = 255.0, **svc_params) -> Pipeline:
    """Pixels scaled to [0, 1], then scikit-learn's support vector classifier."""
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    from estimators import ImageFlattener, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("flatten", ImageFlattener()),
            ("clf", SVC(**svc_params)),
        ]
    )


def hog_svc_pipeline(
    *,
    pixel_max: float = 255.0,
    orientations: int = 8,
    pixels_per_cell: int = 4,
    cells_per_block: int = 1,
    block_norm: str = "L2-Hys",
    **svc_params,
) -> Pipeline:
    """HOG features of the raw image (as ``hog_mlp_pipeline``), then an SVC."""
    from sklearn.pipeline import Pipeline
    from sklearn.svm import SVC

    del pixel_max  # block normalisation makes the pixel range irrelevant
    hog = _hog(orientations, pixels_per_cell, cells_per_block, block_norm)
    return Pipeline([("hog", hog), ("clf", SVC(**svc_params))])


def logreg_pipeline(*, pixel_max: float = 255.0, **logreg_params) -> Pipeline:
    """Pixels scaled to [0, 1], then multinomial logistic regression."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from estimators import ImageFlattener, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("flatten", ImageFlattener()),
            ("clf", LogisticRegression(**logreg_params)),
        ]
    )


def forest_pipeline(*, pixel_max: float = 255.0, **forest_params) -> Pipeline:
    """A random forest on the raw pixels (trees do not care about their scale)."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from estimators import ImageFlattener

    del pixel_max
    return Pipeline(
        [("flatten", ImageFlattener()), ("clf", RandomForestClassifier(**forest_params))]
    )


# --- weights without building ----------------------------------------------------------

# counter(benchmark params, image shape, number of classes) -> weights, or None when
# the count depends on the data (an SVC keeps as many support vectors as it needs)
WeightCounter = Callable[[Mapping[str, Any], tuple[int, ...], int], int | None]


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


def _logreg_weights(params, image_shape, n_classes) -> int:
    # One row of coefficients and an intercept per class; a single row for two classes.
    rows = 1 if n_classes == 2 else n_classes
    return (math.prod(image_shape) + 1) * rows


def _known_after_fitting(params, image_shape, n_classes) -> None:
    return None


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
    svc_pipeline: _known_after_fitting,
    hog_svc_pipeline: _known_after_fitting,
    logreg_pipeline: _logreg_weights,
    forest_pipeline: _known_after_fitting,
}

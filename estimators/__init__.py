"""scikit-learn estimators for image classification: Keras networks and HOG features.

Names are imported on first use, so ``from estimators import HOGTransformer`` does
not pay for importing Keras and its backend.
"""

from __future__ import annotations

import importlib

_MODULE_OF = {
    "ACTIVATIONS": "estimators.activations",
    "lecun_tanh": "estimators.activations",
    "scaled_tanh": "estimators.activations",
    "HOGTransformer": "estimators.hog",
    "ImageFlattener": "estimators.scaling",
    "KerasCNNClassifier": "estimators.cnn",
    "KerasDeepMLPClassifier": "estimators.mlp",
    "KerasMLPClassifier": "estimators.mlp",
    "PixelScaler": "estimators.scaling",
    "cnn_weights": "estimators.sizes",
    "hog_features": "estimators.sizes",
    "mlp_weights": "estimators.sizes",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'estimators' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


def __dir__() -> list[str]:
    return __all__

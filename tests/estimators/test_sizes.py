"""Sizes by arithmetic equal what Keras and HOGTransformer build, on many topologies."""

import inspect

import numpy as np
import pytest

from estimators import HOGTransformer, KerasCNNClassifier, KerasMLPClassifier
from estimators.sizes import cnn_weights, hog_features, mlp_weights

MLPS = [
    {"hidden_layer_sizes": (300, 30)},
    {"hidden_layer_sizes": (16,), "batch_norm": True},
    {"hidden_layer_sizes": (512, 128, 64), "batch_norm": True, "dropout": 0.5},
    {},  # the classifier's defaults
]
CNNS = [
    {"filters": (9, 9, 16), "kernel_sizes": (5, 5, 3), "dense_layers": (300, 30)},
    {"filters": (16, 32), "kernel_sizes": 5, "strides": 2, "pool": 1, "batch_norm": True},
    {"filters": (32, 32, 64, 64), "kernel_sizes": 3, "padding": "valid", "pool": (1, 2, 1, 2)},
    {"filters": (8,), "kernel_sizes": 3, "pool": 3, "dense_layers": ()},
    {
        "filters": (32, 32, 64, 64),
        "padding": ("same", "valid", "same", "valid"),
        "pool": (1, 2, 1, 2),
        "dense_layers": (512,),
    },
    {},
]


@pytest.mark.parametrize("params", MLPS, ids=str)
@pytest.mark.parametrize("n_features", [64, 392, 784])
def test_mlp_weights_equal_keras(params, n_features):
    X, y = np.zeros((10, n_features), np.float32), np.arange(10)
    built = KerasMLPClassifier(**params).initialize(X, y)
    assert mlp_weights(n_features, 10, **params) == built.count_weights()


@pytest.mark.parametrize("params", CNNS, ids=str)
@pytest.mark.parametrize("shape", [(28, 28), (32, 32, 3)])
def test_cnn_weights_equal_keras(params, shape):
    X, y = np.zeros((10, *shape), np.float32), np.arange(10)
    built = KerasCNNClassifier(**params).initialize(X, y)
    image_shape = shape if len(shape) == 3 else (*shape, 1)
    assert cnn_weights(image_shape, 10, **params) == built.count_weights()


@pytest.mark.parametrize(
    ("orientations", "cell", "block"), [(8, 4, 1), (9, 7, 2), (12, 6, 3), (14, 10, 1), (9, 8, 3)]
)
def test_hog_features_equal_the_transformer(orientations, cell, block):
    hog = HOGTransformer(orientations=orientations, pixels_per_cell=cell, cells_per_block=block)
    expected = hog.fit(np.zeros((1, 28, 28))).n_features_out_
    assert hog_features((28, 28), **hog.get_params()) == expected


@pytest.mark.parametrize(
    ("counter", "estimator"),
    [
        (mlp_weights, KerasMLPClassifier),
        (cnn_weights, KerasCNNClassifier),
        (hog_features, HOGTransformer),
    ],
)
def test_defaults_are_the_estimators(counter, estimator):
    counted = inspect.signature(counter).parameters
    own = inspect.signature(estimator).parameters
    shared = [name for name in counted if name in own]
    assert shared
    for name in shared:
        assert counted[name].default == own[name].default, name

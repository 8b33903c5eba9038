"""The course's experiments need: LeCun's tanh, per-layer dropout, deep MLPs counted
as the reports count them, per-layer gradients on every backend, and CNN blocks as the
CIFAR-10 report builds them (per-block padding, dropout, augmentation)."""

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits

from estimators import KerasCNNClassifier, KerasDeepMLPClassifier, KerasMLPClassifier
from estimators.activations import lecun_tanh, scaled_tanh


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:400].astype("float32") / 16.0, y[:400]


def test_lecun_tanh_adds_its_small_linear_term():
    x = np.array([-3.0, -1.0, 0.0, 1.0, 3.0], dtype="float32")
    expected = 1.7159 * np.tanh(2 * x / 3) + 0.01 * x
    np.testing.assert_allclose(keras.ops.convert_to_numpy(lecun_tanh(x)), expected, rtol=1e-6)
    difference = keras.ops.convert_to_numpy(lecun_tanh(x) - scaled_tanh(x))
    np.testing.assert_allclose(difference, 0.01 * x, atol=1e-6)


def test_depth_counts_the_softmax_layer_as_the_reports_do():
    X, y = np.zeros((10, 784), "float32"), np.arange(10)
    clf = KerasDeepMLPClassifier(depth=5).initialize(X, y)
    assert clf.count_weights() == 28_618  # 784-32-32-32-32-10
    dense = [layer for layer in clf.model_.layers if type(layer).__name__ == "Dense"]
    assert len(dense) == 5
    assert clone(KerasDeepMLPClassifier(depth=40, activation="sigmoid")).get_params()["depth"] == 40
    with pytest.raises(ValueError, match="depth"):
        KerasDeepMLPClassifier(depth=1).initialize(X, y)


def test_dropout_takes_one_rate_per_hidden_layer():
    X, y = np.zeros((10, 64), "float32"), np.arange(10)
    clf = KerasMLPClassifier((32, 16, 8), dropout=(0.5, 0.0, 0.25)).initialize(X, y)
    rates = {layer.name: layer.rate for layer in clf.model_.layers if hasattr(layer, "rate")}
    assert rates == {"dropout_1": 0.5, "dropout_3": 0.25}
    with pytest.raises(ValueError, match="dropout has 2 rates but the network has 3"):
        KerasMLPClassifier((32, 16, 8), dropout=(0.5, 0.5)).initialize(X, y)


def test_log_gradients_adds_each_layers_gradients_to_every_epoch(digits):
    clf = KerasDeepMLPClassifier(depth=4, units=16, log_gradients=True, epochs=2, random_state=0)
    clf.fit(*digits)
    grads = {key: values for key, values in clf.history_.items() if key.startswith("grad_")}
    assert sorted(grads) == sorted(
        f"grad_{layer}_{part}"
        for layer in ("dense_1", "dense_2", "dense_3", "softmax")
        for part in ("kernel", "bias")
    )
    assert all(len(values) == 2 and min(values) > 0 for values in grads.values())
    assert "grad_dense_1_kernel" not in KerasMLPClassifier(epochs=1).fit(*digits).history_


def test_gradients_vanish_towards_the_input_of_a_deep_sigmoid_network(digits):
    clf = KerasDeepMLPClassifier(
        depth=12, units=16, activation="sigmoid", log_gradients=True, epochs=1, random_state=0
    ).fit(*digits)
    first, last = clf.history_["grad_dense_1_kernel"][-1], clf.history_["grad_softmax_kernel"][-1]
    assert first < last / 100


CIFAR_LIKE = dict(
    filters=(4, 4, 8, 8),
    kernel_sizes=3,
    padding=("same", "valid", "same", "valid"),
    pool=(1, 2, 1, 2),
    conv_dropout=(0.0, 0.25, 0.0, 0.25),
    dense_layers=(16,),
    dropout=0.5,
)


def test_cnn_blocks_as_the_cifar_report_builds_them():
    X, y = np.zeros((10, 32, 32, 3), "float32"), np.arange(10)
    clf = KerasCNNClassifier(**CIFAR_LIKE).initialize(X, y)
    names = [layer.name for layer in clf.model_.layers]
    assert names.index("pool_2") < names.index("conv_dropout_2") < names.index("conv_3")
    assert "pool_1" not in names and "conv_dropout_1" not in names
    assert clf.model_.get_layer("conv_2").output.shape[1:3] == (30, 30)  # valid padding
    full = dict(CIFAR_LIKE, filters=(32, 32, 64, 64), dense_layers=(512,))
    assert KerasCNNClassifier(**full).initialize(X, y).count_weights() == 1_250_858


@pytest.mark.parametrize(
    ("augment", "layers", "last"),
    [
        ("flip", {"flip"}, "flip"),
        ("shift_flip", {"shift", "flip"}, "flip"),
        ("shift_rotate_zoom", {"shift", "rotate", "zoom"}, "shift"),
    ],
)
def test_augmentation_acts_in_training_only(digits, augment, layers, last):
    import keras

    X, y = digits[0].reshape(-1, 8, 8), digits[1]
    clf = KerasCNNClassifier((4,), 3, 1, (8,), augment=augment, epochs=1, random_state=0)
    clf.fit(X, y)
    names = [layer.name for layer in clf.model_.layers]
    assert layers <= set(names)
    assert ("flip" in names) is ("flip" in augment)  # a flipped digit is another
    assert ("shift" in names) is ("shift" in augment)
    np.testing.assert_array_equal(clf.predict_proba(X[:20]), clf.predict_proba(X[:20]))
    augmented = keras.Model(clf.model_.inputs, clf.model_.get_layer(last).output)
    images = X[:20].reshape(20, -1).astype("float32")  # the model's flat input
    training = keras.ops.convert_to_numpy(augmented(images, training=True))
    inference = keras.ops.convert_to_numpy(augmented(images, training=False))
    np.testing.assert_array_equal(inference, X[:20, :, :, None])
    assert not np.allclose(training, X[:20, :, :, None])
    with pytest.raises(ValueError, match="augment='rotate' is not valid"):
        KerasCNNClassifier(augment="rotate").initialize(X, y)


def test_filters_and_feature_maps_are_there_to_look_at(digits):
    X, y = digits[0].reshape(-1, 8, 8), digits[1]
    clf = KerasCNNClassifier((6, 4), 3, (1, 2), (8,), epochs=1, random_state=0).fit(X, y)
    assert clf.first_filters().shape == (3, 3, 1, 6)
    maps = clf.feature_maps(X[0])
    assert [(name, activation.shape) for name, activation in maps] == [
        ("conv_1", (8, 8, 6)),
        ("conv_2", (8, 8, 4)),
    ]

"""The private APIs of TensorFlow and scikeras that ``estimators`` relies on, each
checked so that a library release that moves or changes one fails here, loudly,
instead of silently changing what bench does. The README lists them."""

import inspect

import keras
import numpy as np
import pytest
from scikeras.wrappers import BaseWrapper, KerasClassifier
from sklearn.datasets import load_digits

from estimators import KerasMLPClassifier
from estimators.backends import forget_traced_gradients, traced_gradient_names


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:200] / 16.0, y[:200]


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow backend only")
def test_tensorflow_gradient_registry_is_where_bench_frees_it(digits):
    # tensorflow.python.framework.ops._gradient_registry._registry: each traced Keras
    # training step registers a custom gradient there that nothing else frees.
    from tensorflow.python.framework import ops

    assert isinstance(ops._gradient_registry._registry, dict)
    before = traced_gradient_names()
    KerasMLPClassifier((8,), epochs=1, random_state=0).fit(*digits)
    added = traced_gradient_names() - before
    assert [name for name in added if name.startswith("CustomGradient-")]
    forget_traced_gradients(before)
    assert traced_gradient_names() == before


@pytest.mark.parametrize(
    ("method", "parameters"),
    [
        ("_validate_data", ["self", "X", "y", "reset", "y_numeric"]),
        ("_build_keras_model", ["self"]),
        (
            "_fit_keras_model",
            ["self", "X", "y", "sample_weight", "warm_start", "epochs", "initial_epoch", "kwargs"],
        ),
        ("_predict_raw", ["self", "X", "kwargs"]),
    ],
)
def test_scikeras_methods_we_override_keep_their_signatures(method, parameters):
    assert list(inspect.signature(getattr(KerasClassifier, method)).parameters) == parameters


def test_scikeras_builds_through_keras_build_fn(digits):
    # scikeras' documented subclassing hook: without a `model`, the class's
    # `_keras_build_fn(compile_kwargs)` builds the network, which scikeras routes
    # `compile_kwargs` to because the method names that parameter (`_check_model_param`).
    clf = KerasMLPClassifier((8,), epochs=1, optimizer__learning_rate=0.01)
    assert clf._check_model_param() == clf._keras_build_fn
    clf.initialize(*digits)
    assert clf.model_.name == "KerasMLPClassifier"
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.01)


def test_scikeras_keeps_the_seed_and_fit_callbacks_where_we_read_them(digits):
    # _random_state (the resolved seed) and _fit_callbacks (the callbacks a fit passes
    # to Keras) are read and swapped by KerasImageClassifier around scikeras' own fit.
    seen = []
    clf = KerasMLPClassifier((8,), epochs=1, random_state=3)
    callback = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    clf.fit(*digits, callbacks=[callback])
    assert clf._random_state == 3
    assert isinstance(clf._fit_callbacks, list)
    assert seen == [0]  # the callback given to fit() reached Keras
    source = inspect.getsource(BaseWrapper._fit_keras_model)
    assert "self._fit_callbacks" in source


def test_seed_reproduces_the_fit_through_our_seeding(digits):
    first = KerasMLPClassifier((8,), epochs=2, random_state=7).fit(*digits)
    second = KerasMLPClassifier((8,), epochs=2, random_state=7).fit(*digits)
    np.testing.assert_array_equal(first.predict_proba(digits[0]), second.predict_proba(digits[0]))


def test_keras_optimizer_carries_the_peak_learning_rate_we_store_on_it(digits):
    # KerasImageClassifier stores the configured rate on the Keras optimizer as
    # _peak_learning_rate: a warm-started fit finds the optimizer's rate already a
    # schedule (decayed by the last fit) and restarts it from that peak. Keras must
    # neither use the name itself nor drop the attribute between fits.
    assert not hasattr(keras.optimizers.Adam(), "_peak_learning_rate")
    clf = KerasMLPClassifier(
        (8,),
        epochs=2,
        batch_size=50,
        lr_schedule="cosine",
        optimizer="adam",
        optimizer__learning_rate=0.01,
        warm_start=True,
        random_state=0,
    )
    clf.fit(*digits)
    first_fit_steps = int(clf.model_.optimizer.iterations)
    clf.fit(*digits)
    optimizer = clf.model_.optimizer
    assert optimizer._peak_learning_rate == pytest.approx(0.01)
    # The second fit's schedule starts at its own first step, from the peak again.
    assert float(optimizer._learning_rate(first_fit_steps)) == pytest.approx(0.01, rel=1e-3)

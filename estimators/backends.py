"""What differs between Keras backends: start-up, gradients, op determinism, tracing,
and TensorFlow's gradient registry. The one module of the project that imports
TensorFlow (and JAX or torch), and only for the backend Keras runs on; the other
modules of ``estimators`` import it before Keras, so the backend starts here.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


@contextlib.contextmanager
def tensorflow_start_up_hidden() -> Iterator[None]:
    """Import TensorFlow inside this block without its start-up log lines, unless the
    user has set TensorFlow's logging (``TF_CPP_MIN_LOG_LEVEL``) to show them.

    Without a setting, ``TF_CPP_MIN_LOG_LEVEL`` becomes 3 (no C++ log lines: the
    "failed call to cuInit" and NodeDef errors a CPU-only machine gets); child
    processes, such as joblib's workers, inherit it. TensorFlow's C++ library writes
    its start-up lines (oneDNN, CUDA) before it reads that variable, so file
    descriptor 2 points at /dev/null while it loads if the level hides INFO lines.
    Nothing changes once TensorFlow is imported: its logging is then the user's.
    ``TF_ENABLE_ONEDNN_OPTS`` is left alone: it changes the numbers, not the logs.
    """
    if "tensorflow" in sys.modules:
        yield
        return
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if level.strip() in ("", "0"):
        yield
        return
    with _stderr_to_devnull():
        yield


@contextlib.contextmanager
def _stderr_to_devnull() -> Iterator[None]:
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (a detached process): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


with tensorflow_start_up_hidden():
    # Keras starts its backend on import; scikeras imports TensorFlow whatever it is.
    import keras as keras  # re-exported: bench.runtime.backend hands it out, started here
    import scikeras.wrappers  # noqa: F401


def layer_gradients(model: keras.Model, x: Any, y: Any) -> dict[str, float]:
    """Mean absolute gradient of the loss for each trainable weight of ``model``.

    The loss is the sparse categorical cross-entropy of ``model(x)`` against the class
    indices ``y``, in inference mode (no dropout, batch norm on its moving statistics)
    so the figure depends on the weights alone. Computed with the backend's own
    gradient machinery: TensorFlow's ``GradientTape``, ``jax.grad`` or torch's
    autograd.

    Returns
    -------
    dict
        Weight path (``"dense_1/kernel"``) -> mean absolute gradient.
    """
    backend = keras.backend.backend()
    compute: dict[str, Callable[[Any, np.ndarray, np.ndarray], Any]] = {
        "tensorflow": _tensorflow_gradients,
        "jax": _jax_gradients,
        "torch": _torch_gradients,
    }
    if backend not in compute:
        raise ValueError(f"gradients are not supported on the {backend!r} Keras backend")
    gradients = compute[backend](model, np.asarray(x), np.asarray(y))
    return {
        weight.path: float(np.mean(np.abs(keras.ops.convert_to_numpy(gradient))))
        for weight, gradient in zip(model.trainable_weights, gradients, strict=True)
    }


def _loss(y: Any, y_pred: Any) -> Any:
    return keras.ops.mean(keras.losses.sparse_categorical_crossentropy(y, y_pred))


def _tensorflow_gradients(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    import tensorflow as tf

    with tf.GradientTape() as tape:
        loss = _loss(y, model(x, training=False))
    return tape.gradient(loss, model.trainable_weights)


def _jax_gradients(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    import jax

    trainable = [weight.value for weight in model.trainable_variables]
    non_trainable = [weight.value for weight in model.non_trainable_variables]

    def loss_of(values: list[Any]) -> Any:
        y_pred, _ = model.stateless_call(values, non_trainable, x, training=False)
        return _loss(y, y_pred)

    return jax.grad(loss_of)(trainable)


def _torch_gradients(model: Any, x: np.ndarray, y: np.ndarray) -> list[Any]:
    import torch

    model.zero_grad()
    loss = _loss(torch.as_tensor(y), model(torch.as_tensor(x), training=False))
    loss.backward()
    return [weight.value.grad for weight in model.trainable_weights]


def enable_op_determinism() -> None:
    """Make TensorFlow's kernels deterministic, so a seed gives the same model twice.

    It stays on for the process (scikeras turns it off after each fit). JAX and torch
    on the CPU need nothing.
    """
    if keras.backend.backend() != "tensorflow" or _DETERMINISM["on"]:
        return
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    _DETERMINISM["on"] = True


_DETERMINISM = {"on": False}


def traced_gradient_names() -> frozenset[str]:
    """Names in TensorFlow's process-wide gradient registry (empty on other backends).

    Keras' optimizer step goes through ``tf.custom_gradient``, which registers one
    gradient per traced step and never removes it; each entry holds the whole traced
    step, so a study leaks about 10 MB per trial. ``clear_session`` leaves them.
    """
    return frozenset(_gradient_registry())


def forget_traced_gradients(kept: frozenset[str]) -> None:
    """Drop the custom gradients registered since ``kept`` was taken: call only when
    no model is training, as for ``keras.backend.clear_session``."""
    registry = _gradient_registry()
    for name in [n for n in registry if n.startswith("CustomGradient-") and n not in kept]:
        del registry[name]


def _gradient_registry() -> dict[str, Any]:
    if keras.backend.backend() != "tensorflow":
        return {}
    # Private TensorFlow API, checked by tests/estimators/test_private_apis.py.
    from tensorflow.python.framework import ops

    registry = getattr(getattr(ops, "_gradient_registry", None), "_registry", None)
    if not isinstance(registry, dict):
        if not _MOVED_WARNED:
            _MOVED_WARNED.append(True)
            warnings.warn(
                "TensorFlow's gradient registry (tensorflow.python.framework.ops."
                "_gradient_registry._registry) has moved: traced training steps are no longer "
                "freed between study trials, so a long study grows by about 10 MB a trial.",
                RuntimeWarning,
                stacklevel=3,
            )
        return {}
    return registry


_MOVED_WARNED: list[bool] = []


def expect_one_predict_trace_per_model(model: keras.Model) -> None:
    """Tell TensorFlow that ``model``'s prediction function is traced once for this
    model, so that it does not warn about retracing.

    Every fit builds a new model (scikit-learn fits from scratch) and Keras makes a new
    ``tf.function`` for each model's predictions, which must be traced once. TensorFlow
    counts traces by the Python code of the traced function, which all models share,
    so six fits that each predict one batch read as one function retraced six times.
    Retracing within one model (a batch of another shape) is the caller's to avoid.
    Keras' training and evaluation functions are traced once per fit and then called
    once per batch, so they do not warn.
    """
    if keras.backend.backend() != "tensorflow":
        return
    model.make_predict_function()
    # Private TensorFlow API, checked by tests/estimators/test_quiet.py. TensorFlow sets
    # it itself on the functions of a loaded SavedModel, for the same reason.
    if hasattr(model.predict_function, "_omit_frequent_tracing_warning"):
        model.predict_function._omit_frequent_tracing_warning = True

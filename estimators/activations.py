"""Activation functions by name, including LeCun's scaled tanh (with and without its
small linear term)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# First, so that Keras and its backend start there, without TensorFlow's start-up lines.
from estimators import backends  # noqa: F401

# isort: split
import keras

ACTIVATIONS = (
    "relu",
    "tanh",
    "sigmoid",
    "scaled_tanh",
    "lecun_tanh",
    "elu",
    "selu",
    "gelu",
    "swish",
)


@keras.saving.register_keras_serializable(package="bench")  # type: ignore[untyped-decorator]
def scaled_tanh(x: Any) -> Any:
    """LeCun's scaled hyperbolic tangent, ``1.7159 * tanh(2x / 3)``.

    Chosen so that f(1) = 1 and f(-1) = -1 with the steepest slope near the origin
    (LeCun et al., "Efficient BackProp", 1998).
    """
    return 1.7159 * keras.ops.tanh(x * (2.0 / 3.0))


@keras.saving.register_keras_serializable(package="bench")  # type: ignore[untyped-decorator]
def lecun_tanh(x: Any) -> Any:
    """LeCun's scaled tanh with a small linear term, ``1.7159 * tanh(2x / 3) + 0.01 x``.

    The linear term keeps a gradient where the tanh saturates ("Efficient BackProp",
    1998, section 4.4), the version the course's deep-MLP experiments use.
    """
    return 1.7159 * keras.ops.tanh(x * (2.0 / 3.0)) + 0.01 * x


_OURS: dict[str, Callable[[Any], Any]] = {"scaled_tanh": scaled_tanh, "lecun_tanh": lecun_tanh}


def resolve_activation(name: str) -> str | Callable[[Any], Any]:
    """Return what ``keras.layers.Activation`` accepts for an activation name.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ACTIVATIONS`.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"activation={name!r} is not supported; valid: {', '.join(ACTIVATIONS)}.")
    return _OURS.get(name, name)

"""Activation functions by name, including LeCun's scaled tanh."""

from __future__ import annotations

import keras

ACTIVATIONS = ("relu", "tanh", "sigmoid", "scaled_tanh", "elu", "selu", "gelu", "swish")


@keras.saving.register_keras_serializable(package="bench")
def scaled_tanh(x):
    """LeCun's scaled hyperbolic tangent, ``1.7159 * tanh(2x / 3)``.

    Chosen so that f(1) = 1 and f(-1) = -1 with the steepest slope near the origin
    (LeCun et al., "Efficient BackProp", 1998).
    """
    return 1.7159 * keras.ops.tanh(x * (2.0 / 3.0))


def resolve_activation(name: str):
    """Return what ``keras.layers.Activation`` accepts for an activation name.

    Raises
    ------
    ValueError
        If ``name`` is not one of :data:`ACTIVATIONS`.
    """
    if name not in ACTIVATIONS:
        raise ValueError(f"activation={name!r} is not supported; valid: {', '.join(ACTIVATIONS)}.")
    return scaled_tanh if name == "scaled_tanh" else name

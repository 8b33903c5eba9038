"""``--set name=value`` overrides: parsing, resolving short names, type checks."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from typing import Any

from sklearn.base import BaseEstimator
from sklearn.pipeline import Pipeline

from bench.errors import UsageError

# scikeras routes these prefixes to Keras (optimizer__learning_rate=...), so they are
# valid even though get_params() does not list them until they are set.
ROUTED_PREFIXES = ("optimizer__", "loss__", "compile__", "fit__", "predict__", "callbacks__")
# scikeras plumbing: settable, but not worth listing when a user mistypes a name.
UNLISTED = {"model", "build_fn", "callbacks", "warm_start", "run_eagerly", "metrics"}
UNLISTED |= {"validation_batch_size", "class_weight", "loss", "verbose", "memory"}


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``"name=value"``; the value is a Python literal, or else a string."""
    name, sep, raw = text.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--set expects name=value, got '{text}'; e.g. --set dropout=0.3")
    return name.strip(), parse_value(raw.strip())


def parse_value(raw: str) -> Any:
    """``"0.3"`` -> 0.3, ``"(300, 30)"`` -> (300, 30), ``"adam"`` -> "adam"."""
    try:
        return ast.literal_eval(raw)
    except (ValueError, SyntaxError):
        return raw


def tunable_params(pipeline: Pipeline) -> dict[str, Any]:
    """The pipeline's parameters a user can set: plain values, not whole estimators."""
    return {
        name: value
        for name, value in pipeline.get_params(deep=True).items()
        if "__" in name and not isinstance(value, BaseEstimator)
    }


def shown_params(pipeline: Pipeline) -> dict[str, Any]:
    """:func:`tunable_params` less the wrapper plumbing (:data:`UNLISTED`): what a
    user chose or could change, for a run's parameters."""
    return {
        name: value
        for name, value in tunable_params(pipeline).items()
        if name.rsplit("__", 1)[-1] not in UNLISTED
    }


def all_params(pipeline: Pipeline) -> dict[str, str]:
    """Every parameter of the pipeline and its steps, flattened, as text (a build
    function or callback by its repr): nothing lost from a run's record."""
    return {
        name: value if isinstance(value, str) else repr(value)
        for name, value in pipeline.get_params(deep=True).items()
        if "__" in name
    }


def resolve_overrides(pipeline: Pipeline, assignments: Iterable[str]) -> dict[str, Any]:
    """Turn ``--set`` texts into full pipeline parameter names with checked values.

    A short name (``dropout``) matches the one parameter ending in ``__dropout``.

    Raises
    ------
    UsageError
        For an unknown or ambiguous name, or a value of the wrong type.
    """
    params = tunable_params(pipeline)
    resolved = {}
    for text in assignments:
        name, value = parse_assignment(text)
        full = _resolve_name(name, params, pipeline.steps[-1][0])
        per_layer = _is_per_layer(pipeline, full)
        resolved[full] = _checked_value(name, value, params.get(full), per_layer=per_layer)
    return resolved


def _resolve_name(name: str, params: Mapping[str, Any], classifier_step: str) -> str:
    if name in params:
        return name
    if name.startswith(ROUTED_PREFIXES):
        return f"{classifier_step}__{name}"
    if name.startswith(f"{classifier_step}__") and name.split("__", 1)[1].startswith(
        ROUTED_PREFIXES
    ):
        return name
    matches = [full for full in params if full.endswith(f"__{name}")]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise UsageError(f"parameter '{name}' is ambiguous; use one of: {', '.join(matches)}")
    listed = {full.split("__", 1)[1] for full in params} - UNLISTED
    valid = sorted(listed | {"optimizer__learning_rate"})
    raise UsageError(f"unknown parameter '{name}'; valid: {', '.join(valid)}")


def _is_per_layer(pipeline: Pipeline, full: str) -> bool:
    """Whether ``full`` (``clf__pool``) takes one value or one per layer, as the
    estimator's ``per_layer_params`` says."""
    step, _, name = full.partition("__")
    estimator = pipeline.named_steps.get(step)
    return name in getattr(estimator, "per_layer_params", ())


def _checked_value(name: str, value: Any, default: Any, *, per_layer: bool = False) -> Any:
    if default is None:
        return value
    if per_layer:
        checked = _per_layer_value(value, default)
        if checked is not None:
            return checked
    # True is an int to Python, but epochs=True or batch_norm=1 is a mistake.
    if isinstance(value, bool) == isinstance(default, bool):
        if isinstance(value, type(default)):
            return value
        if isinstance(default, float) and isinstance(value, int):
            return float(value)
        if isinstance(default, tuple) and isinstance(value, list):
            return tuple(value)
    raise UsageError(f"--set {name}={value!r}: expected {type(default).__name__} like {default!r}")


def _per_layer_value(value: Any, default: Any) -> Any:
    """``value`` as one setting for every layer or a tuple of one per layer, when it is
    of the default's kind (pool=2 or pool=(1, 2, 1, 2) where the default is 2); None
    otherwise."""
    sample = default[0] if isinstance(default, tuple | list) and default else default
    kind = type(sample)
    values = value if isinstance(value, tuple | list) else (value,)
    if not values or not all(_of_kind(each, kind) for each in values):
        return None
    if isinstance(value, tuple | list):
        return tuple(kind(each) for each in value)
    return kind(value)


def _of_kind(value: Any, kind: type) -> bool:
    # True is an int to Python, but pool=True is a mistake; an int is a fine float.
    if isinstance(value, bool) != (kind is bool):
        return False
    return isinstance(value, kind) or (kind is float and isinstance(value, int))

"""A benchmark's pipeline with ``--set`` overrides applied, checked before any data.

The network is built (not trained) on blank images of the dataset's shape, so a
value the estimators reject or a topology that cannot be built fails at once, in the
estimators' own words, and the weights can be counted without loading the data.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from bench.benchmarks.overrides import resolve_overrides
from bench.benchmarks.registry import Benchmark
from bench.data.catalog import dataset_geometry
from bench.errors import UsageError


def configured_pipeline(
    benchmark: Benchmark,
    *,
    pixel_max: float,
    seed: int,
    epochs: int | None,
    assignments: Iterable[str] = (),
) -> tuple[Pipeline, dict[str, Any]]:
    """The benchmark's pipeline with ``--set`` overrides applied and checked.

    Returns
    -------
    pipeline : Pipeline
        Unfitted.
    overrides : dict
        Full parameter names -> values, as set on ``pipeline``.

    Raises
    ------
    UsageError
        For an unknown or ambiguous name, or a value of the wrong type, or epochs
        given for a baseline.
    """
    if epochs is not None:
        check_trains_by_epoch(benchmark, "--epochs")
    pipeline = benchmark.build(pixel_max=pixel_max, seed=seed, epochs=epochs)
    overrides = resolve_overrides(pipeline, assignments)
    pipeline.set_params(**overrides)
    return pipeline, overrides


def check_trains_by_epoch(benchmark: Benchmark, option: str) -> None:
    """Refuse an epoch-only option (``--epochs``, pruning) for a baseline.

    Raises
    ------
    UsageError
        If ``benchmark`` is a classic scikit-learn classifier fitted in one call.
    """
    if not benchmark.trains_by_epoch:
        classifier = type(benchmark.build(pixel_max=255.0, seed=None)[-1]).__name__
        raise UsageError(
            f"{benchmark.name} is a scikit-learn baseline ({classifier}) fitted in one call, "
            f"not epoch by epoch: {option} does not apply to it; leave it out"
        )


def check_buildable(pipeline: Pipeline, benchmark: Benchmark) -> None:
    """Build the configured network on blank images, before any data is loaded.

    Raises
    ------
    UsageError
        If a value the estimators reject (an unknown activation or schedule, a
        topology that shrinks the image to nothing) was set; the message is theirs.
    """
    if benchmark.trains_by_epoch:
        built_network(pipeline, benchmark)
        return
    # A baseline has no network to build; fitting it on the blank images (instant)
    # runs scikit-learn's own parameter checks.
    try:
        clone(pipeline).fit(*_blank_images(benchmark))
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None


def built_network(pipeline: Pipeline, benchmark: Benchmark, *, n_classes: int | None = None):
    """A copy of the pipeline's classifier with its network built (not trained) on
    blank images of the benchmark's dataset (of ``n_classes`` classes: the user's data
    may have other classes than the dataset's).

    Raises
    ------
    UsageError
        If a value the estimators reject was set (see :func:`check_buildable`), or
        the benchmark is a scikit-learn baseline, which has no network.
    """
    if not benchmark.trains_by_epoch:
        classifier = type(pipeline[-1]).__name__
        raise UsageError(
            f"{benchmark.name} is a scikit-learn baseline ({classifier}), not a network: "
            "it has no layers to describe; its settings are in `bench list` and each run"
        )
    try:
        return _built_on_blank_images(clone(pipeline), benchmark, n_classes)
    except (ValueError, TypeError) as error:
        raise UsageError(str(error)) from None


def count_weights(benchmark: Benchmark) -> int:
    """Weights of the benchmark's network, built (not trained) on blank images."""
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    return _built_on_blank_images(pipeline, benchmark).count_weights()


def _built_on_blank_images(pipeline: Pipeline, benchmark: Benchmark, n_classes: int | None = None):
    X, y = _blank_images(benchmark, n_classes)
    features = pipeline[:-1].fit_transform(X, y)
    return pipeline[-1].initialize(features, y)


def _blank_images(
    benchmark: Benchmark, n_classes: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """One blank image of the dataset's shape per class, each with one lit pixel."""
    shape, classes = dataset_geometry(benchmark.dataset)
    n_classes = n_classes or classes
    X = np.zeros((n_classes, *shape), dtype=np.uint8)
    X.reshape(n_classes, -1)[:, 0] = np.arange(n_classes)  # HOG needs some gradient
    return X, np.arange(n_classes)

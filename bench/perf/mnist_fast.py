"""Time to accuracy: ``mnist-fast`` trained with three seeds, end to end as ``bench run``.

The figures are the mean test accuracy and the longest training time (``fit``,
validation passes included) of the three runs, logged to a throw-away MLflow store.
"""

from __future__ import annotations

import statistics

from bench.perf import Figure, scratch_tracking_store

ACCURACY_TARGET = 0.990
SECONDS_TARGET = 30.0
SEEDS = (0, 1, 2)


def measure(quick: bool = False) -> list[Figure]:
    """Mean test accuracy over seeds 0-2 and the slowest fit (one seed, one epoch when
    quick: a smoke run of the code path, not the figure)."""
    from bench.use_cases.run import run_benchmark

    seeds = SEEDS[:1] if quick else SEEDS
    epochs = 1 if quick else None
    with scratch_tracking_store("bench-perf-fast-"):
        outcomes = [run_benchmark("mnist-fast", seed=seed, epochs=epochs).outcome for seed in seeds]
    accuracies = [outcome.test.accuracy for outcome in outcomes]
    seconds = [outcome.fit_seconds for outcome in outcomes]
    runs = ", ".join(
        f"seed {seed}: {acc:.4f} in {sec:.1f} s"
        for seed, acc, sec in zip(seeds, accuracies, seconds, strict=True)
    )
    backend = _backend()
    return [
        Figure(
            "mnist-fast",
            "mean test accuracy",
            statistics.mean(accuracies),
            ACCURACY_TARGET,
            "",
            True,
            f"{runs} ({backend})",
        ),
        Figure(
            "mnist-fast",
            "slowest training",
            max(seconds),
            SECONDS_TARGET,
            " s",
            False,
            f"fit incl. validation, {len(seeds)} seed(s), {backend}",
        ),
    ]


def _backend() -> str:
    import keras

    return f"Keras {keras.backend.backend()} backend"

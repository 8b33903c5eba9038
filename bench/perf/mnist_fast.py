"""Time to accuracy: ``mnist-fast`` trained with three seeds, end to end as ``bench run``,
against the bare seed-CNN script (``bench.perf.bare_cnn``, 10 epochs) timed in the same
check, before and after the seeds so that drift in the machine's speed hits both.

The figures are the mean test accuracy of the three runs and their longest training
time (``fit``, validation passes included) over the bare script's wall time (the
faster of its two runs), logged to a throw-away MLflow store.
"""

from __future__ import annotations

import statistics
import tempfile

from bench.perf import Figure, scratch_tracking_store
from bench.perf.harness import bare_cnn_command, seconds_list, timed

ACCURACY_TARGET = 0.990
RATIO_TARGET = 0.15
SEEDS = (0, 1, 2)
BARE_EPOCHS = 10


def measure(quick: bool = False) -> list[Figure]:
    """Mean test accuracy over seeds 0-2 and the slowest fit over the bare script's
    time (one seed, one epoch each when quick: a smoke run of the code path, not the
    figure)."""
    seeds = SEEDS[:1] if quick else SEEDS
    epochs = 1 if quick else None
    with tempfile.TemporaryDirectory(prefix="bench-perf-fast-") as folder:
        bare = bare_cnn_command(folder, 1 if quick else BARE_EPOCHS)
        bare_seconds = [timed(bare, cwd=folder)]
        outcomes = _seeds(seeds, epochs)
        if not quick:
            bare_seconds.append(timed(bare, cwd=folder))
    accuracies = [outcome.test.accuracy for outcome in outcomes]
    seconds = [outcome.fit_seconds for outcome in outcomes]
    runs = ", ".join(
        f"seed {seed}: {acc:.4f} in {sec:.1f} s"
        for seed, acc, sec in zip(seeds, accuracies, seconds, strict=True)
    )
    backend = _backend()
    ratio_detail = (
        f"slowest fit {max(seconds):.1f} s (validation passes included); bare seed-CNN "
        f"script, {bare[-1]} epochs, {seconds_list(bare_seconds)} s; {backend}"
    )
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
            "slowest training / bare seed-CNN script",
            max(seconds) / min(bare_seconds),
            RATIO_TARGET,
            "x",
            False,
            ratio_detail,
        ),
    ]


def _seeds(seeds, epochs):
    from bench.use_cases.run import run_benchmark

    with scratch_tracking_store("bench-perf-fast-"):
        return [run_benchmark("mnist-fast", seed=seed, epochs=epochs).outcome for seed in seeds]


def _backend() -> str:
    import keras

    return f"Keras {keras.backend.backend()} backend"

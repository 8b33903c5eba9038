"""Harness overhead: ``bench run mnist-cnn`` end to end against a bare Keras script.

Both run as fresh processes (imports, data, fit, evaluation; bench also does all its
MLflow logging) on the same arrays for the same epochs, alternated bare, bench,
bench, bare so that drift in the machine's speed hits both alike.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.data import load_dataset
from bench.perf import Figure

TARGET = 1.10


def measure(quick: bool = False) -> list[Figure]:
    """Wall-time ratio bench / bare for mnist-cnn (10 epochs; 1 epoch when quick)."""
    epochs = 1 if quick else 10
    order = ("bare", "bench") if quick else ("bare", "bench", "bench", "bare")
    with tempfile.TemporaryDirectory(prefix="bench-perf-") as folder:
        commands = {
            "bare": bare_cnn_command(folder, epochs),
            "bench": [sys.executable, "-m", "bench", "run", "mnist-cnn", "--epochs", str(epochs)],
        }
        seconds: dict[str, list[float]] = {"bare": [], "bench": []}
        for kind in order:
            seconds[kind].append(timed(commands[kind], cwd=folder))
    bare, bench = min(seconds["bare"]), min(seconds["bench"])
    bench_text, bare_text = seconds_list(seconds["bench"]), seconds_list(seconds["bare"])
    detail = f"{epochs} epochs; bench {bench_text} s, bare Keras {bare_text} s"
    return [Figure("harness", "bench run / bare Keras", bench / bare, TARGET, "x", False, detail)]


def bare_cnn_command(folder: str, epochs: int) -> list[str]:
    """The bare seed-CNN script's command, on MNIST's arrays written into ``folder``."""
    dataset = load_dataset("mnist")  # also fills the array cache bench run will read
    arrays = Path(folder) / "mnist.npz"
    np.savez(
        arrays,
        X_train=dataset.X_train,
        y_train=dataset.y_train,
        X_test=dataset.X_test,
        y_test=dataset.y_test,
    )
    return [sys.executable, "-m", "bench.perf.bare_cnn", str(arrays), str(epochs)]


def timed(command: list[str], *, cwd: str) -> float:
    """Wall seconds of ``command`` as a fresh process in ``cwd``, bench importable."""
    env = {**os.environ, "PYTHONPATH": repo_root()}
    env.pop("MLFLOW_TRACKING_URI", None)  # the run's store lands in the temp folder
    started = time.perf_counter()
    subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def repo_root() -> str:
    return str(Path(__file__).resolve().parents[2])


def seconds_list(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)

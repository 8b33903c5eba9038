"""Which pruner gives the most validation accuracy per CPU-hour: ``bench study`` with
each pruner for the same wall-clock budget, one after the other, on ``mnist-mlp`` and
``fashion-cnn``.

Each contender is the real command (default options but the pruner, ``--timeout`` the
budget, no refit) in a fresh folder; the figure is the best validation accuracy its
study reached within the budget, and the default pruner must reach the best of them
(within 0.002, the noise between seeds on a 6,000-image validation split). Not part of
``bench perf``'s default checks: it takes about an hour (``--quick``: 6 minutes, a smoke
run, not the figure).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.perf import Figure

CHECK = "search"
# benchmark -> budget in seconds
BUDGETS = {"mnist-mlp": 480, "fashion-cnn": 720}
QUICK_BUDGETS = {"mnist-mlp": 90, "fashion-cnn": 90}
PRUNERS = ("hyperband", "sha", "median")
TOLERANCE = 0.002


def measure(quick: bool = False) -> list[Figure]:
    """The best validation accuracy each pruner reached, per benchmark."""
    from studies.options import DEFAULT_PRUNER

    figures = []
    for benchmark, budget in (QUICK_BUDGETS if quick else BUDGETS).items():
        best = {pruner: _best_value(benchmark, pruner, budget) for pruner in PRUNERS}
        detail = f"{budget // 60} min each on {benchmark}: " + ", ".join(
            f"{pruner} {value:.4f}" for pruner, value in best.items()
        )
        figures.append(
            Figure(
                CHECK,
                f"{benchmark}: default ({DEFAULT_PRUNER}) less the best pruner",
                best[DEFAULT_PRUNER] - max(best.values()),
                -TOLERANCE,
                "",
                True,
                detail,
            )
        )
    return figures


def _best_value(benchmark: str, pruner: str, budget: int) -> float:
    import optuna

    from studies.storage import open_storage

    with tempfile.TemporaryDirectory(prefix="bench-perf-search-") as folder:
        command = [sys.executable, "-m", "bench", "study", benchmark, "--trials", "1000"]
        command += ["--timeout", str(budget), "--pruner", pruner, "--no-refit"]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        env.pop("MLFLOW_TRACKING_URI", None)  # the study's store lands in the temp folder
        done = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"bench study {benchmark} --pruner {pruner} failed: {last}")
        journal = Path(folder) / "mlruns" / "optuna.journal"
        study = optuna.load_study(study_name=benchmark, storage=open_storage(str(journal)))
        return study.best_value

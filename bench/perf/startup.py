"""Fixed cost per command: what ``bench run`` adds around training, and how fast
``bench list`` answers.

``bench run digits-mlp --epochs 1`` and the bare script ``bench/perf/bare_mlp.py``
(which imports Keras and MLflow and trains the same network on the same split) run
as fresh processes, three times each, alternated; the best of each side counts. Each
one's fixed cost is its wall time less its training (``fit_seconds``, which bench logs
and the script prints), so the figure compares what surrounds training: imports, the
store, data, reports, model logging. Both sides run in a folder whose store already
exists, as a user's does after the first run (creating the store is a one-off second).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.perf import Figure

RATIO_TARGET = 1.5
LIST_TARGET_S = 1.0
_FIT = re.compile(r"fit_seconds (\d+\.\d+)")


def measure(quick: bool = False) -> list[Figure]:
    """Fixed-cost ratio bench / bare script, and ``bench list``'s wall time."""
    order = ("bare", "bench") if quick else ("bare", "bench", "bench", "bare", "bare", "bench")
    costs: dict[str, list[float]] = {"bare": [], "bench": []}
    with tempfile.TemporaryDirectory(prefix="bench-perf-startup-") as folder:
        _timed(_bench_run_command(), folder)  # creates the store, as a first run does
        for side in order:
            costs[side].append(_fixed_cost(side, folder))
        list_seconds = min(_timed([sys.executable, "-m", "bench", "list"], folder)[0] for _ in "12")
    bare, bench = min(costs["bare"]), min(costs["bench"])
    detail = (
        f"digits-mlp, 1 epoch, wall less training; bench {_list(costs['bench'])} s, "
        f"bare Keras + MLflow script {_list(costs['bare'])} s"
    )
    return [
        Figure(
            "startup", "bench run fixed cost / bare", bench / bare, RATIO_TARGET, "x", False, detail
        ),
        Figure(
            "startup",
            "bench list",
            list_seconds,
            LIST_TARGET_S,
            " s",
            False,
            "every benchmark's weight count, from the declarations (best of 2)",
        ),
    ]


def _fixed_cost(side: str, folder: str) -> float:
    if side == "bare":
        wall, output = _timed([sys.executable, "-m", "bench.perf.bare_mlp", "1"], folder)
        found = _FIT.search(output)
        assert found is not None, f"no fit time in the bare script's output: {output!r}"
        return wall - float(found.group(1))
    wall, _ = _timed(_bench_run_command(), folder)
    return wall - _latest_fit_seconds(Path(folder))


def _bench_run_command() -> list[str]:
    return [sys.executable, "-m", "bench", "run", "digits-mlp", "--epochs", "1"]


def _timed(command: list[str], cwd: str) -> tuple[float, str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("MLFLOW_TRACKING_URI", None)  # the store lands in the temp folder
    started = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, check=True, capture_output=True, text=True)
    return time.perf_counter() - started, done.stdout


def _latest_fit_seconds(folder: Path) -> float:
    from bench.tracking.store import open_client

    client = open_client(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("digits-mlp")
    assert experiment is not None  # the bench run above made it
    (latest,) = client.search_runs(
        [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=1
    )
    return latest.data.metrics["fit_seconds"]


def _list(values: list[float]) -> str:
    return ", ".join(f"{value:.1f}" for value in values)

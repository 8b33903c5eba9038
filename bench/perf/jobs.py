"""``--jobs 2`` against ``--jobs 1``: trials completed per second on the same work.

Each side is a fresh process (thread pools are sized at start-up) running the same
identical trials through the study objective, with MLflow child runs as in
``bench study``; the sides alternate 1, 2, 2, 1.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.perf import Figure
from bench.perf.harness import _repo_root

TARGET = 1.5


def measure(quick: bool = False) -> list[Figure]:
    """Speed-up of trial throughput with 2 workers over 1."""
    trials = 4 if quick else 6
    order = (1, 2) if quick else (1, 2, 2, 1)
    rates = {1: [], 2: []}
    with tempfile.TemporaryDirectory(prefix="bench-perf-jobs-") as folder:
        for run, jobs in enumerate(order):
            side = Path(folder) / str(run)
            side.mkdir()
            result = _worker(jobs, trials, side)
            rates[jobs].append(result["complete"] / result["seconds"])
    speedup = max(rates[2]) / max(rates[1])
    detail = (
        f"{trials} identical mnist-mlp trials; trials/min with 1 job "
        f"{_per_minute(rates[1])}, with 2 jobs {_per_minute(rates[2])}"
    )
    return [Figure("jobs", "--jobs 2 / --jobs 1 throughput", speedup, TARGET, "x", True, detail)]


def _worker(jobs: int, trials: int, folder: Path) -> dict:
    command = [sys.executable, "-m", "bench.perf.jobs_worker", str(jobs), str(trials), str(folder)]
    env = {**os.environ, "PYTHONPATH": _repo_root()}
    done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _per_minute(rates: list[float]) -> str:
    return ", ".join(f"{rate * 60:.1f}" for rate in rates)

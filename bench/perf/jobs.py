"""``bench study`` with its default (one trial per core, as memory allows: 2 on a
2-core machine) against ``--jobs 1``, the default before: trials completed per second.

Each side is the real command in a fresh folder, on a study that already holds the
same identical trials (the mnist-mlp configuration for 2 epochs on the whole
training split), so both sides do the same work; the sides alternate 1, 2, 2, 1.
Throughput runs from the first trial's start to the last one's end, so it includes
the worker process's start-up but not the data loading before the first trial.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.perf import CommandFailed, Figure
from bench.perf.harness import repo_root
from bench.runtime.backend import JOBS_VARIABLE, machine_jobs

TARGET = 1.5
BENCHMARK = "mnist-mlp"
EPOCHS = 2
STUDY = "perf-jobs"


def measure(quick: bool = False) -> list[Figure]:
    """Speed-up of trial throughput with the default number of trials at once over
    one at a time."""
    trials = 4 if quick else 12
    order: tuple[int | None, ...] = (1, None) if quick else (1, None, None, 1)
    rates: dict[int | None, list[float]] = {1: [], None: []}
    with tempfile.TemporaryDirectory(prefix="bench-perf-jobs-") as folder:
        for run, jobs in enumerate(order):
            side = Path(folder) / str(run)
            side.mkdir()
            rates[jobs].append(_trials_per_second(jobs, trials, side))
    speedup = max(rates[None]) / max(rates[1])
    default = min(_machine_default(), trials)
    detail = (
        f"{trials} identical {BENCHMARK} trials; trials/min with --jobs 1 "
        f"{_per_minute(rates[1])}, with the default ({default} at once here) "
        f"{_per_minute(rates[None])}"
    )
    return [Figure("jobs", "default / --jobs 1 throughput", speedup, TARGET, "x", True, detail)]


def _machine_default() -> int:
    """The default a user of this machine gets, whatever this process's environment
    says (``BENCH_JOBS``)."""
    saved = os.environ.pop(JOBS_VARIABLE, None)
    try:
        return machine_jobs()
    finally:
        if saved is not None:
            os.environ[JOBS_VARIABLE] = saved


def _trials_per_second(jobs: int | None, trials: int, folder: Path) -> float:
    """Throughput of ``bench study --jobs JOBS``, or of its default when None."""
    study = _study_of_identical_trials(trials, folder)
    command = [sys.executable, "-m", "bench", "study", BENCHMARK, "--trials", str(trials)]
    command += ["--study-name", STUDY, "--pruner", "none"]
    command += ["--max-epochs", str(EPOCHS), "--no-refit"]
    command += [] if jobs is None else ["--jobs", str(jobs)]
    env = {**os.environ, "PYTHONPATH": repo_root()}
    env.pop("MLFLOW_TRACKING_URI", None)  # the side's store lands in its folder
    env.pop(JOBS_VARIABLE, None)  # the default as a user gets it
    ran = subprocess.run(command, cwd=folder, env=env, capture_output=True, text=True)
    side = "bench study" + ("" if jobs is None else f" --jobs {jobs}")
    if ran.returncode != 0:
        raise CommandFailed(side, ran.stderr)
    done = [trial for trial in study.get_trials() if trial.state.name == "COMPLETE"]
    if len(done) != trials:
        raise RuntimeError(f"{side} completed {len(done)} of {trials} trials")
    start = min(trial.datetime_start for trial in done)
    end = max(trial.datetime_complete for trial in done)
    return len(done) / (end - start).total_seconds()


def _study_of_identical_trials(trials: int, folder: Path):
    import optuna

    from bench.benchmarks import get_benchmark
    from studies.spaces import baseline_params
    from studies.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    storage = open_storage(str(folder / "mlruns" / "optuna.journal"))
    study = optuna.create_study(study_name=STUDY, storage=storage, direction="maximize")
    benchmark = get_benchmark(BENCHMARK)
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    for _ in range(trials):
        study.enqueue_trial(
            baseline_params(pipeline, factory=benchmark.pipeline, image_shape=(28, 28))
        )
    return study


def _per_minute(rates: list[float]) -> str:
    return ", ".join(f"{rate * 60:.1f}" for rate in rates)

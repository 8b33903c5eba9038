"""Which pruner and sampler give the most validation accuracy per CPU-hour: ``bench
study`` with each pruner (TPE sampling), and with random sampling (the default
pruner), for the same wall-clock budget, the four side by side, on ``mnist-mlp`` and
then ``fashion-cnn``.

Each contender is the real command (default options but the pruner or sampler,
``--timeout`` the budget, one trial at a time, no refit) in a fresh folder, one
TensorFlow thread each, all started together: on a shared, noisy machine a slow spell
then slows every contender alike, where one after the other it would land on one of
them. The figure is the best validation accuracy each study reached within the
budget, and the default pruner must reach the best of the pruners (within 0.002, the
noise between seeds on a 6,000-image validation split); the detail gives each one's
trials, CPU minutes, and the CPU-minutes until a sampled trial beat every enqueued
configuration, or that none did. Not part of ``bench perf``'s default checks: it takes
45 minutes (``--quick``: 5 minutes, a smoke run, not the figure).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from bench.perf import CommandFailed, Figure

CHECK = "search"
# benchmark -> budget in seconds for each of the three contenders running at once
BUDGETS = {"mnist-mlp": 900, "fashion-cnn": 1800}
QUICK_BUDGETS = {"mnist-mlp": 150, "fashion-cnn": 150}
PRUNERS = ("hyperband", "sha", "median")
# (pruner, sampler): each pruner with TPE, and the default pruner with random sampling.
CONTENDERS = (*((pruner, "tpe") for pruner in PRUNERS), ("hyperband", "random"))
TOLERANCE = 0.002


@dataclass(frozen=True)
class Outcome:
    """What one contender's study reached in its budget."""

    best: float
    trials: int
    pruned: int
    cpu_minutes: float
    minutes_to_beat_enqueued: float | None = None

    def __str__(self) -> str:
        beaten = (
            "no sampled trial beat the enqueued ones"
            if self.minutes_to_beat_enqueued is None
            else f"a sampled trial beat the enqueued ones after "
            f"{self.minutes_to_beat_enqueued:.1f} CPU-min"
        )
        return (
            f"{self.best:.4f} ({self.trials} trials, {self.pruned} pruned, "
            f"{self.cpu_minutes:.1f} CPU-min; {beaten})"
        )


def measure(quick: bool = False) -> list[Figure]:
    """The best validation accuracy each pruner reached, per benchmark."""
    from studies.options import DEFAULT_PRUNER

    figures = []
    for benchmark, budget in (QUICK_BUDGETS if quick else BUDGETS).items():
        outcomes = _side_by_side(benchmark, budget)
        best = {pruner: outcomes[pruner, "tpe"].best for pruner in PRUNERS}
        detail = f"{budget / 60:g} min each, side by side, on {benchmark}: " + "; ".join(
            f"{pruner} + {sampler} {outcome}" for (pruner, sampler), outcome in outcomes.items()
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


def _side_by_side(benchmark: str, budget: int) -> dict[tuple[str, str], Outcome]:
    with tempfile.TemporaryDirectory(prefix="bench-perf-search-") as scratch:
        folders = {pair: Path(scratch) / "-".join(pair) for pair in CONTENDERS}
        started = {}
        try:
            for pair, folder in folders.items():
                folder.mkdir()
                started[pair] = _start(benchmark, pair, budget, folder)
            cpu = {
                pair: _wait(
                    process,
                    folders[pair],
                    f"bench study {benchmark} --pruner {pair[0]} --sampler {pair[1]}",
                )
                for pair, process in started.items()
            }
        finally:  # one failed, or Ctrl-C: the others stop too, closing their runs
            for process in started.values():
                if process.returncode is None:
                    process.terminate()
                    process.wait()
        return {pair: _outcome(benchmark, folders[pair], cpu[pair]) for pair in CONTENDERS}


def _start(
    benchmark: str, contender: tuple[str, str], budget: int, folder: Path
) -> subprocess.Popen:
    pruner, sampler = contender
    command = [sys.executable, "-m", "bench", "study", benchmark, "--trials", "1000"]
    command += ["--timeout", str(budget), "--pruner", pruner, "--sampler", sampler]
    command += ["--no-refit", "--jobs", "1"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    env.pop("MLFLOW_TRACKING_URI", None)  # the study's store lands in its own folder
    # One thread each, so three contenders share two cores alike.
    env.update(TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1", OMP_NUM_THREADS="1")
    # Into a file, not a pipe: a pipe nobody reads until the end could fill and stall it.
    with open(folder / "stderr.txt", "w") as stderr:
        return subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=stderr
        )


def _wait(process: subprocess.Popen, folder: Path, what: str) -> float:
    """Wait for one contender; its CPU minutes (user + system, its children included)."""
    # os.wait4 reports the CPU time of this one child, where getrusage would sum them.
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise CommandFailed(what, (folder / "stderr.txt").read_text())
    return (usage.ru_utime + usage.ru_stime) / 60


def _outcome(benchmark: str, folder: Path, cpu_minutes: float) -> Outcome:
    import optuna

    from studies.storage import open_storage
    from studies.trials import search_progress

    journal = folder / "mlruns" / "optuna.journal"
    study = optuna.load_study(study_name=benchmark, storage=open_storage(str(journal)))
    states = [trial.state for trial in study.trials]
    finished = optuna.trial.TrialState.COMPLETE in states
    return Outcome(
        study.best_value if finished else float("nan"),  # nan: no trial finished in time
        len(states),
        states.count(optuna.trial.TrialState.PRUNED),
        cpu_minutes,
        search_progress(study).minutes_to_beat_given,
    )

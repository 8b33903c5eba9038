"""A study's trials as ``bench study`` counts, tabulates and re-runs them."""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence

import optuna
import pandas as pd

from bench.benchmarks import Benchmark, benchmark_origin
from studies.stale import replaced_trials

RUNNING = (optuna.trial.TrialState.RUNNING,)
COMPLETE = (optuna.trial.TrialState.COMPLETE,)


def count_finished(study: optuna.Study) -> int:
    """Trials that are complete, pruned or failed: what ``--trials`` counts.

    A trial failed because its worker vanished does not count: its retry does.
    """
    trials = study.get_trials(deepcopy=False)
    replaced = replaced_trials(trials, study.user_attrs)
    return sum(trial.state.is_finished() and trial.number not in replaced for trial in trials)


def count_claimed(study: optuna.Study) -> int:
    """Finished trials (as :func:`count_finished`) plus trials running right now."""
    return count_finished(study) + len(study.get_trials(deepcopy=False, states=RUNNING))


class StopAtTotal:
    """Optuna callback: stops this process once the finished trials, plus those other
    processes on the same study are still running, reach the requested total."""

    def __init__(self, total: int):
        self.total = total

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if count_claimed(study) >= self.total:
            study.stop()


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value(s), parameters."""
    values = "value" if len(study.directions) == 1 else "values"
    table = study.trials_dataframe(attrs=("number", "state", values, "params"))
    return table.rename(columns=lambda column: column.removeprefix("params_"))


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best complete trial; for a Pareto front, its most accurate member."""
    if not study.get_trials(deepcopy=False, states=COMPLETE):
        return None
    if len(study.directions) == 1:
        return study.best_trial
    return max(study.best_trials, key=lambda trial: trial.values[0])


def rerun_command(
    benchmark: Benchmark, trial: optuna.trial.FrozenTrial, *, data_options: Sequence[str] = ()
) -> str:
    """``python -m bench run NAME --set ...`` reproducing the trial's configuration: a
    ``--set`` for each setting that differs from the benchmark's own, and the
    ``--benchmarks`` file that declares it, if it is not bench's, and ``data_options``
    (``--data PATH``) where the study searched on the user's data."""
    settings = trial.user_attrs.get("pipeline_params", {})
    defaults = benchmark.build(pixel_max=255.0, seed=0).get_params(deep=True)
    args = ["python", "-m", "bench", "run", benchmark.name]
    try:
        origin = benchmark_origin(benchmark.name)
    except KeyError:  # a Benchmark built in code and never registered: no file to name
        origin = ""
    if origin.endswith(".py"):  # declared in the user's file, which the rerun needs too
        args += ["--benchmarks", origin]
    args += data_options  # --data PATH: the user's images the study searched on
    for key, value in settings.items():
        if key in defaults and defaults[key] == value:
            continue
        args += ["--set", f"{key}={value!r}" if not isinstance(value, str) else f"{key}={value}"]
    return shlex.join(args)


class BestSoFar:
    """Optuna callback: the best value so far after each finished trial, against the
    seconds since the search began (for single-objective studies)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.points: list[tuple[float, float]] = []

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        best = best_trial(study)
        if best is not None and len(study.directions) == 1:
            self.points.append((time.monotonic() - self.started, best.values[0]))


def baseline_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The completed trial that ran the benchmark's own configuration, if any."""
    for trial in study.get_trials(deepcopy=False, states=COMPLETE):
        if trial.user_attrs.get("baseline"):
            return trial
    return None

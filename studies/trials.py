"""A study's trials as ``bench study`` counts, tabulates and re-runs them."""

from __future__ import annotations

import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass

import optuna
import pandas as pd

from bench.benchmarks import Benchmark, benchmark_origin
from studies.stale import GIVEN_ATTRS, replaced_trials

RUNNING = (optuna.trial.TrialState.RUNNING,)
COMPLETE = (optuna.trial.TrialState.COMPLETE,)
CPU_SECONDS_ATTR = "cpu_seconds"  # what a trial cost the process that ran it


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
    origin = benchmark_origin(benchmark.name)  # UNREGISTERED: built in code, no file
    if origin.endswith(".py"):  # declared in the user's file, which the rerun needs too
        args += ["--benchmarks", origin]
    args += data_options  # --data PATH: the user's images the study searched on
    for key, stored in settings.items():
        # Optuna stores the settings as JSON, which turns a tuple of layer widths into a
        # list: written back as the tuple a user types (and that the default is).
        value = tuple(stored) if isinstance(stored, list) else stored
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


def is_given(trial: optuna.trial.FrozenTrial | optuna.Trial) -> bool:
    """Whether the trial ran a configuration enqueued with the study (the benchmark's
    own, or a known-good one) rather than one the sampler chose."""
    return any(trial.user_attrs.get(name) for name in GIVEN_ATTRS)


@dataclass(frozen=True)
class SearchProgress:
    """What the search itself added, against the CPU time it spent.

    Attributes
    ----------
    cpu_minutes : list of float
        CPU minutes spent by the end of each finished trial, in the order they ended
        (every process of the study, pruned and failed trials included).
    best_sampled : list of float or None
        The best validation accuracy of a sampled trial so far at each of those points.
    best_given : float or None
        The best enqueued trial's value, with its number in ``best_given_trial``.
    minutes_to_beat_given : float or None
        CPU minutes until a sampled trial first beat every enqueued one; None if none did.
    values : list of float or None
        Each of those trials' value (None: pruned or failed), and in ``given`` whether
        it was enqueued.
    """

    cpu_minutes: list[float]
    best_sampled: list[float | None]
    best_given: float | None
    best_given_trial: int | None
    minutes_to_beat_given: float | None
    values: list[float | None]
    given: list[bool]


def search_progress(study: optuna.Study) -> SearchProgress:
    """The study's sampled-best-so-far against CPU minutes (single objective)."""
    ended = [
        (trial.datetime_complete, trial)
        for trial in study.get_trials(deepcopy=False)
        if trial.state.is_finished() and trial.datetime_complete is not None
    ]
    finished = [trial for _, trial in sorted(ended, key=lambda pair: pair[0])]
    scored = [(float(t.values[0]), t) for t in finished if t.state.name == "COMPLETE"]
    given = [(value, trial.number) for value, trial in scored if is_given(trial)]
    best_given = max(given, default=None)
    values = {trial.number: value for value, trial in scored}
    minutes: list[float] = []
    best_sampled: list[float | None] = []
    spent, so_far, beaten = 0.0, float("-inf"), None
    for trial in finished:
        spent += float(trial.user_attrs.get(CPU_SECONDS_ATTR, 0.0)) / 60
        if trial.number in values and not is_given(trial):
            so_far = max(so_far, values[trial.number])
            if beaten is None and best_given is not None and so_far > best_given[0]:
                beaten = spent
        minutes.append(spent)
        best_sampled.append(so_far if so_far > float("-inf") else None)
    return SearchProgress(
        cpu_minutes=minutes,
        best_sampled=best_sampled,
        best_given=best_given[0] if best_given else None,
        best_given_trial=best_given[1] if best_given else None,
        minutes_to_beat_given=beaten,
        values=[values.get(trial.number) for trial in finished],
        given=[is_given(trial) for trial in finished],
    )

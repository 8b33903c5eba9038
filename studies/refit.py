"""The end of a study: the best configuration refitted on the whole training split and
scored on the test set, once or once per seed (``--refit-repeats``).

The test set is read here and nowhere else in a study: the search only ever saw the
validation split.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import optuna

from bench.benchmarks import Benchmark
from bench.data import Dataset
from bench.tracking import vocabulary
from bench.tracking.artifacts import log_outcome, log_repeats
from bench.tracking.callbacks import EpochLogger
from bench.tracking.runs import TrackedRun, tracked_run
from bench.tracking.store import Client
from bench.training import RunOutcome, fit_and_score
from bench.use_cases.run import baseline_holdout, log_run_params, run_datasets
from studies.trials import best_trial, rerun_command


@dataclass(frozen=True, kw_only=True)
class Refit:
    """What refitting the best trial gave: one outcome per seed, and with several
    seeds the spread of the test scores (see :func:`bench.intervals.mean_interval`)."""

    trial: optuna.trial.FrozenTrial
    outcomes: dict[int, RunOutcome]
    spreads: dict[str, dict[str, float]] | None
    rerun_command: str

    @property
    def first(self) -> RunOutcome:
        return next(iter(self.outcomes.values()))


def refit_best(
    parent: TrackedRun,
    *,
    study: optuna.Study,
    benchmark: Benchmark,
    dataset: Dataset,
    seed: int,
    experiment: str,
    client: Client,
    repeats: int = 1,
    callbacks: Sequence[Any] = (),
    on_seed: Callable[[int, int, int], None] | None = None,
    data_options: Sequence[str] = (),
) -> Refit | None:
    """Refit the best trial of ``study`` (on ``benchmark``) and log the result on the
    study's ``parent`` run.

    The refit trains on the whole training split of ``dataset`` and is scored on its
    test set. With one repeat the parent run holds the refit itself (scores,
    artifacts, model); with several, each seed ``seed``, ``seed + 1``, ... is a child
    run of ``experiment`` tagged ``refit``, written through ``client``, and the parent
    holds the scores' spread as ``bench run --repeats`` logs it. ``callbacks`` (Keras)
    and ``on_seed(k, repeats, seed)`` show progress. Returns None when no trial
    finished.
    """
    trial = best_trial(study)
    if trial is None:
        return None
    # Epochs are not searched but set (the pruner's resource, or the benchmark's own for
    # trial 0): logged with the best trial's settings, `bench compare` shows them.
    settings = trial.user_attrs.get("pipeline_params", {})
    epochs = settings.get("clf__epochs", benchmark.epochs)  # None: a baseline
    parent.log_params(
        {f"best_{key}": value for key, value in trial.params.items()}
        | ({"best_epochs": epochs} if epochs is not None else {})
    )
    parent.log_metrics(
        {"best_value": trial.values[0], "best_val_accuracy": trial.values[0]}
        | {"best_trial": trial.number}
    )
    outcomes = {}
    for k, each in enumerate(range(seed, seed + repeats), start=1):
        if on_seed is not None:
            on_seed(k, repeats, each)
        # One repeat: the parent run holds the refit; several: a child run per seed.
        run: contextlib.AbstractContextManager[TrackedRun] = contextlib.nullcontext(parent)
        if repeats > 1:
            run = tracked_run(
                experiment,
                f"refit seed={each}",
                {vocabulary.REFIT: "true", vocabulary.BENCHMARK: benchmark.name}
                | {vocabulary.SEED: each, vocabulary.STUDY: study.study_name}
                | {vocabulary.BEST_TRIAL: trial.number},
                client=client,
                parent_run_id=parent.run_id,
            )
        with run as logged_on:
            outcomes[each] = _refit_on(
                logged_on,
                trial,
                benchmark=benchmark,
                dataset=dataset,
                seed=each,
                callbacks=callbacks,
                child=repeats > 1,
            )
    spreads = log_repeats(parent, outcomes) if repeats > 1 else None
    return Refit(
        trial=trial,
        outcomes=outcomes,
        spreads=spreads,
        rerun_command=rerun_command(benchmark, trial, data_options=data_options),
    )


def _refit_on(
    run: TrackedRun,
    trial: optuna.trial.FrozenTrial,
    *,
    benchmark: Benchmark,
    dataset: Dataset,
    seed: int,
    callbacks: Sequence[Any],
    child: bool,
) -> RunOutcome:
    """Fit the trial's configuration with ``seed`` and log everything on ``run`` (a
    child run gets the configuration's parameters too, as a ``bench run`` would); a
    network's epochs are logged as they end, as ``bench run`` logs them, so the refit
    has its learning curves in MLflow."""
    pipeline = benchmark.build(pixel_max=dataset.pixel_max, seed=seed)
    pipeline.set_params(**trial.user_attrs.get("pipeline_params", {}))
    holdout = baseline_holdout(benchmark, seed)
    outcome = fit_and_score(
        pipeline, dataset, callbacks=[*callbacks, EpochLogger(run)], holdout=holdout
    )
    if child:
        log_run_params(run, pipeline, dataset, seed)
        run.log_params({"n_validation": outcome.n_validation})
    run.log_datasets(run_datasets(pipeline, dataset, outcome.n_validation, holdout))
    log_outcome(run, outcome, dataset)
    return outcome

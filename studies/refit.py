"""The end of a study: the best configuration refitted on the whole training split and
scored on the test set, once or once per seed (``--refit-repeats``).

The test set is read here and nowhere else in a study: the search only ever saw the
validation split.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import optuna

from bench.run import baseline_holdout, log_run_params, run_datasets
from bench.tracking.artifacts import log_outcome, log_repeats
from bench.tracking.callbacks import EpochLogger
from bench.tracking.runs import TrackedRun, tracked_run
from bench.training import RunOutcome, fit_and_score
from studies.trials import best_trial, rerun_command


@dataclass(frozen=True)
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
    opened,
    *,
    repeats: int = 1,
    callbacks: Sequence = (),
    on_seed: Callable[[int, int, int], None] | None = None,
) -> Refit | None:
    """Refit the study's best trial and log the result on the study's ``parent`` run.

    With one repeat the parent run holds the refit itself (scores, artifacts, model);
    with several, each seed ``seed``, ``seed + 1``, ... is a child run tagged
    ``refit``, and the parent holds the scores' spread as ``bench run --repeats``
    logs it. ``callbacks`` (Keras) and ``on_seed(k, repeats, seed)`` show progress.
    Returns None when no trial finished.
    """
    trial = best_trial(opened.study)
    if trial is None:
        return None
    # Epochs are not searched but set (the pruner's resource, or the benchmark's own for
    # trial 0): logged with the best trial's settings, `bench compare` shows them.
    settings = trial.user_attrs.get("pipeline_params", {})
    epochs = settings.get("clf__epochs", opened.benchmark.epochs)  # None: a baseline
    parent.log_params(
        {f"best_{key}": value for key, value in trial.params.items()}
        | ({"best_epochs": epochs} if epochs is not None else {})
    )
    parent.log_metrics(
        {"best_value": trial.values[0], "best_val_accuracy": trial.values[0]}
        | {"best_trial": trial.number}
    )
    seeds = range(opened.settings.seed, opened.settings.seed + repeats)
    outcomes = {}
    for k, seed in enumerate(seeds, start=1):
        if on_seed is not None:
            on_seed(k, repeats, seed)
        if repeats == 1:
            outcomes[seed] = _refit_on(parent, opened, trial, seed, callbacks, child=False)
            continue
        tags = {"refit": "true", "benchmark": opened.benchmark.name, "seed": seed}
        with tracked_run(
            opened.experiment,
            f"refit seed={seed}",
            tags | {"study": opened.study.study_name, "best_trial": trial.number},
            client=opened.client,
            parent_run_id=parent.run_id,
        ) as run:
            outcomes[seed] = _refit_on(run, opened, trial, seed, callbacks, child=True)
    spreads = log_repeats(parent, outcomes) if repeats > 1 else None
    return Refit(trial, outcomes, spreads, rerun_command(opened.benchmark, trial))


def _refit_on(run: TrackedRun, opened, trial, seed: int, callbacks, *, child: bool) -> RunOutcome:
    """Fit the trial's configuration with ``seed`` and log everything on ``run`` (a
    child run gets the configuration's parameters too, as a ``bench run`` would); a
    network's epochs are logged as they end, as ``bench run`` logs them, so the refit
    has its learning curves in MLflow."""
    benchmark, dataset = opened.benchmark, opened.dataset
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

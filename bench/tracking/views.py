"""The runs view bench's addresses open: scores and the parameters that tell runs apart
as columns, best validation accuracy first, without a click.

MLflow's UI keeps a runs-view state in an experiment tag (``mlflow.sharedViewState.<key>``,
what its Share button writes) and opens it with ``?viewStateShareKey=<key>``. bench
writes one such state per experiment under :data:`VIEW_KEY` whenever one of its runs
ends, and ``bench ui`` refreshes every experiment's before printing its addresses.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import mlflow
from mlflow.tracking import MlflowClient

from bench.tracking import vocabulary

VIEW_KEY = "bench"
VIEW_TAG = f"mlflow.sharedViewState.{VIEW_KEY}"
SCORE_COLUMNS = ("val_accuracy", "test_accuracy", "test_macro_f1", "fit_seconds", "n_weights")
# A --repeats parent (or a study's refit over seeds) holds the spread over its seeds.
SPREAD_COLUMNS = ("test_accuracy_mean", "test_accuracy_std")
DATASET_COLUMN = "attributes.`Dataset`"  # the data's name and digest, as MLflow shows it
START_TIME_COLUMN = "attributes.start_time"
# A table wider than a screen hides the scores again.
MAX_PARAM_COLUMNS = 8
# Names that change with the seed or the split, not with what the user chose.
_SEEDED = {"seed", "n_validation", "dataset_source", vocabulary.TRIAL_NUMBER}
# Enough for any experiment a person browses; MLflow's page holds 100 runs at a time.
_MAX_RUNS = 1000


def runs_view_state(runs: Sequence) -> dict:
    """The view state for an experiment holding ``runs`` (MLflow ``Run`` objects): the
    score columns, the parameters whose values differ between runs of one kind (top-level
    runs, or the trials and seeds nested under them) and, for a study, each trial's state;
    sorted by validation accuracy, best first, unless runs are nested (see :func:`_order`).

    >>> runs_view_state([])["orderByKey"]
    'metrics.`val_accuracy`'
    """
    logged = set().union(*(run.data.metrics for run in runs))
    scores = [*SCORE_COLUMNS, *(name for name in SPREAD_COLUMNS if name in logged)]
    columns = [_column("metrics", name) for name in scores]
    if any(vocabulary.TRIAL_STATE in run.data.tags for run in runs):
        columns.append(_column("tags", vocabulary.TRIAL_STATE))
    # A study run as a SLURM job array: which job and task trained each trial.
    for tag in (vocabulary.SLURM_JOB, vocabulary.SLURM_TASK):
        if any(tag in run.data.tags for run in runs):
            columns.append(_column("tags", tag))
    columns += [_column("params", name) for name in differing_params(runs)]
    columns.append(DATASET_COLUMN)
    return {
        "selectedColumns": columns,
        "columnOrder": columns,  # else the UI puts each group in name order
        "orderByKey": _order(runs),
        "orderByAsc": False,
    }


def _order(runs: Sequence) -> str:
    """Best validation accuracy first; but MLflow's table folds child runs under their
    parent only when sorted by start time, and a study's trials spread among other runs
    would hide which study they belong to: newest first where runs are nested."""
    if any(vocabulary.is_nested(run.data.tags) for run in runs):
        return START_TIME_COLUMN
    return _column("metrics", "val_accuracy")


def differing_params(runs: Sequence) -> list[str]:
    """Parameters whose value (or presence) differs between runs of the same kind, in
    name order; of ``clf__dropout`` and a searched ``dropout`` only the latter."""
    kinds: dict[bool, list[dict[str, str]]] = {}
    for run in runs:
        nested = vocabulary.is_nested(run.data.tags)
        kinds.setdefault(nested, []).append(dict(run.data.params))
    differing: set[str] = set()
    for params in kinds.values():
        names = set().union(*params) - _SEEDED
        differing |= {name for name in names if len({p.get(name) for p in params}) > 1}
    differing = {name for name in differing if not _is_seeded(name)}
    shown = sorted(name for name in differing if not _has_short_twin(name, differing))
    return shown[:MAX_PARAM_COLUMNS]


def update_runs_view(client: MlflowClient, experiment_id: str) -> None:
    """Write the runs-view state of experiment ``experiment_id`` from the runs it holds."""
    runs = client.search_runs([experiment_id], max_results=_MAX_RUNS)
    state = json.dumps(runs_view_state(runs))
    if client.get_experiment(experiment_id).tags.get(VIEW_TAG) != state:
        client.set_experiment_tag(experiment_id, VIEW_TAG, state)


def update_runs_views(client: MlflowClient, experiment_ids: Iterable[str] | None = None) -> None:
    """:func:`update_runs_view` for each experiment (every one, for None); one that
    cannot be written (a read-only store, a deleted experiment) keeps its old view."""
    if experiment_ids is None:
        found = client.search_experiments(max_results=_MAX_RUNS)
        experiment_ids = [experiment.experiment_id for experiment in found]
    for experiment_id in experiment_ids:
        try:
            update_runs_view(client, experiment_id)
        except mlflow.exceptions.MlflowException:
            continue


def _column(kind: str, name: str) -> str:
    """A column's key as the MLflow UI writes it: ``metrics.`val_accuracy```."""
    return f"{kind}.`{name}`"


def _is_seeded(name: str) -> bool:
    return name.endswith(("random_state", "_digest"))


def _has_short_twin(name: str, names: set[str]) -> bool:
    """``clf__dropout`` when a study also logged the searched ``dropout``."""
    return "__" in name and name.rsplit("__", 1)[-1] in names

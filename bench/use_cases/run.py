"""``bench run``: one benchmark run end to end (data, pipeline, fit, scores, MLflow).

No printing: the command line shows the :class:`RunReport` this returns.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline

from bench.benchmarks import Benchmark, benchmark_origin, get_benchmark
from bench.benchmarks.configure import check_buildable, configured_pipeline
from bench.benchmarks.overrides import all_params, shown_params
from bench.data import Dataset, load_dataset, load_user_data
from bench.data.catalog import dataset_geometry
from bench.errors import DataError, RunInterrupted, UsageError
from bench.tracking import vocabulary
from bench.tracking.artifacts import dataset_records, log_outcome, log_repeats
from bench.tracking.callbacks import EpochLogger
from bench.tracking.runs import close_orphaned_runs, provenance_tags, tracked_run
from bench.tracking.store import open_client
from bench.training import Holdout, RunOutcome, fit_and_score


@dataclass(frozen=True)
class RunReport:
    """What ``bench run`` shows at the end."""

    benchmark: Benchmark
    dataset: Dataset
    seed: int
    run_id: str
    experiment: str
    tracking_uri: str
    outcome: RunOutcome
    overrides: dict[str, Any]
    experiment_id: str = ""


def run_benchmark(
    name: str,
    *,
    seed: int = 0,
    epochs: int | None = None,
    assignments: Sequence[str] = (),
    experiment: str | None = None,
    callbacks: Sequence = (),
    download_progress: Callable[[int, int], None] | None = None,
    command: str | None = None,
    on_fit: Callable[[Pipeline, int], None] | None = None,
    parent_run_id: str | None = None,
    data: str | None = None,
    label_column: str | None = None,
    on_note: Callable[[str], None] | None = None,
) -> RunReport:
    """Train benchmark ``name`` and log everything about the run to MLflow.

    Overrides are checked before any data is loaded, so a typo fails at once. With
    ``data`` (a folder of class folders, a CSV or an ``.npz``: see
    :func:`bench.data.load_user_data`) the benchmark's pipeline trains on the user's
    images instead of its own dataset; ``on_note(line)`` is told what was converted.
    ``on_fit(pipeline, n_images)`` is told when fitting starts (a baseline shows no
    epochs, so the command line says what it is waiting for). With ``parent_run_id``
    the run is that run's child (one seed of :func:`run_repeats`).

    Raises
    ------
    UsageError
        Unknown benchmark or parameter, or a value of the wrong type.
    DataError
        The dataset cannot be found, downloaded or trusted.
    TrackingError
        The MLflow store cannot be reached.
    RunInterrupted
        On Ctrl-C; the run is closed as KILLED with the epochs done so far.
    """
    benchmark = get_benchmark(name)
    check_configuration(benchmark, seed=seed, epochs=epochs, assignments=assignments)
    client = open_client()  # a dead tracking server is reported before any work
    experiment = experiment or benchmark.name
    if parent_run_id is None:  # a parent closed its experiment's orphans already
        close_orphaned_runs(client, experiment)  # left RUNNING by a killed run
    dataset, data_params = load_run_data(
        benchmark, data=data, label_column=label_column, progress=download_progress
    )
    for note in data_params.pop("notes", ()):
        if on_note is not None:
            on_note(note)
    pipeline, overrides = configured_pipeline(
        benchmark, pixel_max=dataset.pixel_max, seed=seed, epochs=epochs, assignments=assignments
    )
    tags = run_tags(benchmark, seed, command, dataset=dataset.name)
    with tracked_run(
        experiment,
        run_name(
            benchmark,
            seed=seed,
            epochs=epochs,
            overrides=overrides,
            data=dataset.name if data is not None else None,
        ),
        tags,
        client=client,
        parent_run_id=parent_run_id,
    ) as run:
        log_run_params(run, pipeline, dataset, seed)
        run.log_params(data_params)
        logger = EpochLogger(run)
        holdout = baseline_holdout(benchmark, seed)
        if on_fit is not None:
            on_fit(pipeline, _rows_fitted(pipeline, len(dataset.y_train), holdout))
        try:
            outcome = fit_and_score(
                pipeline, dataset, callbacks=[*callbacks, logger], holdout=holdout
            )
        except KeyboardInterrupt as interrupt:
            raise RunInterrupted(run.run_id, logger.epochs_done) from interrupt
        run.log_params({"n_validation": outcome.n_validation})
        run.log_datasets(run_datasets(pipeline, dataset, outcome.n_validation, holdout))
        log_outcome(run, outcome, dataset)
    return RunReport(
        benchmark=benchmark,
        dataset=dataset,
        seed=seed,
        run_id=run.run_id,
        experiment=experiment,
        tracking_uri=client.tracking_uri,
        outcome=outcome,
        overrides=overrides,
        experiment_id=run.experiment_id,
    )


def load_run_data(
    benchmark: Benchmark,
    *,
    data: str | None,
    label_column: str | None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Dataset, dict[str, Any]]:
    """The benchmark's own dataset, or the user's ``data`` fitted to the benchmark's
    input; with the parameters that say how the user's test split was held out, and
    under ``"notes"`` what was converted.

    Raises
    ------
    UsageError
        For the user's data that cannot be read or split (one line each; see
        :func:`bench.data.load_user_data`).
    DataError
        For the benchmark's own dataset that cannot be found, downloaded or trusted.
    """
    declared = data is None and benchmark.data is not None
    if data is None and benchmark.data is not None:  # the data the benchmark declares
        data, label_column = os.fspath(benchmark.data), label_column or benchmark.label_column
    if data is None:
        return load_dataset(benchmark.dataset, progress=progress), {}
    image_shape, _ = dataset_geometry(benchmark.dataset)
    try:
        user = load_user_data(data, image_shape=image_shape, label_column=label_column)
    except DataError as error:  # the user's own files: theirs to fix, as a usage error
        whose = f"the data benchmark {benchmark.name} names: " if declared else ""
        raise UsageError(whose + str(error)) from error
    params: dict[str, Any] = {"notes": user.notes}
    if user.test_share is not None:  # carved here, not given with the data
        params |= {"test_share": user.test_share, "test_split_seed": user.test_split_seed}
    return user.dataset, params


def check_configuration(
    benchmark: Benchmark, *, seed: int, epochs: int | None, assignments: Sequence[str]
) -> dict[str, Any]:
    """Check ``--epochs`` and ``--set`` before any data is loaded or run opened; returns
    the overrides (full parameter names -> values).

    Raises
    ------
    UsageError
        For an unknown parameter, a value the estimators reject, or epochs given for
        a baseline.
    """
    unchecked, overrides = configured_pipeline(
        benchmark, pixel_max=255.0, seed=seed, epochs=epochs, assignments=assignments
    )
    if assignments:  # every declared benchmark builds (a test proves it); a --set may not
        check_buildable(unchecked, benchmark)
    return overrides


@dataclass(frozen=True)
class RepeatsReport:
    """What ``bench run --repeats K`` shows at the end: each seed's run, and the
    spread of the scores over the seeds (see :func:`bench.intervals.mean_interval`)."""

    benchmark: Benchmark
    parent_run_id: str
    experiment: str
    tracking_uri: str
    experiment_id: str
    runs: tuple[RunReport, ...]
    spreads: dict[str, dict[str, float]]


def run_repeats(
    name: str,
    *,
    repeats: int,
    seed: int = 0,
    experiment: str | None = None,
    command: str | None = None,
    on_seed: Callable[[int, int, int], None] | None = None,
    **options,
) -> RepeatsReport:
    """Run benchmark ``name`` once per seed ``seed``, ``seed + 1``, ... as children of
    one parent run, which gets the mean, standard deviation and 95% interval of the
    test scores over the seeds (:func:`bench.tracking.artifacts.log_repeats`).

    ``on_seed(k, repeats, seed)`` is told before the k-th run starts; ``options`` are
    :func:`run_benchmark`'s (``epochs``, ``assignments``, ``callbacks``, ...).

    Raises
    ------
    UsageError
        For fewer than two repeats, or as :func:`run_benchmark`.
    RunInterrupted
        On Ctrl-C: the seed's run and the parent are closed as KILLED; the seeds
        finished before are kept.
    """
    if repeats < 2:
        raise UsageError(f"--repeats needs at least 2 seeds to show a spread, got {repeats}")
    benchmark = get_benchmark(name)
    overrides = check_configuration(
        benchmark,
        seed=seed,
        epochs=options.get("epochs"),
        assignments=options.get("assignments", ()),
    )
    client = open_client()
    experiment = experiment or benchmark.name
    close_orphaned_runs(client, experiment)
    seeds = range(seed, seed + repeats)
    # Loaded (and cached) before the parent opens: data that cannot be read leaves no run.
    dataset, data_params = load_run_data(
        benchmark,
        data=options.get("data"),
        label_column=options.get("label_column"),
        progress=options.get("download_progress"),
    )
    on_note = options.pop("on_note", None)
    for note in data_params.get("notes", ()) if on_note else ():  # once, not per seed
        on_note(note)
    data_name = dataset.name if options.get("data") is not None else None
    tags = {
        **run_tags(benchmark, seed, command, dataset=dataset.name),
        vocabulary.REPEATS: repeats,
        vocabulary.SEED: _seed_range(seeds),
    }
    title = run_name(
        benchmark, seeds=seeds, epochs=options.get("epochs"), overrides=overrides, data=data_name
    )
    with tracked_run(experiment, title, tags, client=client) as parent:
        runs = []
        for k, each in enumerate(seeds, start=1):
            if on_seed is not None:
                on_seed(k, repeats, each)
            runs.append(
                run_benchmark(
                    name,
                    seed=each,
                    experiment=experiment,
                    command=command,
                    parent_run_id=parent.run_id,
                    **options,
                )
            )
        parent.log_params(_configuration_params(runs[0], seeds))
        spreads = log_repeats(parent, {run.seed: run.outcome for run in runs})
    return RepeatsReport(
        benchmark,
        parent.run_id,
        experiment,
        client.tracking_uri,
        parent.experiment_id,
        tuple(runs),
        spreads,
    )


def _seed_range(seeds: range) -> str:
    return f"{seeds.start}-{seeds.stop - 1}"


def _configuration_params(first: RunReport, seeds: range) -> dict[str, Any]:
    """The children's parameters without what changes with the seed."""
    params = run_params(first.outcome.pipeline, first.dataset, first.seed)
    params = {key: value for key, value in params.items() if not key.endswith("random_state")}
    return params | {"seed": _seed_range(seeds), "repeats": len(seeds)}


def baseline_holdout(benchmark: Benchmark, seed: int | None) -> Holdout | None:
    """The validation rows of a baseline: the share a network of the same benchmark
    and seed would carve (``None`` for a network, which carves its own)."""
    return None if benchmark.trains_by_epoch else Holdout(benchmark.validation_split, seed)


def _rows_fitted(pipeline: Pipeline, n_train: int, holdout: Holdout | None) -> int:
    share = holdout.share if holdout else (pipeline[-1].validation_split or 0.0)
    return n_train - math.ceil(share * n_train)  # as train_test_split holds out


def run_tags(
    benchmark: Benchmark, seed: int, command: str | None, *, dataset: str | None = None
) -> dict[str, str]:
    """Tags that say what ran, on which ``dataset`` (default: the benchmark's), and on
    which software."""
    tags = {
        vocabulary.BENCHMARK: benchmark.name,
        vocabulary.DECLARED_IN: benchmark_origin(benchmark.name),
        vocabulary.DATASET: dataset or benchmark.dataset,
        vocabulary.SEED: str(seed),
    }
    return tags | provenance_tags(command)


def run_name(
    benchmark: Benchmark,
    *,
    epochs: int | None,
    overrides: dict[str, Any],
    seed: int | None = None,
    seeds: range | None = None,
    data: str | None = None,
) -> str:
    """What tells the run apart in the runs view: what it changed from the benchmark's
    defaults (``data``: the name of the user's images given instead of its dataset), and its seed
    (or ``seeds``, for the parent of one run per seed).

    >>> from bench.benchmarks import get_benchmark
    >>> run_name(get_benchmark("digits-mlp"), seed=0, epochs=5, overrides={"clf__dropout": 0.2})
    'digits-mlp epochs=5 dropout=0.2 seed=0'
    >>> run_name(get_benchmark("digits-mlp"), seeds=range(5), epochs=None, overrides={})
    'digits-mlp seeds 0-4'
    """
    changed: dict[str, Any] = {"data": data} if data is not None else {}
    changed |= {"epochs": epochs} if epochs is not None else {}
    changed |= {name.rsplit("__", 1)[-1]: value for name, value in overrides.items()}
    words = [f"{name}={_short(value)}" for name, value in changed.items()]
    which = f"seed={seed}" if seeds is None else f"seeds {_seed_range(seeds)}"
    return " ".join([benchmark.name, *words, which])


def _short(value: Any) -> str:
    return value.replace(" ", "") if isinstance(value, str) else repr(value).replace(" ", "")


def log_run_params(run, pipeline: Pipeline, dataset: Dataset, seed: int) -> None:
    """Log the parameters a user chose or could change as the run's parameters, and
    every parameter, wrapper plumbing included, as ``params.json``."""
    run.log_params(run_params(pipeline, dataset, seed))
    run.log_dict(all_params(pipeline), "params.json")


def run_params(pipeline: Pipeline, dataset: Dataset, seed: int) -> dict[str, Any]:
    """The estimator parameters a user sets (see
    :func:`~bench.benchmarks.overrides.shown_params`), plus the seed and the data's
    identity."""
    params = dict(shown_params(pipeline))
    params.update(
        {
            "seed": seed,
            "dataset": dataset.name,
            "dataset_digest": dataset.digest,
            "dataset_source": dataset.source,
            "n_train": dataset.sizes["train"],
            "n_test": dataset.sizes["test"],
            "image_shape": dataset.image_shape,
            "class_names": ", ".join(dataset.class_names),
        }
    )
    return params


def run_datasets(
    pipeline: Pipeline, dataset: Dataset, n_validation: int, holdout: Holdout | None = None
):
    """The training images (less the validation share held out: by the network, or
    by ``holdout`` for a baseline), that share, and the test images, as MLflow
    datasets."""
    classifier = pipeline[-1]
    splits = {
        "training": dataset.sizes["train"] - n_validation,
        "validation": n_validation,
        "test": dataset.sizes["test"],
    }
    # A baseline's words match a network's: the two share a digest when they saw the
    # same images.
    share = holdout.share if holdout else classifier.validation_split
    carved_by = f"seed {classifier.random_state}, share {share}"
    return dataset_records(dataset, splits, carved_by=carved_by)

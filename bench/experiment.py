"""One benchmark run end to end: data, pipeline, fit, scores, MLflow. No printing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from bench import environment, tracking
from bench.data import Dataset, load_dataset
from bench.data.catalog import IDX_CATALOG
from bench.errors import RunInterrupted, UsageError
from bench.registry import Benchmark, get_benchmark
from bench.runner import RunOutcome, classifier_of, fit_and_score
from bench.settings import resolve_overrides, tunable_params


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


def configured_pipeline(
    benchmark: Benchmark,
    *,
    pixel_max: float,
    seed: int,
    epochs: int | None,
    assignments: Iterable[str] = (),
) -> tuple[Pipeline, dict[str, Any]]:
    """The benchmark's pipeline with ``--set`` overrides applied and checked."""
    pipeline = benchmark.build(pixel_max=pixel_max, seed=seed, epochs=epochs)
    overrides = resolve_overrides(pipeline, assignments)
    pipeline.set_params(**overrides)
    return pipeline, overrides


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
) -> RunReport:
    """Train benchmark ``name`` and log everything about the run to MLflow.

    Overrides are checked before any data is loaded, so a typo fails at once.

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
    unchecked, _ = configured_pipeline(
        benchmark, pixel_max=255.0, seed=seed, epochs=epochs, assignments=assignments
    )
    check_buildable(unchecked, benchmark)
    client = tracking.open_client()  # a dead tracking server is reported before any work
    experiment = experiment or benchmark.name
    tracking.close_orphaned_runs(client, experiment)  # left RUNNING by a killed run
    dataset = load_dataset(benchmark.dataset, progress=download_progress)
    pipeline, overrides = configured_pipeline(
        benchmark, pixel_max=dataset.pixel_max, seed=seed, epochs=epochs, assignments=assignments
    )
    tags = run_tags(benchmark, seed, command)
    with tracking.tracked_run(
        experiment, f"{benchmark.name} seed={seed}", tags, client=client
    ) as run:
        run.log_params(run_params(pipeline, dataset, seed))
        logger = run.epoch_logger()
        try:
            outcome = fit_and_score(pipeline, dataset, callbacks=[*callbacks, logger])
        except KeyboardInterrupt as interrupt:
            raise RunInterrupted(run.run_id, logger.epochs_done) from interrupt
        run.log_params({"n_validation": outcome.n_validation})
        tracking.log_outcome(run, outcome, dataset)
    return RunReport(
        benchmark=benchmark,
        dataset=dataset,
        seed=seed,
        run_id=run.run_id,
        experiment=experiment,
        tracking_uri=client.tracking_uri,
        outcome=outcome,
        overrides=overrides,
    )


def run_tags(benchmark: Benchmark, seed: int, command: str | None) -> dict[str, str]:
    """Tags that say what ran and on which software."""
    tags = {
        "benchmark": benchmark.name,
        "dataset": benchmark.dataset,
        "seed": str(seed),
        "keras_backend": environment.keras_backend(),
    }
    tags.update(
        {f"version.{name}": version for name, version in environment.package_versions().items()}
    )
    commit = environment.git_commit()
    if commit:
        tags["git_commit"] = commit
    if command:
        tags["command"] = command
    return tags


def run_params(pipeline: Pipeline, dataset: Dataset, seed: int) -> dict[str, Any]:
    """Every estimator parameter, flattened, plus the seed and the data's identity."""
    params = dict(tunable_params(pipeline))
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


def count_weights(benchmark: Benchmark) -> int:
    """Weights of the benchmark's network, built (not trained) on blank images."""
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    return _built_on_blank_images(pipeline, benchmark).count_weights()


def check_buildable(pipeline: Pipeline, benchmark: Benchmark) -> None:
    """Build the configured network on blank images, before any data is loaded.

    Raises
    ------
    UsageError
        If a value the estimators reject (an unknown activation or schedule, a
        topology that shrinks the image to nothing) was set; the message is theirs.
    """
    try:
        _built_on_blank_images(clone(pipeline), benchmark)
    except ValueError as error:
        raise UsageError(str(error)) from None


def _built_on_blank_images(pipeline: Pipeline, benchmark: Benchmark):
    shape, n_classes = dataset_geometry(benchmark.dataset)
    X = np.zeros((n_classes, *shape), dtype=np.uint8)
    X[:, 0, 0] = np.arange(n_classes)  # HOG needs some gradient to be defined
    y = np.arange(n_classes)
    features = pipeline[:-1].fit_transform(X, y)
    return classifier_of(pipeline).initialize(features, y)


def dataset_geometry(name: str) -> tuple[tuple[int, int], int]:
    """Image shape and number of classes of a dataset, without loading it."""
    if name in IDX_CATALOG:
        entry = IDX_CATALOG[name]
        return tuple(entry.image_shape), len(entry.class_names)
    return (8, 8), 10  # scikit-learn's digits

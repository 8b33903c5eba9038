"""``bench run``: one benchmark run end to end (data, pipeline, fit, scores, MLflow).

No printing: the command line shows the :class:`RunReport` this returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sklearn.pipeline import Pipeline

from bench.benchmarks import Benchmark, get_benchmark
from bench.benchmarks.configure import check_buildable, configured_pipeline
from bench.benchmarks.overrides import tunable_params
from bench.data import Dataset, load_dataset
from bench.errors import RunInterrupted
from bench.tracking.artifacts import dataset_records, log_outcome
from bench.tracking.callbacks import EpochLogger
from bench.tracking.runs import close_orphaned_runs, provenance_tags, tracked_run
from bench.tracking.store import open_client
from bench.training import RunOutcome, fit_and_score


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
    if assignments:  # every declared benchmark builds (a test proves it); a --set may not
        check_buildable(unchecked, benchmark)
    client = open_client()  # a dead tracking server is reported before any work
    experiment = experiment or benchmark.name
    close_orphaned_runs(client, experiment)  # left RUNNING by a killed run
    dataset = load_dataset(benchmark.dataset, progress=download_progress)
    pipeline, overrides = configured_pipeline(
        benchmark, pixel_max=dataset.pixel_max, seed=seed, epochs=epochs, assignments=assignments
    )
    tags = run_tags(benchmark, seed, command)
    with tracked_run(experiment, f"{benchmark.name} seed={seed}", tags, client=client) as run:
        run.log_params(run_params(pipeline, dataset, seed))
        logger = EpochLogger(run)
        try:
            outcome = fit_and_score(pipeline, dataset, callbacks=[*callbacks, logger])
        except KeyboardInterrupt as interrupt:
            raise RunInterrupted(run.run_id, logger.epochs_done) from interrupt
        run.log_params({"n_validation": outcome.n_validation})
        run.log_datasets(run_datasets(pipeline, dataset, outcome.n_validation))
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


def run_tags(benchmark: Benchmark, seed: int, command: str | None) -> dict[str, str]:
    """Tags that say what ran and on which software."""
    tags = {"benchmark": benchmark.name, "dataset": benchmark.dataset, "seed": str(seed)}
    return tags | provenance_tags(command)


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


def run_datasets(pipeline: Pipeline, dataset: Dataset, n_validation: int):
    """The training images (less the validation share the classifier holds out), that
    share, and the test images, as MLflow datasets."""
    classifier = pipeline[-1]
    splits = {
        "training": dataset.sizes["train"] - n_validation,
        "validation": n_validation,
        "test": dataset.sizes["test"],
    }
    carved_by = f"seed {classifier.random_state}, share {classifier.validation_split}"
    return dataset_records(dataset, splits, carved_by=carved_by)

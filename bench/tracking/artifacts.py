"""What a finished run gets: final metrics, report artifacts and the fitted pipeline."""

from __future__ import annotations

import hashlib
import re
import warnings
from ast import literal_eval
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keras
import mlflow.models
import mlflow.sklearn
import numpy as np
import pandas as pd
from mlflow.entities import LoggedModelStatus
from mlflow.models import infer_signature

import estimators
from bench import figures
from bench.benchmarks.registry import SHIPPED, UNREGISTERED
from bench.data import Dataset
from bench.errors import UsageError
from bench.intervals import mean_interval
from bench.runtime.environment import package_versions
from bench.tracking import vocabulary
from bench.tracking.history import open_store
from bench.tracking.runs import DatasetRecord, TrackedRun
from bench.tracking.store import absolute_uri
from bench.training import RunOutcome


def log_outcome(run: TrackedRun, outcome: RunOutcome, dataset: Dataset) -> None:
    """Log the final scores, the report artifacts and the fitted pipeline."""
    run.log_metrics(final_metrics(outcome))
    log_reports(run, outcome, dataset.y_test, dataset.class_names, dataset.X_test)
    log_pipeline(run, outcome.pipeline, dataset.X_test, model_facts(dataset))


# The scores whose spread over seeds a repeated run reports.
SPREAD_METRICS = ("test_accuracy", "test_macro_f1", "test_loss")


def log_repeats(run: TrackedRun, outcomes: Mapping[int, RunOutcome]) -> dict[str, dict]:
    """Log on ``run`` (the parent of one run per seed) each score's mean, standard
    deviation and 95% interval as ``<metric>_mean``, ``_std``, ``_ci95_low`` and
    ``_ci95_high``; the scores per seed (``repeats.csv``); and the seeds' validation
    curves with their mean (``learning_curves.png``) when they trained by epoch.

    Parameters
    ----------
    run : TrackedRun
    outcomes : mapping of int to RunOutcome
        Seed -> what its run produced; at least two.

    Returns
    -------
    dict
        Metric -> its :func:`~bench.intervals.mean_interval`.
    """
    per_seed = {seed: final_metrics(outcome) for seed, outcome in outcomes.items()}
    spreads = {}
    for name in SPREAD_METRICS:
        values = [v for metrics in per_seed.values() if (v := metrics.get(name)) is not None]
        if len(values) == len(per_seed):  # an SVC has no loss
            spreads[name] = mean_interval(values)
    run.log_metrics(
        {
            f"{name}_{key}": value
            for name, spread in spreads.items()
            for key, value in spread.items()
        }
    )
    table = pd.DataFrame(
        [
            {"seed": seed, "val_accuracy": outcomes[seed].val_accuracy, **_scores(metrics)}
            for seed, metrics in per_seed.items()
        ]
    )
    run.log_text(table.to_csv(index=False), "repeats.csv")
    curves = {
        seed: list(enumerate(outcome.history["val_accuracy"], start=1))
        for seed, outcome in outcomes.items()
        if outcome.by_epoch and outcome.history.get("val_accuracy")
    }
    if curves:
        title = f"Validation accuracy of {len(curves)} seeds"
        run.log_figure(figures.seed_curves_figure(curves, title=title), "learning_curves.png")
    return spreads


def _scores(metrics: Mapping[str, float]) -> dict[str, float]:
    names = (*SPREAD_METRICS, "fit_seconds", "n_weights")
    return {name: metrics[name] for name in names if name in metrics}


# MLflow stores (and its UI shows) 16 characters of a dataset's digest.
_SPLIT_DIGEST = 16
DATASET_PREFIX = 8


def dataset_records(
    dataset: Dataset, splits: Mapping[str, int], *, carved_by: str = ""
) -> list[DatasetRecord]:
    """One :class:`DatasetRecord` per split the run used.

    Parameters
    ----------
    dataset : Dataset
    splits : mapping of str to int
        Context (``training``, ``validation``, ``test``) -> number of images.
    carved_by : str
        What chose the images of a split carved from another (the seed and the share
        held out); it enters the split's digest, so two runs share a digest only when
        they saw the same images.

    Each split's digest is 16 hex characters: the first 8 of the dataset's digest,
    then 8 naming the split.
    """
    source_type = "local" if dataset.source.startswith("/") else "code"
    records = []
    for context, rows in splits.items():
        carving = "" if context == "test" else carved_by  # the test images are never carved
        split = hashlib.sha256(f"{dataset.digest}:{context}:{carving}".encode()).hexdigest()
        # The UI shows a split's digest beside the dataset's name: it begins with the
        # dataset's own (the run's dataset_digest parameter), so the two can be matched.
        digest = dataset.digest[:DATASET_PREFIX] + split[: _SPLIT_DIGEST - DATASET_PREFIX]
        profile = {"num_rows": rows, "image_shape": list(dataset.image_shape)}
        records.append(
            DatasetRecord(dataset.name, digest, dataset.source, context, profile, source_type)
        )
    return records


def final_metrics(outcome: RunOutcome) -> dict[str, float]:
    """Test-set scores, per-class F1, fit time and weight count as metric values (and a
    baseline's validation accuracy, which no epoch logged)."""
    test = outcome.test
    metrics = {
        "test_accuracy": test.accuracy,
        "test_macro_f1": test.macro_f1,
        "fit_seconds": outcome.fit_seconds,
        "n_weights": outcome.n_weights,
    }
    if test.loss is not None:  # an SVC gives no probabilities, so no loss
        metrics["test_loss"] = test.loss
    if not outcome.by_epoch:  # a network's was logged epoch by epoch
        val_accuracy = outcome.val_accuracy
        assert val_accuracy is not None  # a baseline's history is its validation score
        metrics["val_accuracy"] = val_accuracy
    for name, value in test.per_class_f1.items():
        metrics[f"test_f1_{metric_safe(name)}"] = value
    return metrics


def log_reports(
    run: TrackedRun, outcome: RunOutcome, y_true, class_names, X=None, *, split: str = "Test set"
) -> None:
    """Confusion matrix, classification report, confused pairs, curves, model summary;
    per-layer gradients when they were measured; for a CNN its first filters and, for
    the first image of ``X``, its feature maps. A baseline gets the same but the
    per-epoch curves, and its steps' settings as the model summary.

    ``split`` names the images ``y_true`` are of (``outcome.test`` was scored on them),
    as the confusion matrix's title: a study's trials are scored on its validation
    split.
    """
    y_pred = outcome.test.y_pred
    table = figures.confusion_matrix_table(y_true, y_pred, class_names)
    run.log_text(table.to_csv(), "confusion_matrix.csv")
    run.log_figure(
        figures.confusion_matrix_figure(y_true, y_pred, class_names, title=split),
        "confusion_matrix.png",
    )
    run.log_text(
        figures.classification_report_text(y_true, y_pred, class_names),
        "classification_report.txt",
    )
    pairs = figures.most_confused_pairs(y_true, y_pred, class_names)
    run.log_text(pairs.to_csv(index=False), "most_confused_pairs.csv")
    if not outcome.by_epoch:  # a baseline: no epochs, no curves, no layers
        summary = figures.pipeline_summary_text(outcome.pipeline, outcome.n_weights)
        run.log_text(summary, "model_summary.txt")
        return
    run.log_figure(figures.learning_curves_figure(outcome.history), "learning_curves.png")
    run.log_text(figures.model_summary_text(outcome.pipeline[-1].model_), "model_summary.txt")
    if figures.gradient_metrics(outcome.history):
        run.log_figure(figures.gradients_figure(outcome.history), "gradients.png")
    if hasattr(outcome.pipeline[-1], "feature_maps"):
        log_convolutions(run, outcome.pipeline, X)


def log_convolutions(run: TrackedRun, pipeline, X=None) -> None:
    """A CNN's first filters, and its feature maps for the first image of ``X``."""
    classifier = pipeline[-1]
    run.log_figure(figures.filters_figure(classifier.first_filters()), "filters.png")
    if X is None or not len(X):
        return
    image = np.asarray(X[0])
    features = pipeline[:-1].transform(np.asarray(X[:1]))[0] if len(pipeline) > 1 else image
    maps = classifier.feature_maps(features)
    run.log_figure(figures.feature_maps_figure(image, maps), "feature_maps.png")


@dataclass(frozen=True)
class ModelFacts:
    """What a logged model was trained on, kept in its MLflow metadata, so that its
    predictions can be named and new images prepared like the training images."""

    dataset: str
    image_shape: tuple[int, ...]
    class_names: tuple[str, ...]
    pixel_max: float
    user_images: bool = False  # see Dataset.user_images

    def as_metadata(self) -> dict:
        return {
            "dataset": self.dataset,
            "image_shape": list(self.image_shape),
            "class_names": list(self.class_names),
            "pixel_max": self.pixel_max,
            "user_images": self.user_images,
        }


def model_facts(dataset: Dataset) -> ModelFacts:
    """The :class:`ModelFacts` of a model trained on ``dataset``."""
    return ModelFacts(
        dataset.name,
        dataset.image_shape,
        dataset.class_names,
        dataset.pixel_max,
        user_images=dataset.user_images,
    )


def load_run_model(run_id: str):
    """The pipeline a run logged and the :class:`ModelFacts` of its training data.

    Raises
    ------
    UsageError
        If there is no store here, the store has no such run, or the run has no
        logged model (the message says what the run is and which runs hold one: a
        ``--repeats`` parent's seeds, a study's refits or parent).
    """
    client = open_store()  # a folder without a store is a mistake, not a new store
    try:
        run = client.get_run(run_id)
    except mlflow.exceptions.MlflowException:
        raise UsageError(
            f"no run {run_id} in the MLflow store {absolute_uri(client.tracking_uri)}; "
            "run `bench predict` where you ran bench, or set MLFLOW_TRACKING_URI"
        ) from None
    uri = f"runs:/{run_id}/model"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pipeline = mlflow.sklearn.load_model(uri)
            metadata = mlflow.models.get_model_info(uri).metadata or {}
    except (mlflow.exceptions.MlflowException, OSError):
        raise UsageError(_why_no_model(client, run)) from None
    except ImportError as error:  # a user's classes, pickled by module name
        raise UsageError(_why_not_importable(run, error)) from None
    params = run.data.params
    facts = ModelFacts(
        dataset=metadata.get("dataset", params.get("dataset", "")),
        image_shape=tuple(metadata.get("image_shape") or literal_eval(params["image_shape"])),
        class_names=tuple(metadata.get("class_names") or params["class_names"].split(", ")),
        pixel_max=float(metadata.get("pixel_max", 255.0)),
        user_images=bool(metadata.get("user_images", False)),
    )
    return pipeline, facts


def _why_not_importable(run, error: ImportError) -> str:
    where = run.data.tags.get(vocabulary.DECLARED_IN)
    file = where and where not in (SHIPPED, UNREGISTERED)
    declared = f" (declared in {where})" if file else ""
    return (
        f"the model of run {run.info.run_id} needs the module '{error.name}', which cannot "
        f"be imported here: give its benchmark's file{declared} with --benchmarks FILE or "
        "BENCH_BENCHMARKS, or install its package"
    )


def _why_no_model(client, run) -> str:
    """What the run without a model is, and which runs nearby hold one."""
    run_id, tags, status = run.info.run_id, run.data.tags, run.info.status
    seeds = _children_with_models(client, run)
    if seeds:  # a `--repeats` parent, or a study's parent refitted once per seed
        what, holders = "a parent run", "its child runs"
        if vocabulary.is_repeats_parent(tags):
            what, holders = "a `bench run --repeats` parent", "its seeds' runs"
        if vocabulary.STUDY in tags:
            what, holders = f"the parent run of study '{tags[vocabulary.STUDY]}'", "its refits"
        return (
            f"run {run_id} is {what} and holds no model itself; {holders} do: "
            f"{_seed_list(seeds)}; predict with one of these ids"
        )
    if status == "RUNNING":
        return (
            f"run {run_id} has not finished (MLflow status RUNNING); "
            "a run's model is logged when it finishes"
        )
    if status in ("FAILED", "KILLED"):
        ended = "failed" if status == "FAILED" else "was stopped (KILLED)"
        return f"run {run_id} {ended} before it logged a model; use the id of a run that finished"
    if vocabulary.is_trial(tags) and vocabulary.is_nested(tags):
        return _trial_without_model(client, run)
    if vocabulary.STUDY in tags:
        return (
            f"run {run_id} is the parent run of study '{tags[vocabulary.STUDY]}', which refitted "
            "nothing (--no-refit, or no trial finished), so it holds no model; run the "
            "study again without --no-refit, or train a configuration with `bench run`"
        )
    return (
        f"run {run_id} has no logged model; use the run id `bench run` printed "
        "(or a study's parent run id)"
    )


def _trial_without_model(client, trial) -> str:
    tags = trial.data.tags
    said = (
        f"run {trial.info.run_id} is trial {tags[vocabulary.TRIAL_NUMBER]} of study "
        f"'{tags.get(vocabulary.STUDY, '?')}'; trials keep no model"
    )
    parent = client.get_run(tags[vocabulary.PARENT])
    if _with_models(client, [parent]):
        return (
            f"{said}: predict with the study's parent run {parent.info.run_id}, which "
            "holds the best trial refitted"
        )
    refits = _children_with_models(client, parent)
    if refits:
        return f"{said}: predict with a refit of the study's best trial: {_seed_list(refits)}"
    return (
        f"{said}, and the study's parent run {parent.info.run_id} refitted nothing "
        "(--no-refit, or no trial finished); train a configuration with `bench run`"
    )


def _children_with_models(client, run) -> list:
    """The runs whose parent is ``run`` and that logged a model, in seed order."""
    children = client.search_runs(
        [run.info.experiment_id], f"tags.`{vocabulary.PARENT}` = '{run.info.run_id}'"
    )
    return sorted(_with_models(client, children), key=_seed)


def _with_models(client, runs) -> list:
    """Those of ``runs`` (of one experiment) that logged a model."""
    if not runs:
        return []
    ids = ", ".join(f"'{run.info.run_id}'" for run in runs)
    models = client.search_logged_models(
        [runs[0].info.experiment_id], filter_string=f"source_run_id IN ({ids})"
    )
    ready = {model.source_run_id for model in models if model.status == LoggedModelStatus.READY}
    return [run for run in runs if run.info.run_id in ready]


def _seed(run) -> int:
    seed = run.data.tags.get(vocabulary.SEED, "")
    return int(seed) if seed.isdigit() else -1


def _seed_list(runs) -> str:
    return ", ".join(f"{run.info.run_id} (seed {run.data.tags.get('seed', '?')})" for run in runs)


def log_pipeline(run: TrackedRun, pipeline, X_example, facts: ModelFacts | None = None) -> None:
    """Save the fitted pipeline as an MLflow model with signature, input example and
    what it was trained on (``facts``, in the model's metadata).

    The model is created in the run's experiment explicitly (MLflow would otherwise
    use the process-wide current experiment), and its requirements are the versions
    installed here rather than inferred by reloading the model in a subprocess.
    """
    example = np.asarray(X_example[:5])
    signature = infer_signature(example, pipeline.predict(example))
    experiment = run.client.get_run(run.run_id).info.experiment_id
    model = run.client.create_logged_model(experiment, name="model", source_run_id=run.run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.log_model(
            pipeline,
            name="model",
            model_id=model.model_id,
            run_id=run.run_id,
            signature=signature,
            input_example=example,
            pip_requirements=model_requirements(),
            code_paths=[str(Path(estimators.__file__).parent)],
            # skops cannot serialise the Keras model inside scikeras' wrapper.
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
            metadata=facts.as_metadata() if facts else None,
        )


def model_requirements() -> list[str]:
    """Pinned requirements for loading a logged pipeline elsewhere."""
    versions = package_versions()
    needed: tuple[str, ...] = (
        "keras",
        keras.backend.backend(),
        "scikit-learn",
        "scikeras",
        "scikit-image",
    )
    needed += ("numpy", "mlflow", "cloudpickle")
    return [f"{name}=={versions[name]}" for name in needed if name in versions]


def metric_safe(name: str) -> str:
    """``name`` with characters MLflow rejects in metric keys replaced by ``-``."""
    return re.sub(r"[^0-9A-Za-z_\-. ]", "-", name)

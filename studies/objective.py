"""The Optuna objective: train one sampled configuration, score it on validation.

The test set is never seen here: each study fixes one stratified validation split
carved from the training data, and every trial is scored on that same split.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

import keras
import numpy as np
import optuna
import psutil
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline

from bench.benchmarks import Benchmark
from bench.benchmarks.overrides import all_params, shown_params
from bench.data import Dataset
from bench.data.dataset import dataset_digest
from bench.errors import UsageError
from bench.figures import gradient_metrics, gradient_profile
from bench.runtime.interrupts import Terminated, interruption
from bench.tracking import vocabulary
from bench.tracking.artifacts import dataset_records, log_reports
from bench.tracking.callbacks import EpochLogger
from bench.tracking.runs import DatasetRecord, TrackedRun, tracked_run
from bench.tracking.store import Client
from bench.training import RunOutcome, fit_pipeline, score_on_test
from estimators.backends import forget_traced_gradients, traced_gradient_names
from estimators.sizes import stored_numbers
from studies.feature_cache import FeatureCache, with_cached_features
from studies.spaces import suggest_baseline, suggest_params
from studies.stale import SURPLUS_ATTR, mark_worker, requeue_interrupted
from studies.trials import CPU_SECONDS_ATTR, count_claimed, is_given


def search_split(
    dataset: Dataset, *, train_size: int | None, val_fraction: float, seed: int
) -> Dataset:
    """A Dataset whose "test" split is the validation split carved from training.

    ``train_size`` caps the images trained on per trial (the study's data budget);
    the split is stratified and fixed by ``seed`` so trials are comparable. Its
    ``digest`` is that of the split's own arrays, so it names exactly what trials see.

    Raises
    ------
    UsageError
        If the training images are too few to hold out one of each class (a user's
        small data set).
    """
    indices = np.arange(len(dataset.y_train))
    held_out = math.ceil(val_fraction * len(indices))
    if held_out < dataset.n_classes or len(indices) - held_out < dataset.n_classes:
        raise UsageError(
            f"{dataset.name}'s {len(indices)} training images are too few for a study: its "
            f"validation share {val_fraction:g} holds out {held_out}, fewer than one of each "
            f"of its {dataset.n_classes} classes; add images"
        )
    train_idx, val_idx = train_test_split(
        indices, test_size=val_fraction, stratify=dataset.y_train, random_state=seed
    )
    if train_size is not None and train_size < len(train_idx):
        train_idx, _ = train_test_split(
            train_idx,
            train_size=train_size,
            stratify=dataset.y_train[train_idx],
            random_state=seed,
        )
    arrays = {
        "X_train": dataset.X_train[train_idx],
        "y_train": dataset.y_train[train_idx],
        "X_test": dataset.X_train[val_idx],
        "y_test": dataset.y_train[val_idx],
    }
    # replace() would keep the whole dataset's digest; feature-cache keys and the
    # study's logged dataset_digest must change with the seed and train_size.
    return replace(dataset, **arrays, digest=dataset_digest(**arrays))


@contextlib.contextmanager
def fresh_keras_session() -> Iterator[None]:
    """Clear the Keras session (and TensorFlow's traced gradients) when a trial ends,
    so thirty trials in one process cost the memory of one."""
    kept = traced_gradient_names()
    try:
        yield
    finally:
        forget_traced_gradients(kept)  # before clear_session's garbage collection
        keras.backend.clear_session()


class PruneOnValidation(keras.callbacks.Callback):  # type: ignore[misc]  # Keras is untyped
    """Reports validation accuracy each epoch and stops at once when Optuna prunes (a
    diverging loss is stopped by :class:`bench.training.StopOnDivergence`).

    A trial the study was given (the benchmark's own configuration, a known-good one)
    reports but is never pruned: it is the yardstick the search is measured against
    ("what sampling added"), and a one-cycle schedule still warming up at the first
    rung would otherwise be cut off at its slowest, leaving a yardstick set too low.
    """

    def __init__(self, trial: optuna.Trial, *, report: bool, prune: bool = True) -> None:
        super().__init__()
        self.trial = trial
        self.report = report
        self.prune = prune

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if not self.report:  # Optuna cannot prune multi-objective studies
            return
        assert logs is not None  # Keras passes every epoch's logs
        self.trial.report(float(logs["val_accuracy"]), step=epoch + 1)
        if self.prune and self.trial.should_prune():
            raise optuna.TrialPruned(f"pruned after epoch {epoch + 1}")


class StopAtDeadline(keras.callbacks.Callback):  # type: ignore[misc]  # Keras is untyped
    """Ends a trial cleanly, as pruned, at the first epoch that ends past the study's
    time budget (``--timeout``): the budget is honoured within one epoch, and the
    epochs trained so far are kept."""

    def __init__(self, deadline: float) -> None:
        super().__init__()
        self.deadline = deadline

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if time.monotonic() >= self.deadline:
            raise optuna.TrialPruned(f"time budget reached after epoch {epoch + 1}")


def _process_cpu_seconds() -> float:
    times = psutil.Process().cpu_times()
    return times.user + times.system


def trial_run_name(number: int) -> str:
    """The MLflow run name of trial ``number``: ``trial 003`` (``trial 003 pruned`` once
    pruned)."""
    return f"trial {number:03d}"


@dataclass(kw_only=True)
class TrialObjective:
    """Callable objective for ``study.optimize``; each trial is an MLflow child run.

    With a ``feature_cache``, the stateless feature steps (HOG, pixel scaling) of the
    training and validation images are computed once per setting and shared by trials.
    ``data`` is the study's search split (:func:`search_split`): its "test" split is the
    validation split every trial is scored on. ``max_epochs`` is the epoch budget of
    one trial (the pruner's resource).
    """

    benchmark: Benchmark
    data: Dataset
    seed: int
    max_epochs: int | None  # None for a baseline, which is fitted in one call
    objectives: tuple[str, ...]
    experiment: str
    parent_run_id: str
    client: Client
    feature_cache: FeatureCache | None = None
    provenance: dict[str, str] = field(default_factory=dict)
    # A grid study: name -> (pipeline parameter, values); nothing else is sampled.
    grid: dict[str, tuple[str, tuple[Any, ...]]] = field(default_factory=dict)
    total: int | None = None  # the trials the study is to hold
    deadline: float | None = None  # time.monotonic() when --timeout's budget ends

    def __call__(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        try:
            with fresh_keras_session():
                return self._run_trial(trial)
        except BaseException as error:
            # After Ctrl-C or SIGTERM, whatever ended the trial is the signal's doing
            # (see bench.runtime.interrupts): not a result, so its configuration runs again, once.
            stop = interruption(error)
            if stop is None:
                raise
            requeue_interrupted(trial, "SIGTERM" if isinstance(stop, Terminated) else "Ctrl-C")
            if stop is error:
                raise
            raise stop from error

    def _run_trial(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        started = _process_cpu_seconds()
        try:
            return self._tracked_trial(trial)
        finally:
            # What the trial cost this process, whatever its end: the study's progress
            # figure plots accuracy against the CPU time the search spent.
            with contextlib.suppress(Exception):  # a storage gone: the trial's own error wins
                trial.set_user_attr(CPU_SECONDS_ATTR, _process_cpu_seconds() - started)

    def _tracked_trial(self, trial: optuna.Trial) -> float | tuple[float, ...]:
        mark_worker(trial)
        if self.total is not None and count_claimed(trial.study) > self.total:
            # Processes sharing a study check the total between trials; two can pass
            # the check at once. The later one stops here, before any work, and is
            # not counted.
            trial.set_user_attr(SURPLUS_ATTR, True)
            raise optuna.TrialPruned(f"the study already holds its {self.total} trials")
        tags = {vocabulary.TRIAL_NUMBER: trial.number, vocabulary.STUDY: trial.study.study_name}
        if trial.user_attrs.get("baseline"):
            tags[vocabulary.BASELINE] = "benchmark configuration"
        # The run opens first, so even a trial that fails while sampling or building
        # its network is recorded, with its error.
        with tracked_run(
            self.experiment,
            trial_run_name(trial.number),
            {**tags, vocabulary.BENCHMARK: self.benchmark.name, **self.provenance},
            client=self.client,
            parent_run_id=self.parent_run_id,
        ) as run:
            trial.set_user_attr("mlflow_run_id", run.run_id)
            pipeline = self._sampled_pipeline(trial)
            run.log_params({**shown_params(pipeline), "seed": self.seed, **trial.params})
            run.log_dict(all_params(pipeline), "params.json")
            run.log_datasets(self._datasets())
            # The parameters above are logged under the benchmark's step names; from
            # here on the feature steps may be wrapped by the cache.
            pipeline = self._with_feature_cache(pipeline)
            history, seconds, pruned = self._train(trial, pipeline, run)
            # A pruned trial is scored and pictured too, as the network was when stopped.
            outcome = self._outcome(pipeline, run, history, seconds, pruned=pruned is not None)
            if pruned is None:
                run.set_tags({vocabulary.TRIAL_STATE: "COMPLETE"})
                if gradient_metrics(outcome.history):  # for the study's comparison figure
                    trial.set_user_attr("gradient_profile", gradient_profile(outcome.history))
            else:
                # The run stays FINISHED (KILLED means interrupted here); its name tells
                # it from a complete trial in the MLflow runs table.
                run.set_tags(
                    {
                        vocabulary.TRIAL_STATE: "PRUNED",
                        vocabulary.PRUNED: str(pruned),
                        vocabulary.RUN_NAME: f"{trial_run_name(trial.number)} pruned",
                    }
                )
        if pruned is not None:
            raise pruned
        return self._values(outcome)

    def _sampled_pipeline(self, trial: optuna.Trial) -> Pipeline:
        pipeline = self.benchmark.build(pixel_max=self.data.pixel_max, seed=self.seed)
        if self.grid:
            params = {
                full: trial.suggest_categorical(name, values)
                for name, (full, values) in self.grid.items()
            }
        elif trial.user_attrs.get("baseline"):
            params = self._baseline(trial, pipeline)
        else:
            params = suggest_params(
                trial,
                pipeline,
                factory=self.benchmark.pipeline,
                image_shape=self.data.image_shape,
                space=self.benchmark.search_space,
                flip_safe=self.data.flip_safe,
            )
            if self.benchmark.trains_by_epoch:
                # Epochs are the pruner's resource, not a searched setting: every trial
                # may train the whole budget, and the pruner stops the hopeless ones.
                params["clf__epochs"] = self.max_epochs
        pipeline.set_params(**params)
        if self.benchmark.trains_by_epoch:  # scored on the study's split instead
            pipeline.set_params(clf__validation_split=0.0)
        # Kept with the trial so the best one can be refitted and re-run as `bench run`.
        trial.set_user_attr("pipeline_params", params)
        return pipeline

    def _baseline(self, trial: optuna.Trial, pipeline: Pipeline) -> dict[str, Any]:
        """The benchmark's own pipeline, exactly (its epochs capped to the budget).

        The values the space can hold were enqueued with the trial, and are suggested
        here so the sampler learns from them; values it cannot hold (the seed CNN's 9
        filters) stay the benchmark's, and nothing else is sampled.
        """
        suggest_baseline(
            trial,
            pipeline,
            factory=self.benchmark.pipeline,
            image_shape=self.data.image_shape,
            space=self.benchmark.search_space,
            flip_safe=self.data.flip_safe,
        )
        if not self.benchmark.trains_by_epoch:
            return {}
        return {"clf__epochs": min(pipeline[-1].epochs, self.max_epochs)}

    def _datasets(self) -> list[DatasetRecord]:
        # The split's own digest names its images (see search_split).
        splits = {"training": len(self.data.y_train), "validation": len(self.data.y_test)}
        return dataset_records(self.data, splits, carved_by="search split")

    def _with_feature_cache(self, pipeline: Pipeline) -> Pipeline:
        if self.feature_cache is None:
            return pipeline
        # The split's digest names its arrays exactly (see search_split); the role
        # tells its training images from its validation images.
        inputs = {
            f"{self.data.digest}/train": self.data.X_train,
            f"{self.data.digest}/validation": self.data.X_test,
        }
        return with_cached_features(pipeline, self.feature_cache, inputs)

    def _train(
        self, trial: optuna.Trial, pipeline: Pipeline, run: TrackedRun
    ) -> tuple[dict[str, list[float]], float, optuna.TrialPruned | None]:
        """Fit; return (history, seconds, None), or for a pruned trial (the epochs it
        trained, seconds, the TrialPruned to re-raise once the run is closed)."""
        report = len(self.objectives) == 1
        callbacks = [PruneOnValidation(trial, report=report, prune=not is_given(trial))]
        if self.deadline is not None:
            callbacks.append(StopAtDeadline(self.deadline))
        # Keras' own History misses the epoch a callback stops training in; this one
        # records each epoch before the pruning callbacks run.
        so_far = keras.callbacks.History()
        started = time.perf_counter()
        try:
            history, seconds = fit_pipeline(
                pipeline,
                self.data,
                # The logger first: a pruned trial keeps its curve up to the prune.
                callbacks=[EpochLogger(run), so_far, *callbacks],
                validation=(self.data.X_test, self.data.y_test),
            )
        except optuna.TrialPruned as pruned:
            history = {key: [float(v) for v in values] for key, values in so_far.history.items()}
            return history, time.perf_counter() - started, pruned
        return history, seconds, None

    def _outcome(
        self,
        pipeline: Pipeline,
        run: TrackedRun,
        history: dict[str, list[float]],
        seconds: float,
        *,
        pruned: bool,
    ) -> RunOutcome:
        scores = score_on_test(pipeline, self.data)  # the validation split
        outcome = RunOutcome(
            pipeline=pipeline,
            history=history,
            fit_seconds=seconds,
            n_weights=stored_numbers(pipeline[-1]),
            n_validation=len(self.data.y_test),
            test=scores,
            by_epoch=self.benchmark.trains_by_epoch,
        )
        run.log_metrics(
            {
                "val_macro_f1": scores.macro_f1,
                "fit_seconds": outcome.fit_seconds,
                "n_weights": outcome.n_weights,
            }
        )
        split = "Validation split"
        if pruned:
            split += f", pruned after epoch {len(history.get('val_accuracy', []))}"
        log_reports(
            run, outcome, self.data.y_test, self.data.class_names, self.data.X_test, split=split
        )
        return outcome

    def _values(self, outcome: RunOutcome) -> float | tuple[float, ...]:
        values = {"accuracy": outcome.history["val_accuracy"][-1], "weights": outcome.n_weights}
        picked = [float(values[name]) for name in self.objectives]
        return picked[0] if len(picked) == 1 else tuple(picked)

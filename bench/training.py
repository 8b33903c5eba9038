"""Fit a benchmark pipeline and score it: no printing, no tracking, no CLI."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.pipeline import Pipeline

from bench.data import Dataset
from bench.errors import TrainingDiverged


@dataclass(frozen=True)
class TestScores:
    """Scores on the held-out test set, computed once at the end of a run."""

    accuracy: float
    loss: float
    macro_f1: float
    per_class_f1: dict[str, float]
    y_pred: np.ndarray = field(repr=False)


@dataclass(frozen=True)
class RunOutcome:
    """What one fit produced: the fitted pipeline, its curves and its test scores."""

    pipeline: Pipeline
    history: dict[str, list[float]]
    fit_seconds: float
    n_weights: int
    n_validation: int
    test: TestScores


class StopOnDivergence(keras.callbacks.Callback):
    """Raises :class:`~bench.errors.TrainingDiverged` within the batch whose training
    loss is NaN or infinite.

    Keras' own ``TerminateOnNaN`` ends training quietly, as if the fit had succeeded,
    so a run would go on to score (and log) a network of NaN weights; raising ends the
    run as FAILED with the reason, and names the setting to change.
    """

    def __init__(self):
        super().__init__()
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise TrainingDiverged(
                f"training loss became {float(loss)} in epoch {self.epoch}, batch {batch + 1}: "
                f"the network diverged; lower the learning rate (optimizer__learning_rate, "
                f"now {self._learning_rate()}) or choose another optimizer"
            )

    def _learning_rate(self) -> str:
        try:
            return f"{float(np.asarray(self.model.optimizer.learning_rate)):g}"
        except (AttributeError, TypeError, ValueError):  # a schedule without a value yet
            return "scheduled"


def fit_pipeline(
    pipeline: Pipeline,
    dataset: Dataset,
    *,
    callbacks: Sequence = (),
    validation: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[dict[str, list[float]], float]:
    """Fit on the training split and return the per-epoch history and fit seconds.

    Without ``validation`` the classifier carves its own validation split. With it,
    the earlier steps are fitted first so the validation images go through the same
    features (HOG, scaling) before Keras scores them each epoch.

    ``callbacks`` are Keras callbacks for this fit only (progress, live tracking);
    they are not hyper-parameters, so they are not set on the estimator.

    Raises
    ------
    TrainingDiverged
        Within the batch whose training loss is NaN or infinite.
    """
    callbacks = [StopOnDivergence(), *callbacks]
    started = time.perf_counter()
    if validation is None:
        step = pipeline.steps[-1][0]
        pipeline.fit(dataset.X_train, dataset.y_train, **{f"{step}__callbacks": list(callbacks)})
    else:
        features = pipeline[:-1].fit_transform(dataset.X_train, dataset.y_train)
        X_val = pipeline[:-1].transform(validation[0])
        pipeline[-1].fit(
            features,
            dataset.y_train,
            validation_data=(X_val, validation[1]),
            callbacks=list(callbacks),
        )
    seconds = time.perf_counter() - started
    history = {key: [float(v) for v in values] for key, values in pipeline[-1].history_.items()}
    return history, seconds


def score_on_test(pipeline: Pipeline, dataset: Dataset) -> TestScores:
    """Accuracy, log loss and F1 on the test split."""
    proba = pipeline.predict_proba(dataset.X_test)
    if not np.isfinite(proba).all():
        raise TrainingDiverged(
            "the trained network predicts NaN or infinite probabilities: its weights "
            "diverged; lower the learning rate (optimizer__learning_rate)"
        )
    classes = pipeline[-1].classes_
    y_pred = classes[np.argmax(proba, axis=1)]
    labels = np.arange(dataset.n_classes)
    per_class = f1_score(dataset.y_test, y_pred, labels=labels, average=None, zero_division=0)
    return TestScores(
        accuracy=float(accuracy_score(dataset.y_test, y_pred)),
        loss=float(log_loss(dataset.y_test, proba, labels=classes)),
        macro_f1=float(np.mean(per_class)),
        per_class_f1=dict(zip(dataset.class_names, map(float, per_class), strict=True)),
        y_pred=np.asarray(y_pred),
    )


def fit_and_score(pipeline: Pipeline, dataset: Dataset, *, callbacks: Sequence = ()) -> RunOutcome:
    """Fit ``pipeline`` on ``dataset``'s training split and score it on the test split."""
    history, seconds = fit_pipeline(pipeline, dataset, callbacks=callbacks)
    classifier = pipeline[-1]
    # The classifier holds out ceil(split * n) rows, as train_test_split does.
    n_validation = math.ceil((classifier.validation_split or 0.0) * len(dataset.y_train))
    return RunOutcome(
        pipeline=pipeline,
        history=history,
        fit_seconds=seconds,
        n_weights=classifier.count_weights(),
        n_validation=n_validation,
        test=score_on_test(pipeline, dataset),
    )

"""Fit a benchmark pipeline and score it: no printing, no tracking, no CLI.

The final step is a Keras network, trained epoch by epoch on the training split less
the validation share it carves itself, or a classic scikit-learn classifier (a
baseline), fitted in one call on the same rows, carved here.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import keras
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, log_loss
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from bench.data import Dataset
from bench.errors import TrainingDiverged
from bench.runtime.interrupts import interrupts_held, raise_if_interrupted
from estimators.sizes import stored_numbers
from estimators.splits import holdout_indices


@dataclass(frozen=True)
class TestScores:
    """Scores on the held-out test set, computed once at the end of a run."""

    accuracy: float
    loss: float | None  # None for a classifier without probabilities (an SVC)
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
    by_epoch: bool = True  # False for a baseline: its history holds one validation score

    @property
    def val_accuracy(self) -> float | None:
        """Validation accuracy at the end of training."""
        values = self.history.get("val_accuracy")
        return values[-1] if values else None


@dataclass(frozen=True)
class Holdout:
    """The validation split of a baseline: ``share`` of the training rows, chosen by
    ``seed`` as a network with that ``validation_split`` and ``random_state`` would."""

    share: float
    seed: int | None


def trains_by_epoch(classifier) -> bool:
    """Whether ``classifier`` is a network trained epoch by epoch (it has ``epochs``)
    rather than a classic scikit-learn classifier fitted in one call."""
    return "epochs" in classifier.get_params(deep=False)


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
    holdout: Holdout | None = None,
) -> tuple[dict[str, list[float]], float]:
    """Fit on the training split and return the per-epoch history and fit seconds.

    Without ``validation`` a network carves its own validation split, and a baseline
    the rows ``holdout`` names. With it, the validation images go through the same
    fitted features (HOG, scaling) before Keras scores them each epoch. A baseline's
    history is its validation accuracy alone.

    ``callbacks`` are Keras callbacks for this fit only (progress, live tracking);
    they are not hyper-parameters, so they are not set on the estimator.

    Raises
    ------
    TrainingDiverged
        Within the batch whose training loss is NaN or infinite.
    KeyboardInterrupt
        At the end of the batch a Ctrl-C or SIGTERM arrived in (see
        :func:`bench.runtime.interrupts.interrupts_held`).
    """
    if not trains_by_epoch(pipeline[-1]):
        return _fit_baseline(pipeline, dataset, validation, holdout)
    callbacks = [StopOnDivergence(), InterruptAtBatchEnd(), *callbacks]
    started = time.perf_counter()
    steps = _feature_steps(pipeline)
    features = steps.fit_transform(dataset.X_train, dataset.y_train)
    fit_params = {}
    if validation is not None:
        fit_params["validation_data"] = (steps.transform(validation[0]), validation[1])
    # The feature steps (HOG) above hear Ctrl-C at once; Keras training at each batch's
    # end, never inside TensorFlow, which would turn it into another error.
    with interrupts_held():
        pipeline[-1].fit(features, dataset.y_train, callbacks=callbacks, **fit_params)
    seconds = time.perf_counter() - started
    history = {key: [float(v) for v in values] for key, values in pipeline[-1].history_.items()}
    return history, seconds


class InterruptAtBatchEnd(keras.callbacks.Callback):
    """Raises, at the end of a training or validation batch, the Ctrl-C or SIGTERM that
    :func:`bench.runtime.interrupts.interrupts_held` held back while it ran."""

    def on_train_batch_end(self, batch, logs=None):
        raise_if_interrupted()

    def on_test_batch_end(self, batch, logs=None):
        raise_if_interrupted()


def _feature_steps(pipeline: Pipeline):
    """The steps before the classifier (scaling, HOG); the identity where there are none."""
    return pipeline[:-1] if len(pipeline) > 1 else FunctionTransformer()


def _fit_baseline(pipeline: Pipeline, dataset: Dataset, validation, holdout: Holdout | None):
    if validation is None:
        if holdout is None:
            raise ValueError("a baseline needs the Holdout that names its validation rows")
        train, val = holdout_indices(dataset.y_train, holdout.share, holdout.seed)
        X, y = dataset.X_train[train], dataset.y_train[train]
        validation = dataset.X_train[val], dataset.y_train[val]
    else:
        X, y = dataset.X_train, dataset.y_train
    started = time.perf_counter()
    pipeline.fit(X, y)
    seconds = time.perf_counter() - started
    return {"val_accuracy": [float(pipeline.score(*validation))]}, seconds


def score_on_test(pipeline: Pipeline, dataset: Dataset) -> TestScores:
    """Accuracy, log loss and F1 on the test split (no loss for a classifier without
    probabilities, such as an SVC: Platt scaling would cost five more fits)."""
    classes = pipeline[-1].classes_
    if hasattr(pipeline, "predict_proba"):
        proba = pipeline.predict_proba(dataset.X_test)
        if not np.isfinite(proba).all():
            raise TrainingDiverged(
                "the trained network predicts NaN or infinite probabilities: its weights "
                "diverged; lower the learning rate (optimizer__learning_rate)"
            )
        y_pred = classes[np.argmax(proba, axis=1)]
        loss = float(log_loss(dataset.y_test, proba, labels=classes))
    else:
        y_pred, loss = pipeline.predict(dataset.X_test), None
    labels = np.arange(dataset.n_classes)
    per_class = f1_score(dataset.y_test, y_pred, labels=labels, average=None, zero_division=0)
    return TestScores(
        accuracy=float(accuracy_score(dataset.y_test, y_pred)),
        loss=loss,
        macro_f1=float(np.mean(per_class)),
        per_class_f1=dict(zip(dataset.class_names, map(float, per_class), strict=True)),
        y_pred=np.asarray(y_pred),
    )


def fit_and_score(
    pipeline: Pipeline,
    dataset: Dataset,
    *,
    callbacks: Sequence = (),
    holdout: Holdout | None = None,
) -> RunOutcome:
    """Fit ``pipeline`` on ``dataset``'s training split and score it on the test split.

    ``holdout`` names a baseline's validation rows (a network carves its own, from its
    ``validation_split`` and ``random_state``); ``callbacks`` apply to networks only.
    """
    history, seconds = fit_pipeline(pipeline, dataset, callbacks=callbacks, holdout=holdout)
    classifier = pipeline[-1]
    by_epoch = trains_by_epoch(classifier)
    if by_epoch:
        share = classifier.validation_split or 0.0
    else:
        assert holdout is not None  # fit_pipeline refuses a baseline without one
        share = holdout.share
    return RunOutcome(
        pipeline=pipeline,
        history=history,
        fit_seconds=seconds,
        n_weights=stored_numbers(classifier),
        # ceil(share * n) rows are held out, as train_test_split does.
        n_validation=math.ceil(share * len(dataset.y_train)),
        test=score_on_test(pipeline, dataset),
        by_epoch=by_epoch,
    )

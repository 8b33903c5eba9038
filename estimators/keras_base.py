"""Shared behaviour of the Keras classifiers: scikit-learn >= 1.6 tags, image input,
seeding on every Keras backend, and a stratified validation split carved in ``fit``."""

from __future__ import annotations

import contextlib
import math
import numbers
from collections.abc import Callable, Iterator
from typing import Any

# First, so that Keras and its backend start there, without TensorFlow's start-up lines.
from estimators.backends import (
    enable_op_determinism,
    expect_one_predict_trace_per_model,
    layer_gradients,
)

# isort: split
import keras
import numpy as np
from scikeras.wrappers import KerasClassifier
from sklearn.utils import ClassifierTags, check_scalar
from sklearn.utils.validation import check_array, column_or_1d

from estimators.activations import resolve_activation
from estimators.splits import holdout_indices


class KerasImageClassifier(KerasClassifier):  # type: ignore[misc]  # scikeras is untyped
    """Base for classifiers whose Keras model takes flat images and ends in a softmax.

    Subclasses set their topology parameters in ``__init__`` and implement
    ``_hidden_layers(inputs) -> tensor``; this class adds the input, the softmax head
    and compilation.

    Input may be flat ``(n_samples, n_features)`` or image-shaped ``(n, h, w)`` /
    ``(n, h, w, c)``; image-shaped input is flattened here and the shape is kept in
    ``image_shape_`` so convolutional subclasses can restore it inside the model.
    """

    # Set in fit (image_shape_) and by scikeras (the others); declared for the type checker.
    image_shape_: tuple[int, ...] | None
    _fit_callbacks: list[Any]
    _random_state: Any

    def __sklearn_tags__(self) -> Any:
        # scikeras 0.13 lists BaseEstimator before ClassifierMixin, so the mixin's tags
        # never apply and `is_classifier` is False; CV would then use unstratified folds.
        tags = super().__sklearn_tags__()
        tags.estimator_type = "classifier"
        tags.classifier_tags = ClassifierTags(multi_class=True, multi_label=False)
        tags.target_tags.required = True
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "model_")

    # --- input -------------------------------------------------------------------
    def _validate_data(
        self, X: Any = None, y: Any = None, reset: bool = False, y_numeric: bool = False
    ) -> tuple[Any, Any]:
        if X is not None:
            X = self._checked_images(X, reset=reset)
        if getattr(y, "ndim", None) == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        X, y = super()._validate_data(X=X, y=y, reset=reset, y_numeric=y_numeric)
        if y is not None and reset:
            classes = np.unique(y, axis=0)
            if len(classes) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes; "
                    f"the data contains only one class: {classes[0].tolist()!r}."
                )
        return X, y

    def _checked_images(self, X: Any, *, reset: bool) -> Any:
        """``X`` checked by scikit-learn, flat, with the feature count checked at predict.

        scikeras checks X too, but only after the images are flattened (which fails
        on an empty batch) and, at predict, with messages that do not name X.
        """
        X = check_array(X, accept_sparse=False, dtype=None, allow_nd=True, input_name="X")
        X = self._flatten_images(X, reset=reset)
        if not reset and hasattr(self, "n_features_in_"):
            self._check_n_features(X)
        return X

    def _flatten_images(self, X: Any, *, reset: bool) -> Any:
        if hasattr(X, "ndim") and X.ndim >= 3:
            image_shape = tuple(X.shape[1:]) if X.ndim == 4 else (*X.shape[1:], 1)
            if not reset and getattr(self, "image_shape_", image_shape) != image_shape:
                raise ValueError(
                    f"X has images of shape {image_shape}, but {type(self).__name__} "
                    f"was fitted on images of shape {self.image_shape_}."
                )
            X = np.reshape(X, (X.shape[0], -1))
            if reset:
                self.image_shape_ = image_shape
        elif reset and hasattr(X, "shape") and len(X.shape) == 2:
            self.image_shape_ = self._square_image_shape(X.shape[1])
        return X

    def _square_image_shape(self, n_features: int) -> tuple[int, int, int] | None:
        # Only convolutional models need a 2-D shape; the MLP accepts any width.
        side = math.isqrt(n_features)
        return (side, side, 1) if side * side == n_features else None

    def _check_n_features(self, X: Any) -> None:
        n_features = X.shape[1] if len(getattr(X, "shape", ())) == 2 else None
        if n_features is not None and n_features != self.n_features_in_:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is expecting "
                f"{self.n_features_in_} features as input."
            )

    # --- model ---------------------------------------------------------------------
    def _keras_build_fn(self, compile_kwargs: dict[str, Any]) -> keras.Model:
        self._check_lr_schedule()  # at build, so a mistake shows before any training
        self._check_training_counts()
        inputs = keras.Input(shape=(self.n_features_in_,), name="pixels")
        hidden = self._hidden_layers(inputs)
        outputs = keras.layers.Dense(self.n_classes_, activation="softmax", name="softmax")(hidden)
        model = keras.Model(inputs, outputs, name=type(self).__name__)
        model.compile(
            optimizer=compile_kwargs["optimizer"],
            loss=compile_kwargs["loss"],
            metrics=compile_kwargs.get("metrics") or ["accuracy"],
        )
        return model

    def _hidden_layers(self, inputs: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _activation(self) -> str | Callable[[Any], Any]:
        return resolve_activation(self.activation)

    def _dense_block(self, x: Any, units: int, index: int, dropout: float) -> Any:
        x = keras.layers.Dense(units, name=f"dense_{index}")(x)
        if self.batch_norm:
            x = keras.layers.BatchNormalization(name=f"batch_norm_{index}")(x)
        x = keras.layers.Activation(self._activation(), name=f"activation_{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{index}")(x)
        return x

    def _dropout_rates(self, n_layers: int) -> list[float]:
        """``dropout`` as one rate per Dense layer: one for all, or one each."""
        if isinstance(self.dropout, int | float) or self.dropout is None:
            return [float(self.dropout or 0.0)] * n_layers
        rates = [float(rate) for rate in self.dropout]
        if len(rates) != n_layers:
            raise ValueError(
                f"dropout has {len(rates)} rates but the network has {n_layers} hidden Dense "
                "layers; give one rate per layer or a single rate."
            )
        return rates

    def _build_keras_model(self) -> keras.Model:
        self._seed_keras()
        with self._without_scikeras_seeding():
            return super()._build_keras_model()

    # --- training ------------------------------------------------------------------
    def _fit_keras_model(
        self,
        X: Any,
        y: Any,
        sample_weight: Any,
        warm_start: bool,
        epochs: int,
        initial_epoch: int,
        **kwargs: Any,
    ) -> None:
        if kwargs.get("validation_data") is not None:
            kwargs["validation_data"] = self._encoded_validation(*kwargs["validation_data"])
        elif self.validation_split:
            X, y, sample_weight, kwargs["validation_data"] = self._carve_validation(
                X, y, sample_weight
            )
            kwargs["validation_split"] = 0.0
        # Callbacks passed to fit() (progress bars, live tracking) belong to this fit
        # only; scikeras would drop them, so they join the configured ones here.
        configured = self._fit_callbacks
        # First: the gradients join each epoch's logs before any callback reads them.
        monitor = [GradientMonitor(X, y)] if getattr(self, "log_gradients", False) else []
        self._fit_callbacks = [*monitor, *configured, *(kwargs.pop("callbacks", None) or [])]
        self._schedule_learning_rate(len(X), epochs, kwargs.get("batch_size"))
        self._seed_keras()
        try:
            with self._without_scikeras_seeding():
                super()._fit_keras_model(
                    X, y, sample_weight, warm_start, epochs, initial_epoch, **kwargs
                )
        finally:
            self._fit_callbacks = configured

    def _schedule_learning_rate(self, n_samples: int, epochs: int, batch_size: int | None) -> None:
        """Put ``lr_schedule``, spread over this fit's steps, into the optimizer.

        The schedule is a Keras ``LearningRateSchedule`` inside the optimizer, so it
        follows the optimizer's step count on every backend at no per-batch cost.
        """
        name = getattr(self, "lr_schedule", None)
        if name is None:
            return
        if name not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={name!r} is not valid; use one of {', '.join(LR_SCHEDULES)} or None."
            )
        optimizer = self.model_.optimizer
        peak = getattr(optimizer, "_peak_learning_rate", None)
        if peak is None:  # a fresh optimizer: its rate is the configured one
            peak = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        steps = max(1, int(epochs) * math.ceil(n_samples / int(batch_size or self.batch_size)))
        # Count from this fit's first step, also when warm-starting a fitted model.
        start = int(keras.ops.convert_to_numpy(optimizer.iterations))
        optimizer.learning_rate = _StepOffset(LR_SCHEDULES[name](peak, steps), start)
        optimizer._peak_learning_rate = peak

    def _check_training_counts(self) -> None:
        # Keras would train zero epochs on epochs=-3 and fail later, far from the cause.
        for name in ("epochs", "batch_size"):
            value = getattr(self, name)
            if value is None and name == "batch_size":  # scikeras' default: Keras' 32
                continue
            if isinstance(value, bool):  # an Integral to Python, but epochs=True is a mistake
                raise ValueError(f"{name} must be a whole number, not {value!r}.")
            check_scalar(value, name, target_type=numbers.Integral, min_val=1)

    def _check_lr_schedule(self) -> str | None:
        name = getattr(self, "lr_schedule", None)
        if name is not None and name not in LR_SCHEDULES:
            raise ValueError(
                f"lr_schedule={name!r} is not valid; use one of {', '.join(LR_SCHEDULES)} or None."
            )
        return name

    def _encoded_validation(self, X_val: Any, y_val: Any) -> tuple[Any, Any]:
        """Validation data given as the user's images and labels, encoded like X, y."""
        X_val, y_val = self._validate_data(X_val, y_val, reset=False)
        return self.feature_encoder_.transform(X_val), self.target_encoder_.transform(y_val)

    def _carve_validation(
        self, X: np.ndarray, y: np.ndarray, sample_weight: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, tuple[np.ndarray, np.ndarray]]:
        """Split off ``validation_split`` of the (already encoded) training data.

        Keras' own ``validation_split`` takes the last rows before shuffling, which is
        biased on sorted data; this split is stratified and follows ``random_state``.
        """
        train_idx, val_idx = holdout_indices(y, self.validation_split, self._random_state)
        weights = None if sample_weight is None else np.asarray(sample_weight)[train_idx]
        return X[train_idx], y[train_idx], weights, (X[val_idx], y[val_idx])

    @contextlib.contextmanager
    def _without_scikeras_seeding(self) -> Iterator[None]:
        # scikeras wraps build and fit in a context that seeds TensorFlow only (not
        # JAX or torch), imports TensorFlow whatever the backend, and switches op
        # determinism off again when the fit ends, so a later fit or predict in the
        # same process is not deterministic. Seeding is done by _seed_keras instead,
        # and op determinism is switched on once per process.
        seed, self._random_state = self._random_state, None
        try:
            yield
        finally:
            self._random_state = seed

    def _seed_keras(self) -> None:
        # scikeras seeds only TensorFlow; this also covers the JAX and torch backends
        # and Keras' own global seed generator.
        if self._random_state is not None:
            keras.utils.set_random_seed(int(self._random_state))
            enable_op_determinism()

    # --- prediction ----------------------------------------------------------------
    def _predict_raw(self, X: Any, **kwargs: Any) -> Any:
        # Keras traces its prediction function once per batch shape, so the short last
        # batch of a predict would cost a second trace (a second compilation on JAX):
        # it is padded to a full batch with copies of the last image, then cut off.
        if not self.initialized_:
            return super()._predict_raw(X, **kwargs)  # scikeras' NotFittedError
        X = self._checked_images(X, reset=False)
        batch_size = (
            kwargs.get("batch_size")
            or getattr(self, "predict__batch_size", None)
            or self.batch_size
            or _KERAS_BATCH_SIZE
        )
        padding = -len(X) % batch_size if batch_size > 0 else 0
        if padding:
            X = np.concatenate([X, np.repeat(X[-1:], padding, axis=0)])
        expect_one_predict_trace_per_model(self.model_)
        return super()._predict_raw(X, **kwargs)[: len(X) - padding]

    # --- reporting -----------------------------------------------------------------
    def count_weights(self) -> int:
        """Number of weights (trainable and not) in the fitted Keras model."""
        return int(self.model_.count_params())


_KERAS_BATCH_SIZE = 32  # what Keras' predict uses when batch_size is None


def _one_cycle(peak: float, steps: int) -> Any:
    warmup = max(1, steps // 5)
    return keras.optimizers.schedules.CosineDecay(
        peak / 10, max(1, steps - warmup), warmup_target=peak, warmup_steps=warmup
    )


def _cosine(peak: float, steps: int) -> Any:
    return keras.optimizers.schedules.CosineDecay(peak, steps)


LR_SCHEDULES: dict[str, Callable[[float, int], Any]] = {"one_cycle": _one_cycle, "cosine": _cosine}


@keras.saving.register_keras_serializable(package="bench")
class _StepOffset(keras.optimizers.schedules.LearningRateSchedule):  # type: ignore[misc]  # untyped
    """``schedule`` started at optimizer step ``start`` rather than 0."""

    def __init__(self, schedule: Any, start: int = 0) -> None:
        self.schedule = schedule
        self.start = start

    def __call__(self, step: Any) -> Any:
        return self.schedule(keras.ops.maximum(step - self.start, 0))

    def get_config(self) -> dict[str, Any]:
        return {"schedule": keras.saving.serialize_keras_object(self.schedule), "start": self.start}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> _StepOffset:
        schedule = keras.saving.deserialize_keras_object(config["schedule"])
        return cls(schedule, config["start"])


class GradientMonitor(keras.callbacks.Callback):  # type: ignore[misc]  # Keras is untyped
    """Adds, at each epoch's end, the mean absolute gradient of every layer's weights
    and biases to the epoch's logs (``grad_dense_1_kernel``, ``grad_dense_1_bias``, ...),
    so they reach ``history_`` and whatever logs the epoch.

    Measured on a fixed batch of the training data (the first ``batch_size`` rows), in
    inference mode, so epochs are comparable and vanishing gradients show as a fall
    towards the input layers.
    """

    def __init__(self, X: Any, y: Any, batch_size: int = 256) -> None:
        super().__init__()
        self.X = np.asarray(X[:batch_size])
        self.y = np.asarray(y[:batch_size])
        if self.y.ndim == 2:  # one-hot targets: the class index
            self.y = np.argmax(self.y, axis=1)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if logs is None:
            return
        for path, value in layer_gradients(self.model, self.X, self.y).items():
            logs[GRADIENT_PREFIX + path.replace("/", "_")] = value


GRADIENT_PREFIX = "grad_"

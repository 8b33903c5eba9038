"""Multi-layer perceptron classifier with a scikit-learn interface."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
from sklearn.utils import check_scalar

from estimators.keras_base import KerasImageClassifier


class KerasMLPClassifier(KerasImageClassifier):
    """Fully connected network: Dense layers with optional batch norm and dropout.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden Dense layer, input side first.
    activation : str, default="relu"
        Hidden activation: relu, tanh, sigmoid, scaled_tanh (1.7159 tanh(2x/3)),
        lecun_tanh (1.7159 tanh(2x/3) + 0.01 x), elu, selu, gelu or swish.
    dropout : float or tuple of float, default=0.0
        Dropout rate after each hidden layer (0 disables it), or one rate per hidden
        layer.
    batch_norm : bool, default=False
        Batch normalisation between each Dense layer and its activation.
    optimizer : str or keras optimizer, default="rmsprop"
        Routed the scikeras way: set ``optimizer__learning_rate`` and so on.
    loss : str, default="sparse_categorical_crossentropy"
    log_gradients : bool, default=False
        Add to each epoch's logs (and ``history_``) the mean absolute gradient of every
        layer's weights and biases, measured on a fixed training batch
        (``grad_dense_1_kernel``, ...).
    lr_schedule : {None, "one_cycle", "cosine"}, default=None
        Learning rate over the fit, per batch: None keeps the optimizer's rate;
        "cosine" decays it to 0; "one_cycle" warms up from a tenth of it over the first
        fifth of the steps, then decays it to 0. The peak is the optimizer's rate.
    epochs : int, default=10
    batch_size : int, default=128
    validation_split : float, default=0.0
        Share of the training data held out, stratified, for per-epoch validation
        metrics (``val_loss``, ``val_accuracy`` in ``history_``).
    verbose : int, default=0
        Keras' own progress output.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, dropout, shuffling and the validation split.
    **kwargs
        Further scikeras parameters, e.g. ``optimizer__learning_rate=1e-3``,
        ``callbacks``, ``shuffle``.

    Attributes
    ----------
    model_ : keras.Model
    history_ : dict of list
    classes_ : ndarray
    n_features_in_ : int

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from estimators import PixelScaler
    >>> X, y = load_digits(return_X_y=True)
    >>> mlp = KerasMLPClassifier((64,), epochs=3, validation_split=0.1, random_state=0)
    >>> pipe = make_pipeline(PixelScaler(max_value=16), mlp).fit(X, y)
    >>> pipe.predict(X[:3]).shape
    (3,)
    >>> sorted(mlp.history_)  # per-epoch curves on the stratified validation split
    ['accuracy', 'loss', 'val_accuracy', 'val_loss']
    >>> mlp.count_weights()  # 64*64+64 + 64*10+10
    4810
    """

    # Settings that take one value for every layer or a value per layer (`bench run
    # --set dropout=(0.5, 0.5, 0.0)` reads this).
    per_layer_params: ClassVar[tuple[str, ...]] = ("dropout",)

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] = (100,),
        *,
        activation: str = "relu",
        dropout: float | Sequence[float] = 0.0,
        batch_norm: bool = False,
        optimizer: Any = "rmsprop",
        loss: Any = "sparse_categorical_crossentropy",
        metrics: Any = None,
        lr_schedule: str | None = None,
        log_gradients: bool = False,
        epochs: int = 10,
        batch_size: int | None = 128,
        validation_split: float = 0.0,
        verbose: int = 0,
        random_state: int | np.random.RandomState | None = None,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            verbose=verbose,
            random_state=random_state,
            callbacks=callbacks,
            **kwargs,
        )
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.lr_schedule = lr_schedule
        self.log_gradients = log_gradients

    def _hidden_layers(self, inputs: Any) -> Any:
        sizes = self._layer_sizes()
        x = inputs
        for index, (units, rate) in enumerate(
            zip(sizes, self._dropout_rates(len(sizes)), strict=True), start=1
        ):
            x = self._dense_block(x, int(units), index, rate)
        return x

    def _layer_sizes(self) -> tuple[int, ...]:
        return tuple(self.hidden_layer_sizes)


class KerasDeepMLPClassifier(KerasMLPClassifier):
    """An MLP of ``depth`` Dense layers of equal width, for studying depth.

    Layers are counted as the course reports count them: the hidden layers plus the
    softmax layer, so ``depth=5`` is 784-32-32-32-32-10 on MNIST (28,618 weights).
    Every other parameter is :class:`KerasMLPClassifier`'s.

    Parameters
    ----------
    depth : int, default=5
        Dense layers, the softmax layer included (at least 2).
    units : int, default=32
        Units of each hidden layer.
    activation, dropout, batch_norm, optimizer, loss, metrics, lr_schedule,
    log_gradients, epochs, batch_size, validation_split, verbose, random_state,
    callbacks, **kwargs
        As for :class:`KerasMLPClassifier`.
    """

    def __init__(
        self,
        depth: int = 5,
        units: int = 32,
        *,
        activation: str = "relu",
        dropout: float | Sequence[float] = 0.0,
        batch_norm: bool = False,
        optimizer: Any = "rmsprop",
        loss: Any = "sparse_categorical_crossentropy",
        metrics: Any = None,
        lr_schedule: str | None = None,
        log_gradients: bool = False,
        epochs: int = 10,
        batch_size: int | None = 128,
        validation_split: float = 0.0,
        verbose: int = 0,
        random_state: int | np.random.RandomState | None = None,
        callbacks: Any = None,
        **kwargs: Any,
    ) -> None:
        # KerasMLPClassifier's own __init__ would store hidden_layer_sizes, which is
        # not a parameter here: scikit-learn's contract is to store exactly the
        # signature's parameters. So KerasImageClassifier's (scikeras') is called.
        super(KerasMLPClassifier, self).__init__(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            epochs=epochs,
            batch_size=batch_size,
            validation_split=validation_split,
            verbose=verbose,
            random_state=random_state,
            callbacks=callbacks,
            **kwargs,
        )
        self.depth = depth
        self.units = units
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.lr_schedule = lr_schedule
        self.log_gradients = log_gradients

    def _layer_sizes(self) -> tuple[int, ...]:
        check_scalar(self.depth, "depth", target_type=numbers.Integral, min_val=2)
        check_scalar(self.units, "units", target_type=numbers.Integral, min_val=1)
        return (int(self.units),) * (int(self.depth) - 1)

"""Multi-layer perceptron classifier with a scikit-learn interface."""

from __future__ import annotations

from estimators.keras_base import KerasImageClassifier


class KerasMLPClassifier(KerasImageClassifier):
    """Fully connected network: Dense layers with optional batch norm and dropout.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(100,)
        Units of each hidden Dense layer, input side first.
    activation : str, default="relu"
        Hidden activation: relu, tanh, sigmoid, scaled_tanh (1.7159 tanh(2x/3)), elu,
        selu, gelu or swish.
    dropout : float, default=0.0
        Dropout rate after each hidden layer (0 disables it).
    batch_norm : bool, default=False
        Batch normalisation between each Dense layer and its activation.
    optimizer : str or keras optimizer, default="rmsprop"
        Routed the scikeras way: set ``optimizer__learning_rate`` and so on.
    loss : str, default="sparse_categorical_crossentropy"
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

    def __init__(
        self,
        hidden_layer_sizes=(100,),
        *,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        optimizer="rmsprop",
        loss="sparse_categorical_crossentropy",
        metrics=None,
        lr_schedule=None,
        epochs=10,
        batch_size=128,
        validation_split=0.0,
        verbose=0,
        random_state=None,
        callbacks=None,
        **kwargs,
    ):
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

    def _hidden_layers(self, inputs):
        x = inputs
        for index, units in enumerate(self.hidden_layer_sizes, start=1):
            x = self._dense_block(x, int(units), index)
        return x

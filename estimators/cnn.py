"""Convolutional classifier with a scikit-learn interface."""

from __future__ import annotations

import keras

from estimators.keras_base import KerasImageClassifier


def _per_block(value, n_blocks: int, name: str) -> list[int]:
    """Expand an int, or check a sequence, to one value per convolutional block."""
    if isinstance(value, int) or value is None:
        return [value or 0] * n_blocks
    values = [int(v) for v in value]
    if len(values) != n_blocks:
        raise ValueError(
            f"{name} has {len(values)} values but filters has {n_blocks} blocks; "
            f"give one value per block or a single int."
        )
    return values


class KerasCNNClassifier(KerasImageClassifier):
    """Convolutional network: conv blocks (conv, optional batch norm, activation,
    max-pool), then a Dense head with dropout.

    Parameters
    ----------
    filters : tuple of int, default=(32, 64)
        Filters of each convolutional block.
    kernel_sizes : int or tuple of int, default=3
        Square kernel size, one for all blocks or one per block.
    strides : int or tuple of int, default=1
        Convolution stride, one for all blocks or one per block. A stride of 2 with
        ``pool=1`` halves the image as a pool of 2 does, at a quarter of the
        convolution's work and without the costly max-pool gradient.
    pool : int or tuple of int, default=2
        Max-pool size after each block (0 or 1: no pooling), one or per block.
    dense_layers : tuple of int, default=(128,)
        Units of the Dense layers after flattening.
    activation : str, default="relu"
    dropout : float, default=0.0
        Dropout rate after each Dense layer of the head.
    batch_norm : bool, default=False
        Batch normalisation after each convolution and Dense layer.
    padding : {"same", "valid"}, default="same"
    lr_schedule : {None, "one_cycle", "cosine"}, default=None
        As for :class:`estimators.KerasMLPClassifier`.
    optimizer : str or keras optimizer, default="adam"
        Routed the scikeras way: ``optimizer__learning_rate`` and so on.
    epochs, batch_size, validation_split, verbose, random_state, **kwargs
        As for :class:`estimators.KerasMLPClassifier`.

    Notes
    -----
    Input is ``(n, h, w)``, ``(n, h, w, c)`` or flat ``(n, s*s)`` for square
    single-channel images; the model reshapes flat input back to images.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> digits = load_digits()
    >>> images, y = digits.images / 16.0, digits.target  # (1797, 8, 8)
    >>> cnn = KerasCNNClassifier(filters=(8,), kernel_sizes=3, pool=2, dense_layers=(32,),
    ...                          epochs=3, random_state=0).fit(images, y)
    >>> cnn.count_weights()  # conv 3*3*8+8, dense (4*4*8)*32+32, softmax 32*10+10
    4538
    >>> cnn.predict_proba(images[:2]).shape
    (2, 10)
    """

    def __init__(
        self,
        filters=(32, 64),
        kernel_sizes=3,
        pool=2,
        dense_layers=(128,),
        *,
        strides=1,
        lr_schedule=None,
        activation="relu",
        dropout=0.0,
        batch_norm=False,
        padding="same",
        optimizer="adam",
        loss="sparse_categorical_crossentropy",
        metrics=None,
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
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.pool = pool
        self.strides = strides
        self.lr_schedule = lr_schedule
        self.dense_layers = dense_layers
        self.activation = activation
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.padding = padding

    def _hidden_layers(self, inputs):
        image_shape = self._checked_image_shape()
        x = keras.layers.Reshape(image_shape, name="image")(inputs)
        kernels = _per_block(self.kernel_sizes, len(self.filters), "kernel_sizes")
        pools = _per_block(self.pool, len(self.filters), "pool")
        strides = [max(1, s) for s in _per_block(self.strides, len(self.filters), "strides")]
        self._check_fits(image_shape, kernels, pools, strides)
        blocks = zip(self.filters, kernels, pools, strides, strict=True)
        for index, (n_filters, kernel, pool, stride) in enumerate(blocks, start=1):
            x = self._conv_block(x, int(n_filters), kernel, pool, index, stride)
        x = keras.layers.Flatten(name="flatten")(x)
        for index, units in enumerate(self.dense_layers, start=1):
            x = self._dense_block(x, int(units), index)
        return x

    def _conv_block(self, x, n_filters: int, kernel: int, pool: int, index: int, stride: int = 1):
        x = keras.layers.Conv2D(
            n_filters, kernel, strides=stride, padding=self.padding, name=f"conv_{index}"
        )(x)
        if self.batch_norm:
            x = keras.layers.BatchNormalization(name=f"conv_batch_norm_{index}")(x)
        x = keras.layers.Activation(self._activation(), name=f"conv_activation_{index}")(x)
        if pool > 1:
            x = keras.layers.MaxPooling2D(pool, name=f"pool_{index}")(x)
        return x

    def _checked_image_shape(self) -> tuple[int, int, int]:
        if self.image_shape_ is None:
            raise ValueError(
                f"{type(self).__name__} needs images: X has {self.n_features_in_} "
                f"features, which is not a square number; pass X shaped "
                f"(n_samples, height, width) instead."
            )
        return self.image_shape_

    def _check_fits(self, image_shape, kernels, pools, strides) -> None:
        """Fail early, in words, when the blocks shrink the image below one pixel."""
        height, width = image_shape[:2]
        for kernel, pool, stride in zip(kernels, pools, strides, strict=True):
            if self.padding == "valid":
                height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
            else:
                height, width = -(-height // stride), -(-width // stride)
            if pool > 1:
                height, width = height // pool, width // pool
            if height < 1 or width < 1:
                raise ValueError(
                    f"{len(self.filters)} conv blocks with kernel_sizes={self.kernel_sizes}, "
                    f"strides={self.strides} and pool={self.pool} shrink "
                    f"{image_shape[0]}x{image_shape[1]} images to nothing; use fewer blocks, "
                    f"smaller pooling or strides, or 'same' padding."
                )

"""Convolutional classifier with a scikit-learn interface."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

# First, so that Keras and its backend start there, without TensorFlow's start-up lines.
from estimators import backends  # noqa: F401

# isort: split
import keras
import numpy as np

from estimators.keras_base import KerasImageClassifier

AUGMENTATIONS = ("flip", "shift_flip", "shift_rotate_zoom")

# (filters, kernel, pool, stride, padding, dropout) of a convolutional block.
_Block = tuple[int, int, int, int, str, float]


def _per_block(value: Any, n_blocks: int, name: str, kind: type[Any] = int) -> list[Any]:
    """Expand a single value, or check a sequence, to one value per convolutional block."""
    if isinstance(value, int | float | str) or value is None:
        return [value or kind()] * n_blocks
    values = [kind(v) for v in value]
    if len(values) != n_blocks:
        raise ValueError(
            f"{name} has {len(values)} values but filters has {n_blocks} blocks; "
            f"give one value per block or a single int."
        )
    return values


class KerasCNNClassifier(KerasImageClassifier):
    """Convolutional network: conv blocks (conv, optional batch norm, activation,
    max-pool), then a Dense head with dropout.

    Each block is a convolution, its batch norm, the activation, a max-pool and a
    dropout (each optional). The seed network of the CIFAR-10 report, for one, is
    ``filters=(32, 32, 64, 64), padding=("same", "valid") * 2, pool=(1, 2, 1, 2),
    conv_dropout=(0, 0.25, 0, 0.25), dense_layers=(512,), dropout=0.5``.

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
    dropout : float or tuple of float, default=0.0
        Dropout rate after each Dense layer of the head, one or per layer.
    conv_dropout : float or tuple of float, default=0.0
        Dropout rate at the end of each convolutional block, one or per block.
    batch_norm : bool or "dense", default=False
        Batch normalisation after each convolution and Dense layer; ``"dense"``: after
        the Dense layers of the head only (on a CPU, a convolution's batch norm can
        cost as much as the convolution: ``mnist-fast``'s two took 40% of its epoch).
    padding : {"same", "valid"} or tuple of them, default="same"
        One for all blocks or one per block.
    augment : {None, "flip", "shift_flip", "shift_rotate_zoom"}, default=None
        Random augmentation of the training images as Keras preprocessing layers at
        the model's input, so they act in training only: "flip" flips images left to
        right, and nothing else (centred objects: clothes); "shift_flip" shifts images
        by up to 10% of their size and flips them left to right (photographs);
        "shift_rotate_zoom" shifts them by up to 10%, turns them by up to 10 degrees
        and zooms by up to 10%, without flips, which would change what a digit or a
        letter is.
    lr_schedule : {None, "one_cycle", "cosine"}, default=None
        As for :class:`estimators.KerasMLPClassifier`.
    log_gradients : bool, default=False
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

    # Settings that take one value for every block or a value per block (`bench run
    # --set pool=(1, 2, 1, 2)` reads this).
    # (filters is always one per block: its count is the number of blocks.)
    per_layer_params: ClassVar[tuple[str, ...]] = (
        "kernel_sizes",
        "strides",
        "pool",
        "padding",
        "conv_dropout",
        "dropout",
    )

    def __init__(
        self,
        filters: Sequence[int] = (32, 64),
        kernel_sizes: int | Sequence[int] = 3,
        pool: int | Sequence[int] = 2,
        dense_layers: Sequence[int] = (128,),
        *,
        strides: int | Sequence[int] = 1,
        lr_schedule: str | None = None,
        activation: str = "relu",
        dropout: float | Sequence[float] = 0.0,
        conv_dropout: float | Sequence[float] = 0.0,
        batch_norm: bool | str = False,
        padding: str | Sequence[str] = "same",
        augment: str | None = None,
        log_gradients: bool = False,
        optimizer: Any = "adam",
        loss: Any = "sparse_categorical_crossentropy",
        metrics: Any = None,
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
        self.filters = filters
        self.kernel_sizes = kernel_sizes
        self.pool = pool
        self.strides = strides
        self.lr_schedule = lr_schedule
        self.dense_layers = dense_layers
        self.activation = activation
        self.dropout = dropout
        self.conv_dropout = conv_dropout
        self.batch_norm = batch_norm
        self.padding = padding
        self.augment = augment
        self.log_gradients = log_gradients

    def _hidden_layers(self, inputs: Any) -> Any:
        image_shape = self._checked_image_shape()
        x = keras.layers.Reshape(image_shape, name="image")(inputs)
        x = self._augmentation(x)
        if self.batch_norm not in (True, False, "dense"):
            raise ValueError(
                f"batch_norm={self.batch_norm!r} is not valid; use True, False or 'dense'."
            )
        blocks = self._blocks()
        self._check_fits(image_shape, blocks)
        for index, block in enumerate(blocks, start=1):
            x = self._conv_block(x, index, *block)
        x = keras.layers.Flatten(name="flatten")(x)
        rates = self._dropout_rates(len(self.dense_layers))
        for index, (units, rate) in enumerate(zip(self.dense_layers, rates, strict=True), 1):
            x = self._dense_block(x, int(units), index, rate)
        return x

    def _blocks(self) -> list[_Block]:
        """(filters, kernel, pool, stride, padding, dropout) of each block."""
        n = len(self.filters)
        return list(
            zip(
                [int(f) for f in self.filters],
                _per_block(self.kernel_sizes, n, "kernel_sizes"),
                _per_block(self.pool, n, "pool"),
                [max(1, s) for s in _per_block(self.strides, n, "strides")],
                _per_block(self.padding, n, "padding", str),
                _per_block(self.conv_dropout, n, "conv_dropout", float),
                strict=True,
            )
        )

    def _augmentation(self, x: Any) -> Any:
        if self.augment is None:
            return x
        if self.augment not in AUGMENTATIONS:
            raise ValueError(
                f"augment={self.augment!r} is not valid; use one of {', '.join(AUGMENTATIONS)} "
                "or None."
            )
        if self.augment == "shift_rotate_zoom":
            # Zeros outside, like the digits' own background.
            x = keras.layers.RandomRotation(10 / 360, fill_mode="constant", name="rotate")(x)
            x = keras.layers.RandomZoom(0.1, fill_mode="constant", name="zoom")(x)
            return keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", name="shift")(x)
        if self.augment == "shift_flip":
            x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", name="shift")(x)
        return keras.layers.RandomFlip("horizontal", name="flip")(x)

    def _conv_block(
        self,
        x: Any,
        index: int,
        n_filters: int,
        kernel: int,
        pool: int,
        stride: int,
        padding: str,
        dropout: float,
    ) -> Any:
        x = keras.layers.Conv2D(
            n_filters, kernel, strides=stride, padding=padding, name=f"conv_{index}"
        )(x)
        if self.batch_norm is True:
            x = keras.layers.BatchNormalization(name=f"conv_batch_norm_{index}")(x)
        x = keras.layers.Activation(self._activation(), name=f"conv_activation_{index}")(x)
        if pool > 1:
            x = keras.layers.MaxPooling2D(pool, name=f"pool_{index}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"conv_dropout_{index}")(x)
        return x

    def _checked_image_shape(self) -> tuple[int, ...]:
        if self.image_shape_ is None:
            raise ValueError(
                f"{type(self).__name__} needs images: X has {self.n_features_in_} "
                f"features, which is not a square number; pass X shaped "
                f"(n_samples, height, width) instead."
            )
        return self.image_shape_

    def _check_fits(self, image_shape: tuple[int, ...], blocks: list[_Block]) -> None:
        """Fail early, in words, when the blocks shrink the image below one pixel."""
        height, width = image_shape[:2]
        for _, kernel, pool, stride, padding, _ in blocks:
            if padding == "valid":
                height, width = (height - kernel) // stride + 1, (width - kernel) // stride + 1
            else:
                height, width = -(-height // stride), -(-width // stride)
            if pool > 1:
                height, width = height // pool, width // pool
            if height < 1 or width < 1:
                raise ValueError(
                    f"{len(self.filters)} conv blocks with kernel_sizes={self.kernel_sizes}, "
                    f"strides={self.strides}, padding={self.padding} and pool={self.pool} "
                    f"shrink {image_shape[0]}x{image_shape[1]} images to nothing; use fewer "
                    "blocks, smaller pooling or strides, or 'same' padding."
                )

    # --- looking inside ----------------------------------------------------------------
    def first_filters(self) -> np.ndarray:
        """The fitted first convolution's kernel, (height, width, channels, filters)."""
        kernel: np.ndarray = keras.ops.convert_to_numpy(self.model_.get_layer("conv_1").kernel)
        return kernel

    def feature_maps(self, image: Any) -> list[tuple[str, object]]:
        """The output of each convolution for one image, input side first.

        Parameters
        ----------
        image : array-like of shape (height, width) or (height, width, channels)
            In the form the classifier was fitted on (after the pipeline's earlier
            steps, e.g. scaled).

        Returns
        -------
        list of (str, ndarray of shape (height, width, filters))
        """
        convolutions = [layer for layer in self.model_.layers if layer.name.startswith("conv_")]
        convolutions = [layer for layer in convolutions if type(layer).__name__ == "Conv2D"]
        probe = keras.Model(self.model_.inputs, [layer.output for layer in convolutions])
        flat = keras.ops.convert_to_numpy(keras.ops.reshape(image, (1, -1))).astype("float32")
        outputs = probe([flat], training=False)
        outputs = outputs if isinstance(outputs, list | tuple) else [outputs]
        return [
            (layer.name, keras.ops.convert_to_numpy(output)[0])
            for layer, output in zip(convolutions, outputs, strict=True)
        ]

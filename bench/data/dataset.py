"""The :class:`Dataset` every loader returns."""

import hashlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """An image classification dataset split into train and test.

    The arrays are made read-only on construction. Compare datasets by ``digest``.

    Parameters
    ----------
    name : str
        Dataset name, e.g. ``"mnist"``.
    X_train, X_test : numpy.ndarray
        Images, ``uint8`` of shape (n, height, width), or (n, height, width, 3) for
        colour images in RGB order.
    y_train, y_test : numpy.ndarray
        Labels, ``int64`` in ``0 .. n_classes - 1`` of shape (n,).
    class_names : tuple of str
        Class names indexed by label.
    pixel_max : float
        Largest possible pixel value (255 for MNIST, 16 for digits).
    digest : str
        SHA-256 identifying exactly these arrays; see :func:`dataset_digest`.
    source : str
        Where the data was loaded from.
    user_images : bool
        The user's own images (:func:`bench.data.load_user_data`), only fitted to the
        network's input: new pictures are prepared for its models the same way.
    flip_safe : bool
        A left-right mirrored image keeps its class (clothes, objects; not digits).
        Unknown for the user's own images, so False there.
    """

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    class_names: tuple[str, ...]
    pixel_max: float
    digest: str
    source: str
    user_images: bool = False
    flip_safe: bool = False

    def __post_init__(self) -> None:
        for array in (self.X_train, self.y_train, self.X_test, self.y_test):
            array.flags.writeable = False

    @property
    def image_shape(self) -> tuple[int, ...]:
        """Shape of one image, (height, width) or (height, width, channels)."""
        return tuple(self.X_train.shape[1:])

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def sizes(self) -> dict[str, int]:
        """Number of images per split: ``{"train": n, "test": n}``."""
        return {"train": len(self.X_train), "test": len(self.X_test)}

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, train={len(self.X_train)}, test={len(self.X_test)}, "
            f"image_shape={self.image_shape}, n_classes={self.n_classes}, "
            f"digest={self.digest[:12]!r}, source={self.source!r})"
        )


def dataset_digest(
    X_train: np.ndarray, y_train: np.ndarray, X_test: np.ndarray, y_test: np.ndarray
) -> str:
    """SHA-256 (hex) over the dtype, shape and bytes of the four arrays, in this order.

    Parameters
    ----------
    X_train, y_train, X_test, y_test : numpy.ndarray
        The arrays of a :class:`Dataset`.

    Returns
    -------
    str
        64 hex digits; equal for equal data, whatever the array's memory layout.
    """
    digest = hashlib.sha256()
    for array in (X_train, y_train, X_test, y_test):
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(array.data.cast("B"))
    return digest.hexdigest()

"""Reading of SVHN's cropped digits, the "format 2" files ``train_32x32.mat`` and
``test_32x32.mat``.

Each file holds ``X``, ``uint8`` images of shape (32, 32, 3, n) (row, column, channel,
image), and ``y``, labels of shape (n, 1) in 1..10 where 10 is the digit 0.
"""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.data.catalog import Layout, PublishedFile, SvhnEntry
from bench.data.fetch import check_published_checksum
from bench.data.matlab import read_mat_variables
from bench.errors import CorruptDataError

# The files label the digit 0 as 10.
ZERO_LABEL = 10
REMEDY = "replace the file or delete it to download it again"


def read_svhn_files(
    entry: SvhnEntry, layout: Layout, paths: Sequence[Path], verify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate the train and test files of ``entry`` at ``paths``.

    The reader of SVHN entries for :func:`bench.data.fetch.fetch_dataset`.

    Parameters
    ----------
    entry : SvhnEntry
        Checksums, image shape and classes the files must have.
    layout : Layout
        ``entry.layouts[0]``, the only layout of SVHN.
    paths : sequence of pathlib.Path
        The train file, then the test file.
    verify : bool
        Check each file's MD5 against the published one, before it is parsed.

    Returns
    -------
    tuple of numpy.ndarray
        X_train, y_train, X_test, y_test: images ``uint8`` of shape (n, 32, 32, 3),
        labels ``int64`` equal to the digit shown.

    Raises
    ------
    CorruptDataError
        If a file is not the published one (with ``verify``), not MATLAB 5, damaged,
        or lacks well-formed ``X`` and ``y``.
    """
    train_path, test_path = paths
    X_train, y_train = read_svhn_mat(train_path, entry, entry.train if verify else None)
    X_test, y_test = read_svhn_mat(test_path, entry, entry.test if verify else None)
    return X_train, y_train, X_test, y_test


def read_svhn_mat(
    path: Path, entry: SvhnEntry, published: PublishedFile | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, height, width, channels) and digit labels of one SVHN ``.mat`` file.

    Parameters
    ----------
    path : pathlib.Path
        The file.
    entry : SvhnEntry
        Image shape and classes the file must have.
    published : PublishedFile, optional
        If given, the file must have its checksum. It is checked before the file is
        parsed, so that only the published bytes reach the MATLAB reader.

    Returns
    -------
    tuple of numpy.ndarray
        Images ``uint8``, C-contiguous; labels ``int64``.

    Raises
    ------
    CorruptDataError
        As :func:`read_svhn_files`.
    """
    raw = path.read_bytes()
    if published is not None:
        check_published_checksum(raw, path, published, entry.title)
    variables = read_mat_variables(raw, path, ("X", "y"))
    del raw  # the train file is 182 MB
    for name, what in (("X", "images"), ("y", "labels")):
        if name not in variables:
            raise CorruptDataError(
                f"{path}: no variable {name} (the {what}); an SVHN file holds X and y; {REMEDY}"
            )
    images = _images(variables["X"], path, entry)
    labels = _labels(variables["y"], len(images), path, entry)
    return images, labels


def _images(X: np.ndarray, path: Path, entry: SvhnEntry) -> np.ndarray:
    if X.dtype != np.uint8:
        raise CorruptDataError(f"{path}: X is {X.dtype}, expected uint8 images; {REMEDY}")
    if X.ndim != 4 or X.shape[:3] != tuple(entry.image_shape):
        expected = ", ".join(str(size) for size in entry.image_shape)
        raise CorruptDataError(
            f"{path}: X has shape {X.shape}, expected ({expected}, n) for {entry.title}; {REMEDY}"
        )
    # MATLAB's (row, column, channel, image) becomes (image, row, column, channel).
    return np.ascontiguousarray(X.transpose(3, 0, 1, 2))


def _labels(y: np.ndarray, n_images: int, path: Path, entry: SvhnEntry) -> np.ndarray:
    if y.shape not in ((n_images, 1), (1, n_images)):
        raise CorruptDataError(
            f"{path}: X holds {n_images} images but y has shape {y.shape}, expected "
            f"({n_images}, 1); {REMEDY}"
        )
    labels = y.ravel()
    # MATLAB stores labels as doubles unless told otherwise; whole numbers are fine.
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(labels % 1 == 0)):
        raise CorruptDataError(f"{path}: y holds non-integer labels ({y.dtype}); {REMEDY}")
    n_classes = len(entry.class_names)
    out_of_range = labels[(labels < 1) | (labels > n_classes)]
    if out_of_range.size:
        raise CorruptDataError(
            f"{path}: label {float(out_of_range[0]):g} out of range; {entry.title} labels are "
            f"1..{n_classes} ({ZERO_LABEL} is the digit 0); {REMEDY}"
        )
    return np.where(labels == ZERO_LABEL, 0, labels).astype(np.int64)

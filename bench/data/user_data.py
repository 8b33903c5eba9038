"""Your own data as a :class:`Dataset`: a folder of images, a CSV of pixels or an ``.npz``.

:func:`load_user_data` reads the images, fits them to a network's input (grey or
colour, resized), holds out a stratified test split when the data has none, and says in
one line each what it changed. What each format may hold is in
:mod:`bench.data.image_folder` and :mod:`bench.data.user_arrays`.

The decoded arrays (before the split, which is quick) are cached like the catalog's
datasets, under ``cache_root()/arrays/user-data/<key>/``, keyed by every source file's
path, size, times and inode and by the input shape: a changed file, or one more or
less in a folder, decodes again. See :mod:`bench.data.array_cache`.
"""

from __future__ import annotations

import hashlib
import math
import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split

from bench.data.array_cache import CacheSlot, cache_slot, read_cached_arrays, write_cached_arrays
from bench.data.dataset import Dataset, dataset_digest
from bench.data.image_decoding import (
    IMAGE_FORMATS,
    Progress,
    conversion_notes,
    decode_images,
    fit_arrays,
)
from bench.data.image_folder import find_image_folder, has_split
from bench.data.user_arrays import LabelledImages, encode_labels, read_npz, read_pixel_csv
from bench.errors import DataError, DataNotFoundError, UsageError

# MNIST's 10,000 test images of 70,000: a familiar share, and enough to measure
# accuracy to about 0.3% on 10 classes.
DEFAULT_TEST_SHARE = 1 / 7
CACHE_NAME = "user-data"
# Part of the cache key: bump when decoding changes what it makes of the same files.
DECODING_VERSION = 1
PIXEL_MAX = 255.0
SPLIT_NAMES = ("X_train", "y_train", "X_test", "y_test")
WHAT_DATA_IS = (
    f"a folder of class folders of images ({IMAGE_FORMATS}), a .csv of a label and pixels "
    "a row, or an .npz with X_train, y_train, X_test, y_test"
)
WHOLE_NAMES = ("X", "y")


@dataclass(frozen=True)
class UserData:
    """A user's data loaded for a network, and how.

    Parameters
    ----------
    dataset : Dataset
        Named after the folder or the file's stem; ``source`` is its absolute path.
        Pixels are uint8 in 0..255 (``pixel_max`` 255).
    notes : tuple of str
        One line per change made to the data (converted, resized, scaled, the split
        held out), for the user to read.
    test_share : float or None
        The share of the images held out as the test split; None when the data came
        split (``train/`` and ``test/`` folders, an ``.npz``).
    test_split_seed : int or None
        The seed of that split; None when the data came split.
    """

    dataset: Dataset
    notes: tuple[str, ...]
    test_share: float | None
    test_split_seed: int | None


@dataclass(frozen=True)
class _Decoded:
    """Images fitted to the input and labelled; ``X_test`` is None before a split."""

    X: np.ndarray
    y: np.ndarray
    X_test: np.ndarray | None
    y_test: np.ndarray | None
    class_names: tuple[str, ...]
    notes: tuple[str, ...] = field(default=())


def load_user_data(
    path: str | os.PathLike,
    *,
    image_shape: tuple[int, ...],
    test_share: float = DEFAULT_TEST_SHARE,
    test_split_seed: int = 0,
    label_column: str | None = None,
    cache_arrays: bool = True,
    progress: Progress | None = None,
) -> UserData:
    """Load a user's images and labels, fitted to a network's input.

    Parameters
    ----------
    path : str or path-like
        One of

        * a folder with one sub-folder of images per class (``digits/7/a.png``), or
          split into ``train/`` and ``test/`` folders of class folders; PNG, JPEG,
          BMP, GIF or TIFF of any size, grey or colour (see
          :mod:`bench.data.image_folder`);
        * a ``.csv`` with a label column and one column per pixel of a square grey
          image (Kaggle's ``label,pixel0,...,pixel783``);
        * an ``.npz`` with ``X_train``, ``y_train``, ``X_test``, ``y_test`` (see
          :mod:`bench.data.user_arrays`).
    image_shape : tuple of int
        The network's input: ``(height, width)`` grey or ``(height, width, 3)`` RGB.
        Images of another size are resized (Lanczos), colour made grey or the reverse.
    test_share : float
        Share of the images held out, stratified by class, as the test split when the
        data has none. Default 1/7, MNIST's 10,000 of 70,000.
    test_split_seed : int
        Seed of that split; the same seed gives the same split of the same data.
    label_column : str, optional
        The CSV's label column, when it is not named label, labels, class, target or y.
    cache_arrays : bool
        Use and fill the cache of decoded arrays.
    progress : callable, optional
        ``progress(images_done, images_total)`` while a folder's images are decoded.

    Returns
    -------
    UserData
        The dataset, the notes on what was changed, and the split's share and seed.

    Raises
    ------
    DataNotFoundError
        If ``path`` does not exist.
    UsageError
        If ``path`` is of an unsupported type, ``test_share`` not in (0, 1), or
        ``label_column`` not a column of the CSV.
    DataError
        If the data cannot make a dataset: fewer than 2 classes, a class too small to
        split, an unreadable image or row (named), labels not matching the images.
        Nothing is cached then.
    """
    source = _existing(path)
    shape = _input_shape(image_shape)
    if not 0 < test_share < 1:
        raise UsageError(f"test share {test_share:g} is not between 0 and 1 (exclusive)")
    split = _comes_split(source)
    identity = repr((DECODING_VERSION, _kind(source), shape, label_column))
    names = SPLIT_NAMES if split else WHOLE_NAMES
    slot = _cache_slot(source, identity) if cache_arrays else None
    decoded = _read_cache(slot, names, shape) if slot is not None else None
    if decoded is None:
        decoded = _decode(source, shape, label_column, test_share, progress)
        if slot is not None:
            _write_cache(slot, decoded)
    return _user_data(source, decoded, test_share, test_split_seed)


def _existing(path: str | os.PathLike) -> Path:
    source = Path(path).expanduser().absolute()  # the message says where it looked
    if not source.exists():
        raise DataNotFoundError(f"no file or folder {source}; data is {WHAT_DATA_IS}")
    return source.resolve()


def _input_shape(image_shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(int(side) for side in image_shape)
    if not (len(shape) == 2 or (len(shape) == 3 and shape[2] == 3)) or min(shape) < 1:
        raise ValueError(f"image_shape {image_shape} is not (height, width) or (height, width, 3)")
    return shape


def _kind(source: Path) -> str:
    if source.is_dir():
        return "folder"
    if source.suffix.lower() in (".csv", ".npz"):
        return source.suffix.lower()
    raise UsageError(f"cannot read {source} as data: give {WHAT_DATA_IS}")


def _comes_split(source: Path) -> bool:
    kind = _kind(source)
    return kind == ".npz" or (kind == "folder" and has_split(source))


def _decode(
    source: Path,
    shape: tuple[int, ...],
    label_column: str | None,
    test_share: float,
    progress: Progress | None,
) -> _Decoded:
    kind = _kind(source)
    if kind == "folder":
        decoded = _decode_folder(source, shape, test_share, progress)
    elif kind == ".csv":
        decoded = _fitted(read_pixel_csv(source, label_column), None, shape, str(source))
    else:
        decoded = _fitted(*read_npz(source), shape, str(source))
    if decoded.X_test is None:
        _check_splittable(decoded.y, decoded.class_names, test_share, source)
    return decoded


def _decode_folder(
    source: Path, shape: tuple[int, ...], test_share: float, progress: Progress | None
) -> _Decoded:
    folder = find_image_folder(source)
    if folder.test is None:
        # Before hours of decoding: the listing alone shows a class too small.
        _check_splittable(folder.train.labels, folder.class_names, test_share, source)
    paths = folder.train.paths + (folder.test.paths if folder.test is not None else ())
    images, tally = decode_images(paths, shape, progress)
    notes = conversion_notes(tally, shape)
    if folder.ignored:
        shown = ", ".join(str(path.relative_to(source)) for path in folder.ignored[:3])
        more = f" and {len(folder.ignored) - 3:,} more" if len(folder.ignored) > 3 else ""
        files = (
            "file that is not an image" if len(folder.ignored) == 1 else "files that are not images"
        )
        notes.append(f"skipped {len(folder.ignored):,} {files}: {shown}{more}")
    n_train = len(folder.train.paths)
    if folder.test is None:
        return _Decoded(images, folder.train.labels, None, None, folder.class_names, tuple(notes))
    return _Decoded(
        images[:n_train],
        folder.train.labels,
        images[n_train:],
        folder.test.labels,
        folder.class_names,
        tuple(notes),
    )


def _fitted(
    train: LabelledImages, test: LabelledImages | None, shape: tuple[int, ...], where: str
) -> _Decoded:
    """Arrays read from a CSV or an .npz, labels encoded and images fitted to ``shape``."""
    if test is None:
        (y,), class_names = encode_labels(train.labels, where=where)
        y_test = None
    else:
        (y, y_test), class_names = encode_labels(train.labels, test.labels, where=where)
        unknown = sorted(set(np.unique(y_test).tolist()) - set(np.unique(y).tolist()))
        if unknown:
            names = ", ".join(class_names[label] for label in unknown)
            raise DataError(
                f"{where}: the test labels hold classes with no training images: {names}"
            )
    if not len(y):
        raise DataError(f"{where} holds no training images")
    if len(np.unique(y)) < 2:
        raise DataError(f"{where} holds one class ({class_names[0]}); a classifier needs 2")
    X, tally = fit_arrays(train.images, shape)
    notes = list(train.notes)
    X_test = None
    if test is not None:
        X_test, test_tally = fit_arrays(test.images, shape)
        tally.add(test_tally)
        notes += [note for note in test.notes if note not in notes]
    notes += conversion_notes(tally, shape)
    return _Decoded(X, y, X_test, y_test, class_names, tuple(notes))


def _check_splittable(
    labels: np.ndarray, class_names: tuple[str, ...], test_share: float, source: Path
) -> None:
    """Raise DataError unless a stratified split of ``test_share`` is possible."""
    counts = np.bincount(labels, minlength=len(class_names))
    if len(class_names) < 2 or np.count_nonzero(counts) < 2:
        raise DataError(f"{source} holds one class ({class_names[0]}); a classifier needs 2")
    smallest = int(np.argmin(counts))
    if counts[smallest] < 2:
        raise DataError(
            f"class {class_names[smallest]!r} of {source} has {counts[smallest]} image; holding "
            "out a test split takes at least 2 of each class: add images, or give a split"
        )
    n = len(labels)
    n_test = math.ceil(test_share * n)
    if min(n_test, n - n_test) < len(class_names):
        raise DataError(
            f"a test share of {test_share:.3g} of {source}'s {n:,} images leaves {n_test:,} "
            f"for testing and {n - n_test:,} for training, fewer than its "
            f"{len(class_names)} classes: add images, or change the test share"
        )


def _user_data(source: Path, decoded: _Decoded, test_share: float, seed: int) -> UserData:
    notes = list(decoded.notes)
    if decoded.X_test is None or decoded.y_test is None:
        _check_splittable(decoded.y, decoded.class_names, test_share, source)
        train, test = train_test_split(
            np.arange(len(decoded.y)),
            test_size=test_share,
            stratify=decoded.y,
            random_state=seed,
        )
        X_train, y_train = decoded.X[train], decoded.y[train]
        X_test, y_test = decoded.X[test], decoded.y[test]
        notes.append(
            f"held out {len(test):,} of {len(decoded.y):,} images for testing, stratified by "
            f"class (test share {_share(test_share)}, seed {seed})"
        )
        share: float | None = test_share
        split_seed: int | None = seed
    else:
        X_train, y_train, X_test, y_test = decoded.X, decoded.y, decoded.X_test, decoded.y_test
        share = split_seed = None
    dataset = Dataset(
        name=source.name if source.is_dir() else source.stem,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=decoded.class_names,
        pixel_max=PIXEL_MAX,
        digest=dataset_digest(X_train, y_train, X_test, y_test),
        source=str(source),
        user_images=True,
    )
    return UserData(dataset, tuple(notes), share, split_seed)


def _share(test_share: float) -> str:
    fraction = Fraction(test_share).limit_denominator(100)
    if abs(float(fraction) - test_share) < 1e-12 and fraction.numerator == 1:
        return f"{fraction.numerator}/{fraction.denominator}"
    return f"{test_share:g}"


def _cache_slot(source: Path, identity: str) -> CacheSlot:
    try:
        return cache_slot(CACHE_NAME, [source], identity)
    except OSError as error:  # a folder inside that cannot be listed, say
        raise DataError(f"cannot read {source}: {error}") from None


def _read_cache(slot: CacheSlot, names: tuple[str, ...], shape: tuple[int, ...]) -> _Decoded | None:
    cached = read_cached_arrays(slot, names)
    if cached is None:
        return None
    class_names = tuple(str(name) for name in cached.facts.get("class_names", ()))
    notes = tuple(str(note) for note in cached.facts.get("notes", ()))
    arrays = [cached.arrays[name] for name in names]
    if not _fit(arrays, shape, len(class_names)):
        return None
    if len(arrays) == 2:
        return _Decoded(arrays[0], arrays[1], None, None, class_names, notes)
    return _Decoded(arrays[0], arrays[1], arrays[2], arrays[3], class_names, notes)


def _fit(arrays: list[np.ndarray], shape: tuple[int, ...], n_classes: int) -> bool:
    """The checks of a fresh decoding, for arrays read back from the cache (the labels
    scanned: a millisecond)."""
    images, labels = arrays[0::2], arrays[1::2]
    return (
        n_classes >= 2
        and all(X.dtype == np.uint8 and X.shape[1:] == shape for X in images)
        and all(y.dtype == np.int64 and y.ndim == 1 for y in labels)
        and all(len(X) == len(y) for X, y in zip(images, labels, strict=True))
        and all(y.size == 0 or 0 <= y.min() <= y.max() < n_classes for y in labels)
    )


def _write_cache(slot: CacheSlot, decoded: _Decoded) -> None:
    if decoded.X_test is None or decoded.y_test is None:
        arrays = {"X": decoded.X, "y": decoded.y}
        digest = _digest(decoded.X, decoded.y)
    else:
        split = (decoded.X, decoded.y, decoded.X_test, decoded.y_test)
        arrays = dict(zip(SPLIT_NAMES, split, strict=True))
        digest = dataset_digest(*arrays.values())
    facts = {"class_names": list(decoded.class_names), "notes": list(decoded.notes)}
    write_cached_arrays(slot, arrays, digest, facts)


def _digest(*arrays: np.ndarray) -> str:
    """SHA-256 of the arrays' dtypes, shapes and bytes, for an entry not yet split."""
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(np.ascontiguousarray(array).data.cast("B"))
    return digest.hexdigest()

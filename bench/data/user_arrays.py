"""A user's images given as numbers: a CSV table of pixels or a NumPy ``.npz`` archive.

* CSV, Kaggle's digit-recognizer layout: a header, then one image a row, a label column
  and one column per pixel (``label,pixel0,...,pixel783``), row by row of a square grey
  image. The label column is named ``label``, ``labels``, ``class``, ``target`` or ``y``
  (any case), or given.
* ``.npz`` as ``numpy.savez`` writes it: ``X_train``, ``y_train``, ``X_test``,
  ``y_test`` (``x_train`` ... as in Keras' ``mnist.npz``), images (n, height, width)
  grey, (n, height, width, 1), (n, height, width, 3) RGB or flat (n, pixels) of a
  square grey image.

Pixels are whole numbers in 0..255, or fractions in 0..1 (scaled to 0..255, and
said so). Labels are whole numbers or names; classes are the distinct labels sorted
(numbers as numbers), named as strings.
"""

from __future__ import annotations

import csv
import math
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.errors import CorruptDataError, UsageError

LABEL_COLUMNS = ("label", "labels", "class", "target", "y")
NPZ_KEYS = ("X_train", "y_train", "X_test", "y_test")


@dataclass(frozen=True)
class LabelledImages:
    """Images, uint8 (n, height, width) or (n, height, width, 3 or 4), and their raw
    labels as read (numbers or strings), with what reading them changed."""

    images: np.ndarray
    labels: np.ndarray
    notes: tuple[str, ...] = ()


def read_pixel_csv(path: Path, label_column: str | None = None) -> LabelledImages:
    """The images and labels of a CSV file of one image a row.

    Raises
    ------
    UsageError
        If ``label_column`` is not a column of the file.
    CorruptDataError
        If no label column is found, the pixel count is not a square, a row has another
        number of values than the header, or a value is not a number (the line named).
    """
    import pandas  # only here: a second of import for the rare CSV

    header = _csv_header(path)
    label = _label_column(path, header, label_column)
    pixel_columns = [name for name in header if name != label]
    side = math.isqrt(len(pixel_columns))
    if side * side != len(pixel_columns) or side == 0:
        raise CorruptDataError(
            f"{path} has {len(pixel_columns):,} pixel columns besides {label!r}, not a "
            "square number; expected one column per pixel of a square grey image "
            "(784 for 28x28)"
        )
    # float32 holds 0..255 and fractions exactly, in half the memory of pandas' default.
    types = {**dict.fromkeys(pixel_columns, np.float32), label: str}
    try:
        table = pandas.read_csv(path, header=0, names=header, dtype=types, keep_default_na=False)
    except (pandas.errors.ParserError, ValueError) as error:
        raise CorruptDataError(_first_bad_row(path, header, label) or f"{path}: {error}") from None
    pixels = table[pixel_columns].to_numpy()
    if np.isnan(pixels).any():  # a short row: pandas fills it up
        raise CorruptDataError(_first_bad_row(path, header, label) or f"{path}: missing pixels")
    if table.empty:
        raise CorruptDataError(f"{path} has a header but no rows; expected one image a row")
    labels = table[label].to_numpy()
    empty = np.flatnonzero(labels == "")
    if len(empty):
        raise CorruptDataError(f"line {empty[0] + 2} of {path} has no label in column {label!r}")
    images, note = pixels_as_uint8(pixels, f"{path}")
    read = f"read {len(images):,} images of {side}x{side} from {len(pixel_columns)} pixel columns"
    return LabelledImages(images.reshape(-1, side, side), labels, (read, *note))


def read_npz(path: Path) -> tuple[LabelledImages, LabelledImages]:
    """The train and test images of an ``.npz`` archive.

    Raises
    ------
    CorruptDataError
        If the archive cannot be read, lacks a key, holds images of another shape or
        labels of another number than its images.
    """
    try:
        with np.load(path, allow_pickle=False) as archive:
            found = {key.lower(): key for key in archive.files}
            missing = [key for key in NPZ_KEYS if key.lower() not in found]
            if missing:
                raise CorruptDataError(
                    f"{path} lacks {', '.join(missing)}; it holds "
                    f"{', '.join(archive.files) or 'no arrays'}, expected {', '.join(NPZ_KEYS)}"
                )
            arrays = {key: archive[found[key.lower()]] for key in NPZ_KEYS}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        raise CorruptDataError(f"cannot read {path} as an .npz archive: {error}") from None
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"X_{split}"], arrays[f"y_{split}"]
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        where = f"{path} X_{split}"
        if labels.ndim != 1 or len(labels) != len(images):
            raise CorruptDataError(
                f"{path} has {len(images):,} images in X_{split} but y_{split} is of shape "
                f"{labels.shape}; expected one label per image"
            )
        if not len(images):
            raise CorruptDataError(f"{path} holds no images in X_{split}")
        images, notes = _npz_images(images, where)
        splits.append(LabelledImages(images, labels, notes))
    return splits[0], splits[1]


def pixels_as_uint8(values: np.ndarray, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    """``values`` as uint8: whole numbers in 0..255 as they are, fractions in 0..1
    scaled to 0..255 (and a note saying so)."""
    if values.dtype == np.uint8:
        return values, ()
    if values.dtype.kind not in "biuf":
        raise CorruptDataError(f"{where} holds {values.dtype} values, not pixel numbers")
    if values.size == 0:
        return values.astype(np.uint8), ()
    low, high = values.min(), values.max()
    if not (np.isfinite(low) and np.isfinite(high)):
        raise CorruptDataError(f"{where} holds pixels that are not finite numbers")
    whole = values.dtype.kind in "biu" or bool(np.all(np.mod(values, 1) == 0))
    if low >= 0 and high <= 255 and whole:
        return values.astype(np.uint8), ()
    if low >= 0 and high <= 1:
        scaled = np.round(values.astype(np.float64) * 255).astype(np.uint8)
        return scaled, ("scaled pixels from 0..1 to 0..255",)
    raise CorruptDataError(
        f"{where} holds pixels from {low:g} to {high:g}; expected whole numbers in "
        "0..255, or fractions in 0..1"
    )


def encode_labels(
    *labels: np.ndarray, where: str
) -> tuple[tuple[np.ndarray, ...], tuple[str, ...]]:
    """The class index (int64) of each label in each array, and the class names: the
    distinct labels of all arrays, sorted, numbers as numbers.

    Raises
    ------
    CorruptDataError
        If a label is a fraction, or not finite.
    """
    values = [_label_values(array, where) for array in labels]
    classes = np.unique(np.concatenate(values))
    encoded = tuple(np.searchsorted(classes, array).astype(np.int64) for array in values)
    return encoded, tuple(str(value) for value in classes.tolist())


def _label_values(labels: np.ndarray, where: str) -> np.ndarray:
    if labels.dtype.kind in "biu":
        return labels.astype(np.int64)
    if labels.dtype.kind == "f":
        if not np.all(np.isfinite(labels)) or not np.all(np.mod(labels, 1) == 0):
            raise CorruptDataError(f"{where} has labels that are not whole numbers or names")
        return labels.astype(np.int64)
    names = labels.astype(str)
    try:
        numbers = names.astype(np.int64)
    except ValueError:
        return names
    # "07" and "7" would be one class as numbers: keep names that are not plain numbers.
    return numbers if np.array_equal(numbers.astype(str), names) else names


def _npz_images(images: np.ndarray, where: str) -> tuple[np.ndarray, tuple[str, ...]]:
    notes: tuple[str, ...] = ()
    if images.ndim == 2:
        side = math.isqrt(images.shape[1])
        if side * side != images.shape[1] or side == 0:
            raise CorruptDataError(
                f"{where} holds flat images of {images.shape[1]:,} pixels, not a square number"
            )
        images = images.reshape(-1, side, side)
        notes = (f"reshaped flat images of {side * side} pixels to {side}x{side}",)
    elif images.ndim == 4 and images.shape[3] == 1:
        images = images[..., 0]
    if not (images.ndim == 3 or (images.ndim == 4 and images.shape[3] in (3, 4))):
        raise CorruptDataError(
            f"{where} holds images of shape {images.shape}; expected (n, height, width) "
            "grey or (n, height, width, 3) colour"
        )
    pixels, scaled = pixels_as_uint8(images, where)
    return pixels, (*notes, *scaled)


def _csv_header(path: Path) -> list[str]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            header = next(csv.reader(file), None)
    except (UnicodeDecodeError, csv.Error) as error:
        raise CorruptDataError(f"cannot read {path} as CSV text: {error}") from None
    if not header:
        raise CorruptDataError(f"{path} is empty; expected a header line, then one image a row")
    return [name.strip() for name in header]


def _label_column(path: Path, header: list[str], given: str | None) -> str:
    if given is not None:
        if given not in header:
            shown = ", ".join(header[:5]) + (", ..." if len(header) > 5 else "")
            raise UsageError(f"{path} has no column {given!r}; its columns are {shown}")
        return given
    found = [name for name in header if name.lower() in LABEL_COLUMNS]
    if len(found) == 1:
        return found[0]
    if found:
        raise CorruptDataError(
            f"{path} has columns {' and '.join(found)}; either could hold the labels: "
            "name the label column"
        )
    raise CorruptDataError(
        f"{path} has no label column: none is named {', '.join(LABEL_COLUMNS)}; rename "
        "the column holding the labels, or name it as the label column"
    )


def _first_bad_row(path: Path, header: list[str], label: str) -> str | None:
    """The problem with the first row that is not a label and one number per pixel."""
    label_at = header.index(label)
    with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
        reader = csv.reader(file)
        try:
            next(reader)
            for row in reader:
                problem = _row_problem(row, header, label_at)
                if problem:
                    return f"line {reader.line_num} of {path} {problem}"
        except csv.Error as error:
            return f"line {reader.line_num} of {path} cannot be read as CSV: {error}"
    return None


def _row_problem(row: list[str], header: list[str], label_at: int) -> str | None:
    if len(row) != len(header):
        return (
            f"has {len(row):,} values, the header {len(header):,}; every row must hold a "
            "label and one value per pixel"
        )
    for column, value in enumerate(row):
        if column != label_at and not _is_number(value):
            return (
                f"has {value!r} in column {header[column]!r}, not a number; pixels must be numbers"
            )
    return None


def _is_number(value: str) -> bool:
    try:
        return math.isfinite(float(value))
    except ValueError:
        return False

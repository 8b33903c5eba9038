"""A user's own data, written by the tests in each layout ``bench.data.load_user_data``
reads: folders of PNG and JPEG digits of several sizes, grey and colour; a CSV in
Kaggle's digit-recognizer layout; an ``.npz``. The digits are scikit-learn's, scaled up
from 8x8 (real images, not noise)."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sklearn.datasets
from PIL import Image


def digits(n_per_class: int, *, side: int = 28, offset: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n_per_class`` of each of scikit-learn's 10 digits as uint8 grey images of
    ``side`` x ``side`` (0..255), and their labels; ``offset`` skips that many a class."""
    bunch = sklearn.datasets.load_digits()
    picked = np.concatenate(
        [
            np.flatnonzero(bunch.target == digit)[offset : offset + n_per_class]
            for digit in range(10)
        ]
    )
    small = np.round(bunch.images[picked] * (255 / 16)).astype(np.uint8)
    images = np.stack(
        [
            np.asarray(Image.fromarray(image).resize((side, side), Image.Resampling.BILINEAR))
            for image in small
        ]
    )
    return images, bunch.target[picked].astype(np.int64)


def write_image_folder(
    root: Path,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    suffixes: Sequence[str] = (".png",),
    sizes: Sequence[int] = (),
    colour_every: int = 0,
) -> list[Path]:
    """``root/<label>/<index><suffix>`` for each image; returns the paths in order.

    Image ``i`` is saved as ``suffixes[i % len(suffixes)]``, resized to
    ``sizes[i % len(sizes)]`` pixels square when sizes are given, and as RGB (the grey
    tinted red, so the colour is real) when ``colour_every`` divides ``i``.
    """
    paths = []
    for index, (image, label) in enumerate(zip(images, labels, strict=True)):
        picture = Image.fromarray(image)
        if sizes:
            side = sizes[index % len(sizes)]
            picture = picture.resize((side, side), Image.Resampling.BILINEAR)
        if colour_every and index % colour_every == 0:
            grey = np.asarray(picture)
            picture = Image.fromarray(np.stack([grey, grey // 2, grey // 4], axis=-1))
        path = root / str(label) / f"{index:04d}{suffixes[index % len(suffixes)]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        picture.save(path)
        paths.append(path)
    return paths


def pixel_csv_text(
    images: np.ndarray, labels: Sequence[object], *, label_name: str = "label"
) -> list[str]:
    """The lines of a Kaggle digit-recognizer CSV: ``label,pixel0,...``, a row an image."""
    flat = images.reshape(len(images), -1)
    header = ",".join([label_name, *(f"pixel{index}" for index in range(flat.shape[1]))])
    rows = [
        ",".join([str(label), *map(str, row.tolist())])
        for label, row in zip(labels, flat, strict=True)
    ]
    return [header, *rows]


def write_pixel_csv(
    path: Path, images: np.ndarray, labels: Sequence[object], *, label_name: str = "label"
) -> Path:
    """A Kaggle digit-recognizer CSV of ``images`` at ``path``."""
    path.write_text("\n".join(pixel_csv_text(images, labels, label_name=label_name)) + "\n")
    return path


def write_npz(path: Path, **arrays: np.ndarray) -> Path:
    """``numpy.savez`` of ``arrays`` (``X_train=..., y_train=...``) at ``path``."""
    with open(path, "wb") as file:
        np.savez(file, **arrays)
    return path


def sorted_rows(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each labelled image as one row of bytes, rows sorted: equal for equal multisets,
    to compare data whatever order a split left it in."""
    rows = np.concatenate([labels.astype(np.uint8)[:, None], images.reshape(len(images), -1)], 1)
    rows = np.ascontiguousarray(rows)
    return np.sort(rows.view(np.dtype((np.void, rows.shape[1]))).ravel())

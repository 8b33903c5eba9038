"""A user's folder of images, one sub-folder per class: which files, which classes.

The layout of Keras' ``image_dataset_from_directory`` and torchvision's
``ImageFolder``::

    digits/0/a.png  digits/0/b.jpg  ...  digits/9/z.png

optionally split at the top into ``digits/train/<class>/...`` and
``digits/test/<class>/...``. Class folders are read recursively, in name order, linked
folders included; class names are the folder names sorted as strings, as both libraries
sort them. Hidden files and folders (``.DS_Store``, ``.ipynb_checkpoints``) are skipped;
other files that are not images are skipped and counted. Nothing here decodes an image.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.data.image_decoding import IMAGE_FORMATS, IMAGE_SUFFIXES
from bench.errors import DataError

TRAIN, TEST = "train", "test"


@dataclass(frozen=True)
class LabelledFiles:
    """Image files, in reading order, and the class index of each."""

    paths: tuple[Path, ...]
    labels: np.ndarray


@dataclass(frozen=True)
class ImageFolder:
    """The images found in a class-folder tree.

    Parameters
    ----------
    class_names : tuple of str
        Class folder names, sorted; a label indexes them.
    train : LabelledFiles
        All the images, or those under ``train/``.
    test : LabelledFiles or None
        The images under ``test/``; None without a split at the top.
    ignored : tuple of pathlib.Path
        Files skipped as not images.
    """

    class_names: tuple[str, ...]
    train: LabelledFiles
    test: LabelledFiles | None
    ignored: tuple[Path, ...]


def has_split(root: Path) -> bool:
    """Whether ``root`` is split at the top into ``train/`` and ``test/``."""
    return (root / TRAIN).is_dir() and (root / TEST).is_dir()


def find_image_folder(root: Path) -> ImageFolder:
    """The images under ``root`` and their classes.

    Raises
    ------
    DataError
        If ``root`` holds no class folders, images outside them, a class folder without
        images, a ``train/`` folder without ``test/`` or the reverse, or test classes
        that have no training folder.
    """
    folders, files = _visible_entries(root)
    ignored = list(_not_images(root, files))
    if not folders and not files:
        raise DataError(f"{root} is empty; {_EXPECTED}")
    halves = {TRAIN, TEST} & {folder.name for folder in folders}
    if len(halves) == 1:
        (present,) = halves
        (other,) = {TRAIN, TEST} - halves
        raise DataError(
            f"{root} holds a {present}/ folder but no {other}/ folder; give both, each "
            f"with one folder per class, or put the class folders directly in {root}"
        )
    if not halves:
        class_names, train, skipped = _read_classes(root, folders, None)
        return ImageFolder(class_names, train, None, (*ignored, *skipped))
    others = sorted(folder.name for folder in folders if folder.name not in halves)
    if others:
        raise DataError(
            f"{root} holds train/ and test/ and also {', '.join(f'{name}/' for name in others)}"
            "; with train/ and test/ at the top, every class folder goes inside both"
        )
    class_names, train, skipped_train = _read_classes(root / TRAIN, None, None)
    _, test, skipped_test = _read_classes(root / TEST, None, class_names)
    return ImageFolder(class_names, train, test, (*ignored, *skipped_train, *skipped_test))


_EXPECTED = (
    "expected one folder of images per class (<folder>/<class>/<image>), optionally "
    "inside train/ and test/ folders"
)


def _visible_entries(directory: Path) -> tuple[list[Path], list[Path]]:
    """The folders and files directly in ``directory``, hidden ones left out, sorted."""
    folders: list[Path] = []
    files: list[Path] = []
    try:
        with os.scandir(directory) as scan:
            for entry in scan:
                if entry.name.startswith("."):
                    continue
                (folders if entry.is_dir() else files).append(Path(entry.path))
    except OSError as error:
        _unlistable(error)
    return sorted(folders), sorted(files)


def _unlistable(error: OSError) -> None:
    # os.walk would skip a folder it cannot list, and with it a class's images.
    raise DataError(f"cannot list {error.filename}: {error.strerror or error}") from None


def _not_images(directory: Path, files: list[Path]) -> list[Path]:
    """``files`` (directly in ``directory``) if none is an image; a DataError if one is."""
    images = [path for path in files if _is_image(path)]
    if images:
        shown = ", ".join(path.name for path in images[:3])
        more = f" and {len(images) - 3:,} more" if len(images) > 3 else ""
        raise DataError(
            f"{directory} holds images outside class folders ({shown}{more}); {_EXPECTED}"
        )
    return files


def _read_classes(
    directory: Path, folders: list[Path] | None, known: tuple[str, ...] | None
) -> tuple[tuple[str, ...], LabelledFiles, list[Path]]:
    """The class folders in ``directory`` and their images; with ``known`` class names
    (a test folder's), the labels index those and an unknown class is an error."""
    if folders is None:
        folders, files = _visible_entries(directory)
        skipped = _not_images(directory, files)
    else:
        skipped = []
    if not folders:
        raise DataError(f"{directory} holds no class folders; {_EXPECTED}")
    names = tuple(folder.name for folder in folders)
    if known is None:
        if len(folders) < 2:
            raise DataError(
                f"{directory} holds one class folder ({names[0]}/); a classifier needs "
                "at least 2 classes, one folder each"
            )
        known = names
    unknown = [name for name in names if name not in known]
    if unknown:
        raise DataError(
            f"{directory} holds classes with no training images: "
            f"{', '.join(f'{name}/' for name in unknown)}; the classes of test/ must be "
            "among those of train/"
        )
    paths: list[Path] = []
    labels: list[int] = []
    for folder in folders:
        images, others = _files_under(folder)
        if not images:
            raise DataError(f"class folder {folder} holds no images ({IMAGE_FORMATS})")
        paths += images
        labels += [known.index(folder.name)] * len(images)
        skipped += others
    return known, LabelledFiles(tuple(paths), np.asarray(labels, dtype=np.int64)), skipped


def _files_under(folder: Path) -> tuple[list[Path], list[Path]]:
    """The image files and the other files under ``folder``, recursively, in name order;
    linked folders are followed, each real folder once."""
    images: list[Path] = []
    others: list[Path] = []
    seen: set[tuple[int, int]] = set()
    for directory, subfolders, files in os.walk(folder, onerror=_unlistable, followlinks=True):
        status = os.stat(directory)
        if (status.st_dev, status.st_ino) in seen:
            subfolders.clear()
            continue
        seen.add((status.st_dev, status.st_ino))
        subfolders[:] = sorted(name for name in subfolders if not name.startswith("."))
        for name in sorted(files):
            if not name.startswith("."):
                path = Path(directory, name)
                (images if _is_image(path) else others).append(path)
    return images, others


def _is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES

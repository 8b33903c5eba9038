"""Loading a dataset of the catalog: find its files or download them, read them once.

The flow is the same for every file format; a format only supplies a *reader* that
turns the found files into the four arrays, validating them (see
:func:`bench.data.idx.read_idx_files`, :func:`bench.data.svhn.read_svhn_files`,
:func:`bench.data.cifar.read_cifar_files`). The arrays are cached as ``.npy`` files under
``cache_root()/arrays/<dataset>/<key>/`` and memory-mapped on later loads; see
:mod:`bench.data.array_cache`.
"""

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.array_cache import cache_slot, read_cached_arrays, write_cached_arrays
from bench.data.catalog import DatasetEntry, Layout, PublishedFile
from bench.data.dataset import Dataset, dataset_digest
from bench.data.download import (
    ALGORITHM_NAMES,
    TIMEOUT_S,
    Progress,
    checksum,
    download_from_mirrors,
)
from bench.data.locate import (
    DATA_DIR_ENV,
    SYSTEM_ROOT,
    SearchPlace,
    describe_place,
    find_dataset,
    find_files,
    search_places,
)
from bench.errors import CorruptDataError, DataNotFoundError

ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test")

Arrays = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]

# Its entry is of the catalog type it reads (see bench.data.loaders.READERS).
Reader = Callable[[Any, Layout, Sequence[Path], bool], Arrays]
"""``read(entry, layout, paths, verify)``: the arrays X_train, y_train, X_test, y_test
(images ``uint8`` of ``entry.image_shape``, labels ``int64``) from the files of
``layout`` found at ``paths``; raises CorruptDataError for a file that is damaged,
foreign, or (with ``verify``) not the published one."""


def fetch_dataset(
    entry: DatasetEntry,
    read: Reader,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    verify: bool = True,
    progress: Progress | None = None,
    system_root: str | os.PathLike = SYSTEM_ROOT,
    cache_dir: str | os.PathLike | None = None,
    timeout: float = TIMEOUT_S,
    cache_arrays: bool = True,
) -> Dataset:
    """Load the dataset ``entry`` describes from the first folder holding it.

    Parameters
    ----------
    entry : DatasetEntry
        Files, checksums and mirrors of the dataset.
    read : callable
        The reader of the entry's file format; see :data:`Reader`.
    data_dir, download, verify, progress, cache_arrays
        As for :func:`bench.data.loaders.load_dataset`.
    system_root : str or path-like
        Folder with one sub-folder per dataset, searched second.
    cache_dir : str or path-like, optional
        Download folder for this dataset, searched last; see
        :func:`bench.data.locate.cache_root` for the default.
    timeout : float
        Seconds to wait on a mirror.

    Returns
    -------
    Dataset

    Raises
    ------
    DataNotFoundError
        If no folder holds the files and they cannot be downloaded.
    ChecksumError
        If the mirrors served a file other than the published one.
    CorruptDataError
        If the files found are damaged, foreign or (with ``verify``) not the
        published ones. Files this call downloaded are then removed again.
    """
    places = search_places(entry.name, data_dir, system_root=system_root, cache_dir=cache_dir)
    for place in places:
        found = find_dataset(entry, place.directory) if place.directory is not None else None
        if found is not None:
            layout, paths = found
            return read_dataset(
                entry, read, layout, paths, verify=verify, cache_arrays=cache_arrays
            )
    if not download:
        raise DataNotFoundError(
            _not_found_message(entry, places, "downloading was turned off", "allow downloading")
        )
    cache = places[-1].directory
    assert cache is not None  # the download cache, always a folder
    present = set(find_files(cache, entry.layouts[0]))
    try:
        layout, paths = download_dataset(entry, cache, progress=progress, timeout=timeout)
    except DataNotFoundError as err:
        raise DataNotFoundError(
            _not_found_message(
                entry, places, f"last download error: {err}", "connect to the internet and retry"
            )
        ) from err
    downloaded = [path for path in paths if path not in present]
    return _read_downloaded(entry, read, layout, paths, downloaded, verify, cache_arrays)


def download_dataset(
    entry: DatasetEntry,
    cache: Path,
    *,
    progress: Progress | None = None,
    timeout: float = TIMEOUT_S,
) -> tuple[Layout, list[Path]]:
    """Download into ``cache`` those of the entry's files it lacks.

    Returns
    -------
    tuple of (Layout, list of pathlib.Path)
        ``entry.layouts[0]`` and the paths of its files in ``cache``.

    Raises
    ------
    DataNotFoundError
        If a file could be fetched from no mirror.
    ChecksumError
        If the mirrors served a file with the wrong checksum.
    """
    cache.mkdir(parents=True, exist_ok=True)
    layout = entry.layouts[0]
    for file, path in zip(entry.downloads, find_files(cache, layout), strict=True):
        if path is None:
            download_from_mirrors(
                file.name,
                entry.mirrors,
                cache / file.name,
                file.checksum,
                algorithm=file.algorithm,
                progress=progress,
                timeout=timeout,
            )
    # Every file is there now: a failed download raised.
    return layout, [path for path in find_files(cache, layout) if path is not None]


def read_dataset(
    entry: DatasetEntry,
    read: Reader,
    layout: Layout,
    paths: Sequence[Path],
    *,
    verify: bool = True,
    cache_arrays: bool = True,
) -> Dataset:
    """Read the files of ``layout`` at ``paths`` with ``read``, through the array cache.

    A cache entry made from exactly these files (same resolved paths, sizes, times and
    inodes) under the same entry, layout and ``verify`` setting is memory-mapped; the
    files were verified and validated when it was written. Otherwise the files are read
    and, with ``cache_arrays``, the entry (re)written. See :mod:`bench.data.array_cache`.

    Raises
    ------
    CorruptDataError
        As ``read`` does, when the files have to be read.
    """
    if not cache_arrays:
        return _dataset(entry, paths, read(entry, layout, paths, verify))
    slot = cache_slot(entry.name, paths, _cache_identity(entry, layout, verify))
    cached = read_cached_arrays(slot, ARRAY_NAMES)
    if cached is not None:
        X_train, y_train, X_test, y_test = (cached.arrays[name] for name in ARRAY_NAMES)
        arrays = (X_train, y_train, X_test, y_test)
        if _cached_arrays_fit(entry, *arrays):
            return _dataset(entry, paths, arrays, cached.digest)
    dataset = _dataset(entry, paths, read(entry, layout, paths, verify))
    write_cached_arrays(
        slot, {name: getattr(dataset, name) for name in ARRAY_NAMES}, dataset.digest
    )
    return dataset


def check_published_checksum(raw: bytes, path: Path, file: PublishedFile, title: str) -> None:
    """Raise CorruptDataError unless ``raw``, read from ``path``, is the published ``file``.

    Parameters
    ----------
    raw : bytes
        The bytes of the file as stored.
    path : pathlib.Path
        Where they were read, for the message.
    file : PublishedFile
        Name, checksum and size as published.
    title : str
        The dataset's name in messages, e.g. ``"SVHN"``.
    """
    actual = checksum(raw, file.algorithm)
    if actual == file.checksum.lower():
        return
    size = ""
    if file.size is not None and len(raw) != file.size:
        size = f" ({len(raw):,} bytes, the published file has {file.size:,})"
    raise CorruptDataError(
        f"{path} is not the canonical {title} {file.name}: "
        f"{ALGORITHM_NAMES[file.algorithm]} {actual}, expected {file.checksum}{size}; "
        "replace it with the original file, or delete it so the dataset is downloaded "
        "again (or load with verify=False to use your own files)"
    )


def _read_downloaded(
    entry: DatasetEntry,
    read: Reader,
    layout: Layout,
    paths: list[Path],
    downloaded: list[Path],
    verify: bool,
    cache_arrays: bool,
) -> Dataset:
    """:func:`read_dataset`, removing the files just downloaded if the dataset is corrupt.

    A download matched its published checksum, so a corrupt one means the catalog
    trusts a broken file; kept, it would be found and refused on every later load,
    even after the catalog is fixed.
    """
    try:
        return read_dataset(entry, read, layout, paths, verify=verify, cache_arrays=cache_arrays)
    except CorruptDataError as err:
        for path in downloaded:
            path.unlink(missing_ok=True)
        names = ", ".join(path.name for path in downloaded)
        raise CorruptDataError(
            f"{err} (removed the files this load downloaded from the cache: {names})"
        ) from err


def _dataset(
    entry: DatasetEntry, paths: Sequence[Path], arrays: Arrays, digest: str | None = None
) -> Dataset:
    X_train, y_train, X_test, y_test = arrays
    # A layout's files share one folder: name it, or the one file (an archive).
    source = paths[0] if len(paths) == 1 else Path(paths[0]).parent
    return Dataset(
        name=entry.name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=entry.class_names,
        pixel_max=entry.pixel_max,
        digest=digest or dataset_digest(X_train, y_train, X_test, y_test),
        source=str(source),
        flip_safe=entry.flip_safe,
    )


def _cache_identity(entry: DatasetEntry, layout: Layout, verify: bool) -> str:
    # What the arrays were checked against when the entry was written (checksums,
    # shapes, classes): an entry made without verification must not serve a verified load.
    return repr((entry, layout, verify))


def _cached_arrays_fit(
    entry: DatasetEntry,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
) -> bool:
    """The structural checks of a fresh load, for arrays read back from the cache.

    Costs about a millisecond (only the labels are scanned), and keeps a damaged
    entry from handing out arrays of a type, shape or label range a fresh load refuses.
    """
    n_classes = len(entry.class_names)
    return (
        X_train.dtype == X_test.dtype == np.uint8
        and y_train.dtype == y_test.dtype == np.int64
        and X_train.shape[1:] == X_test.shape[1:] == tuple(entry.image_shape)
        and y_train.ndim == y_test.ndim == 1
        and len(X_train) == len(y_train)
        and len(X_test) == len(y_test)
        and all(y.size == 0 or 0 <= y.min() <= y.max() < n_classes for y in (y_train, y_test))
    )


def _not_found_message(
    entry: DatasetEntry, places: list[SearchPlace], why: str, last_remedy: str
) -> str:
    searched = "; ".join(describe_place(entry, place) for place in places)
    files = " or ".join(layout.describe() for layout in entry.layouts)
    published = f" (published at {entry.mirrors[0]})" if entry.mirrors else ""
    remedies = [f"set {DATA_DIR_ENV} to a folder containing {entry.name}/ with {files}{published}"]
    if entry.apt_package:
        remedies.append(f"run `apt-get install {entry.apt_package}`")
    remedies.append(last_remedy)
    return (
        f"{entry.title} files not found. Searched: {searched}. {why[0].upper()}{why[1:]}. "
        f"To fix: {', or '.join(remedies)}."
    )

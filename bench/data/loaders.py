"""Loading datasets by name: find or download the files, validate them, build a Dataset.

The arrays decoded from IDX files are cached as ``.npy`` files under
``cache_root()/arrays/<dataset>/<key>/`` (by default ``~/.cache/bench/arrays/``) and
memory-mapped on later loads; see :mod:`bench.data.array_cache`.
"""

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split

from bench.data.array_cache import cache_slot, read_cached_arrays, write_cached_arrays
from bench.data.catalog import IDX_CATALOG, CatalogEntry, IdxFile
from bench.data.dataset import Dataset, dataset_digest
from bench.data.download import TIMEOUT_S, Progress, download_from_mirrors
from bench.data.idx import decompress_idx, parse_idx
from bench.data.locate import (
    DATA_DIR_ENV,
    SYSTEM_ROOT,
    SearchPlace,
    describe_place,
    find_dataset_files,
    search_places,
)
from bench.errors import CorruptDataError, DataNotFoundError, UsageError

DIGITS = "digits"
DIGITS_SOURCE = "scikit-learn load_digits"
ARRAY_NAMES = ("X_train", "y_train", "X_test", "y_test")


def dataset_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`, sorted."""
    return tuple(sorted((DIGITS, *IDX_CATALOG)))


def load_dataset(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    download: bool = True,
    verify: bool = True,
    progress: Progress | None = None,
    cache_arrays: bool = True,
) -> Dataset:
    """Load a dataset by name.

    The first load of an IDX dataset decodes, verifies and validates its files and
    caches the arrays as ``.npy`` files under ``cache_root()/arrays/<name>/<key>/``,
    i.e. ``$BENCH_CACHE_DIR/arrays/`` or ``${XDG_CACHE_HOME:-~/.cache}/bench/arrays/``.
    Later loads of the same files memory-map those, read-only, in milliseconds. The key
    changes whenever a source file is modified, replaced or moved; a damaged entry is
    rebuilt; deleting the folder is always safe.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names`.
    data_dir : str or path-like, optional
        Folder holding the four IDX files; searched instead of ``$BENCH_DATA_DIR/<name>``.
        Ignored for ``"digits"``, which ships with scikit-learn.
    download : bool
        Download missing files into the cache when no folder holds them all.
    verify : bool
        Check each file's SHA-256 against the published one. Turn off for your own IDX
        files; the structure is validated regardless.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)`` during each file's download.
    cache_arrays : bool
        Use and fill the cache of decoded arrays described above. Ignored for
        ``"digits"``, which loads fast without it.

    Returns
    -------
    Dataset
        With a cache hit, its arrays are read-only :class:`numpy.memmap` objects.

    Raises
    ------
    UsageError
        If ``name`` is unknown.
    DataNotFoundError, CorruptDataError, ChecksumError
        If the files cannot be found, read or trusted.
    """
    if name == DIGITS:
        return load_digits()
    if name not in IDX_CATALOG:
        raise UsageError(f"unknown dataset {name!r}; valid: {', '.join(dataset_names())}")
    return load_idx_dataset(
        IDX_CATALOG[name],
        data_dir=data_dir,
        download=download,
        verify=verify,
        progress=progress,
        cache_arrays=cache_arrays,
    )


def load_mnist(**kwargs) -> Dataset:
    """Load MNIST handwritten digits; keywords as for :func:`load_dataset`.

    The decoded arrays are cached under ``cache_root()/arrays/mnist/``.
    """
    return load_dataset("mnist", **kwargs)


def load_fashion_mnist(**kwargs) -> Dataset:
    """Load Fashion-MNIST clothing images; keywords as for :func:`load_dataset`.

    The decoded arrays are cached under ``cache_root()/arrays/fashion-mnist/``.
    """
    return load_dataset("fashion-mnist", **kwargs)


def load_digits() -> Dataset:
    """Load scikit-learn's 8x8 digits with a fixed, stratified 75/25 split.

    Returns
    -------
    Dataset
        1347 train and 450 test images, ``uint8`` pixels in 0..16.
    """
    bunch = sklearn.datasets.load_digits()
    images = bunch.images.astype(np.uint8)
    labels = bunch.target.astype(np.int64)
    # A fixed split keeps the digest, and so results, comparable between runs.
    X_train, X_test, y_train, y_test = train_test_split(
        images, labels, test_size=0.25, stratify=labels, random_state=0
    )
    return Dataset(
        name=DIGITS,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=tuple(str(label) for label in bunch.target_names),
        pixel_max=16.0,
        digest=dataset_digest(X_train, y_train, X_test, y_test),
        source=DIGITS_SOURCE,
    )


def load_idx_dataset(
    entry: CatalogEntry,
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
    """Load the IDX dataset described by ``entry`` from the first folder holding it.

    Decoded arrays are cached under ``cache_root()/arrays/<entry.name>/`` as described
    in :func:`load_dataset`; ``cache_dir`` only moves the downloads.

    Parameters
    ----------
    entry : CatalogEntry
        Files, checksums and mirrors of the dataset.
    data_dir, download, verify, progress, cache_arrays
        As for :func:`load_dataset`.
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
    """
    places = search_places(entry.name, data_dir, system_root=system_root, cache_dir=cache_dir)
    for place in places:
        if place.directory is None:
            continue
        paths = find_dataset_files(entry, place.directory)
        if None not in paths:
            return _read(entry, paths, verify, cache_arrays)
    if not download:
        raise DataNotFoundError(
            _not_found_message(entry, places, "downloading was turned off", "allow downloading")
        )
    cache = places[-1].directory
    present = set(find_dataset_files(entry, cache))
    try:
        paths = download_dataset(entry, cache, progress=progress, timeout=timeout)
    except DataNotFoundError as err:
        raise DataNotFoundError(
            _not_found_message(
                entry, places, f"last download error: {err}", "connect to the internet and retry"
            )
        ) from err
    downloaded = [path for path in paths if path not in present]
    return _read_downloaded(entry, paths, downloaded, verify, cache_arrays)


def _read_downloaded(
    entry: CatalogEntry,
    paths: list[Path],
    downloaded: list[Path],
    verify: bool,
    cache_arrays: bool,
) -> Dataset:
    """:func:`_read`, removing the files just downloaded if the dataset is corrupt.

    A download matched its published checksum, so a corrupt one means the catalog
    trusts a broken file; kept, it would be found and refused on every later load,
    even after the catalog is fixed.
    """
    try:
        return _read(entry, paths, verify, cache_arrays)
    except CorruptDataError as err:
        for path in downloaded:
            path.unlink(missing_ok=True)
        names = ", ".join(path.name for path in downloaded)
        raise CorruptDataError(
            f"{err} (removed the files this load downloaded from the cache: {names})"
        ) from err


def _read(entry: CatalogEntry, paths: list[Path], verify: bool, cache_arrays: bool) -> Dataset:
    if cache_arrays:
        return read_cached_idx_dataset(entry, paths, verify=verify)
    return read_idx_dataset(entry, paths, verify=verify)


def download_dataset(
    entry: CatalogEntry,
    cache: Path,
    *,
    progress: Progress | None = None,
    timeout: float = TIMEOUT_S,
) -> list[Path]:
    """Download into ``cache`` those of the entry's files it lacks; return all four paths.

    Raises
    ------
    DataNotFoundError
        If a file could be fetched from no mirror.
    ChecksumError
        If the mirrors served a file with the wrong checksum.
    """
    cache.mkdir(parents=True, exist_ok=True)
    paths = []
    for file, path in zip(entry.files, find_dataset_files(entry, cache), strict=True):
        if path is None:
            path = download_from_mirrors(
                file.archive_name,
                entry.mirrors,
                cache / file.archive_name,
                file.archive_sha256,
                progress=progress,
                timeout=timeout,
            )
        paths.append(path)
    return paths


def read_idx_dataset(entry: CatalogEntry, paths: Sequence[Path], *, verify: bool = True) -> Dataset:
    """Read and validate the four files of ``entry`` at ``paths`` (in ``entry.files`` order).

    Raises
    ------
    CorruptDataError
        If a file is malformed, not the published one (with ``verify``), or the files
        do not fit together.
    """
    X_train, y_train, X_test, y_test = (
        _read_file(path, file, entry, verify) for path, file in zip(paths, entry.files, strict=True)
    )
    train_images, train_labels, test_images, test_labels = paths
    _check_images(X_train, train_images, entry)
    _check_images(X_test, test_images, entry)
    _check_labels(y_train, train_labels, entry)
    _check_labels(y_test, test_labels, entry)
    _check_counts(X_train, y_train, train_images, train_labels)
    _check_counts(X_test, y_test, test_images, test_labels)
    y_train, y_test = y_train.astype(np.int64), y_test.astype(np.int64)
    digest = dataset_digest(X_train, y_train, X_test, y_test)
    return _idx_dataset(entry, paths, (X_train, y_train, X_test, y_test), digest)


def read_cached_idx_dataset(
    entry: CatalogEntry, paths: Sequence[Path], *, verify: bool = True
) -> Dataset:
    """:func:`read_idx_dataset` through the cache of decoded arrays.

    A cache entry made from exactly these files (same resolved paths, sizes, times and
    inodes) under the same checksums and ``verify`` setting is memory-mapped; the
    files were verified and validated when it was written. Otherwise the files are
    read and the entry (re)written. See :mod:`bench.data.array_cache`.

    Raises
    ------
    CorruptDataError
        As for :func:`read_idx_dataset`, when the files have to be read.
    """
    slot = cache_slot(entry.name, paths, _cache_identity(entry, verify))
    cached = read_cached_arrays(slot, ARRAY_NAMES)
    if cached is not None:
        arrays = tuple(cached.arrays[name] for name in ARRAY_NAMES)
        if _cached_arrays_fit(entry, *arrays):
            return _idx_dataset(entry, paths, arrays, cached.digest)
    dataset = read_idx_dataset(entry, paths, verify=verify)
    write_cached_arrays(
        slot, {name: getattr(dataset, name) for name in ARRAY_NAMES}, dataset.digest
    )
    return dataset


def _idx_dataset(
    entry: CatalogEntry, paths: Sequence[Path], arrays: Sequence[np.ndarray], digest: str
) -> Dataset:
    X_train, y_train, X_test, y_test = arrays
    return Dataset(
        name=entry.name,
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        class_names=entry.class_names,
        pixel_max=entry.pixel_max,
        digest=digest,
        source=str(Path(paths[0]).parent),
    )


def _cache_identity(entry: CatalogEntry, verify: bool) -> str:
    # What the arrays were checked against when the entry was written: an entry made
    # without verification must not serve a verified load.
    return repr((entry.files, entry.image_shape, len(entry.class_names), verify))


def _cached_arrays_fit(
    entry: CatalogEntry,
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
        and X_train.shape[1:] == X_test.shape[1:] == entry.image_shape
        and y_train.ndim == y_test.ndim == 1
        and len(X_train) == len(y_train)
        and len(X_test) == len(y_test)
        and all(y.size == 0 or 0 <= y.min() <= y.max() < n_classes for y in (y_train, y_test))
    )


def _read_file(path: Path, file: IdxFile, entry: CatalogEntry, verify: bool) -> np.ndarray:
    raw = path.read_bytes()
    content = decompress_idx(raw, path)
    array = parse_idx(content, path)
    if verify:
        _check_checksum(raw, content, path, file, entry)
    return array


def _check_checksum(
    raw: bytes, content: bytes, path: Path, file: IdxFile, entry: CatalogEntry
) -> None:
    # Re-compressed copies differ from the published archive only in their gzip
    # bytes, so the content decides; the archive checksum is the fallback.
    actual = hashlib.sha256(content).hexdigest()
    if actual == file.content_sha256:
        return
    if raw is not content and hashlib.sha256(raw).hexdigest() == file.archive_sha256:
        return
    raise CorruptDataError(
        f"{path} is not the canonical {entry.title} {file.name}: content SHA-256 {actual}, "
        f"expected {file.content_sha256}; replace it with the original file, or delete it "
        "so the dataset is downloaded again (or load with verify=False to use your own files)"
    )


def _check_images(images: np.ndarray, path: Path, entry: CatalogEntry) -> None:
    if images.ndim != 3:
        raise CorruptDataError(
            f"{path}: expected 3-dimensional images (IDX magic 0x00000803), "
            f"found {images.ndim} dimensions (magic 0x000008{images.ndim:02x})"
        )
    if images.shape[1:] != entry.image_shape:
        height, width = entry.image_shape
        raise CorruptDataError(
            f"{path}: images are {images.shape[1]}x{images.shape[2]}, "
            f"expected {height}x{width} for {entry.title}"
        )


def _check_labels(labels: np.ndarray, path: Path, entry: CatalogEntry) -> None:
    if labels.ndim != 1:
        raise CorruptDataError(
            f"{path}: expected 1-dimensional labels (IDX magic 0x00000801), "
            f"found {labels.ndim} dimensions (magic 0x000008{labels.ndim:02x})"
        )
    n_classes = len(entry.class_names)
    if labels.size and labels.max() >= n_classes:
        raise CorruptDataError(
            f"{path}: label {labels.max()} out of range; {entry.title} has classes "
            f"0..{n_classes - 1}"
        )


def _check_counts(
    images: np.ndarray, labels: np.ndarray, images_path: Path, labels_path: Path
) -> None:
    if len(images) != len(labels):
        raise CorruptDataError(
            f"{images_path} holds {len(images)} images but {labels_path} holds "
            f"{len(labels)} labels; the files do not belong together"
        )


def _not_found_message(
    entry: CatalogEntry, places: list[SearchPlace], why: str, last_remedy: str
) -> str:
    searched = "; ".join(describe_place(entry, place) for place in places)
    names = ", ".join(f"{file.name}[.gz]" for file in entry.files)
    remedies = [f"set {DATA_DIR_ENV} to a folder containing {entry.name}/ with {names}"]
    if entry.apt_package:
        remedies.append(f"run `apt-get install {entry.apt_package}`")
    remedies.append(last_remedy)
    return (
        f"{entry.title} files not found. Searched: {searched}. {why[0].upper()}{why[1:]}. "
        f"To fix: {', or '.join(remedies)}."
    )

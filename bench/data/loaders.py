"""Loading datasets by name: find or download the files, validate them, build a Dataset.

The arrays decoded from the files are cached as ``.npy`` files under
``cache_root()/arrays/<dataset>/<key>/`` (by default ``~/.cache/bench/arrays/``) and
memory-mapped on later loads; see :mod:`bench.data.array_cache`. How files are found,
downloaded and read is :mod:`bench.data.fetch`; each file format has its reader.
"""

import os

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split

from bench.data.catalog import CATALOG, CifarEntry, DatasetEntry, IdxDataset, SvhnEntry
from bench.data.cifar import read_cifar_files
from bench.data.dataset import Dataset, dataset_digest
from bench.data.download import TIMEOUT_S, Progress
from bench.data.fetch import Reader, fetch_dataset
from bench.data.idx import read_idx_files
from bench.data.locate import SYSTEM_ROOT
from bench.data.svhn import read_svhn_files
from bench.errors import UsageError

DIGITS = "digits"
DIGITS_SOURCE = "scikit-learn load_digits"
# The reader of each kind of catalog entry: one per file format.
READERS: dict[type, Reader] = {
    IdxDataset: read_idx_files,
    SvhnEntry: read_svhn_files,
    CifarEntry: read_cifar_files,
}


def dataset_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_dataset`, sorted."""
    return tuple(sorted((DIGITS, *CATALOG)))


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

    The first load of a downloadable dataset decodes, verifies and validates its files
    and caches the arrays as ``.npy`` files under ``cache_root()/arrays/<name>/<key>/``,
    i.e. ``$BENCH_CACHE_DIR/arrays/`` or ``${XDG_CACHE_HOME:-~/.cache}/bench/arrays/``.
    Later loads of the same files memory-map those, read-only, in milliseconds. The key
    changes whenever a source file is modified, replaced or moved; a damaged entry is
    rebuilt; deleting the folder is always safe.

    Parameters
    ----------
    name : str
        One of :func:`dataset_names`.
    data_dir : str or path-like, optional
        Folder holding the dataset's files (see :func:`bench.data.locate.find_dataset`);
        searched instead of ``$BENCH_DATA_DIR/<name>``. Ignored for ``"digits"``, which
        ships with scikit-learn.
    download : bool
        Download missing files into the cache when no folder holds them all.
    verify : bool
        Check the files against their published checksums: SHA-256 for MNIST and
        Fashion-MNIST, MD5 for SVHN's ``.mat`` files and for CIFAR-10's archive. An
        extracted CIFAR-10 folder has no published checksum; for it, ``verify`` checks
        the published number of records per file. Turn off for your own files; the
        structure is validated regardless.
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
    if name not in CATALOG:
        raise UsageError(f"unknown dataset {name!r}; valid: {', '.join(dataset_names())}")
    return load_catalog_entry(
        CATALOG[name],
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


def load_svhn(**kwargs) -> Dataset:
    """Load SVHN's cropped house-number digits; keywords as for :func:`load_dataset`.

    Reads ``train_32x32.mat`` and ``test_32x32.mat`` (73,257 and 26,032 colour images of
    32x32); the files' label 10 is returned as the digit 0. The decoded arrays are
    cached under ``cache_root()/arrays/svhn/``.
    """
    return load_dataset("svhn", **kwargs)


def load_cifar10(**kwargs) -> Dataset:
    """Load CIFAR-10's binary version; keywords as for :func:`load_dataset`.

    Reads ``cifar-10-binary.tar.gz``, or the ``cifar-10-batches-bin/`` folder extracted
    from it (50,000 and 10,000 colour images of 32x32). The decoded arrays are cached
    under ``cache_root()/arrays/cifar10/``.
    """
    return load_dataset("cifar10", **kwargs)


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


def load_catalog_entry(
    entry: DatasetEntry,
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
    """Load the dataset a catalog entry describes, one of :mod:`bench.data.catalog`'s or
    your own (another mirror, other checksums).

    Decoded arrays are cached under ``cache_root()/arrays/<entry.name>/`` as described
    in :func:`load_dataset`; ``cache_dir`` only moves the downloads.

    Parameters
    ----------
    entry : IdxDataset, SvhnEntry or CifarEntry
        Files, checksums and mirrors of the dataset; its type selects the reader.
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

    Raises
    ------
    DataNotFoundError, CorruptDataError, ChecksumError
        If the files cannot be found, read or trusted; see
        :func:`bench.data.fetch.fetch_dataset`.
    """
    return fetch_dataset(
        entry,
        READERS[type(entry)],
        data_dir=data_dir,
        download=download,
        verify=verify,
        progress=progress,
        system_root=system_root,
        cache_dir=cache_dir,
        timeout=timeout,
        cache_arrays=cache_arrays,
    )

"""Reading of CIFAR-10's binary version: the archive ``cifar-10-binary.tar.gz``, or the
``cifar-10-batches-bin/`` folder it extracts to.

A record file is a sequence of 3,073-byte records: the label (0..9), then the 1,024
red, 1,024 green and 1,024 blue values of a 32x32 image, each plane row by row.
``batches.meta.txt`` names the classes, one per line. Records are read with NumPy from
the bytes; nothing is unpickled (the archive of the Python version is never read).

Only the archive has a published checksum (MD5); with ``verify`` it is checked before
the archive is opened. An extracted folder cannot be checked against anything
published, so its files get the structural checks only: whole records, labels in
range, the class names, and with ``verify`` the published number of records per file.
"""

import gzip
import io
import tarfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.data.catalog import CifarEntry, Layout
from bench.data.fetch import check_published_checksum
from bench.errors import CorruptDataError


def read_cifar_files(
    entry: CifarEntry, layout: Layout, paths: Sequence[Path], verify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate CIFAR-10 from the archive or the extracted folder at ``paths``.

    The reader of CIFAR entries for :func:`bench.data.fetch.fetch_dataset`.

    Parameters
    ----------
    entry : CifarEntry
        Checksum, file names, image shape and classes.
    layout : Layout
        Which of ``entry.layouts`` was found: the archive, or the folder.
    paths : sequence of pathlib.Path
        The archive, or the folder's files in ``entry.folder_files`` order.
    verify : bool
        Check the archive's MD5 against the published one, and each record file's
        number of records.

    Returns
    -------
    tuple of numpy.ndarray
        X_train, y_train, X_test, y_test: images ``uint8`` of shape (n, 32, 32, 3) in
        RGB order, labels ``int64``.

    Raises
    ------
    CorruptDataError
        If the archive is not the published one (with ``verify``), is damaged or lacks
        a file, or a file is truncated, foreign or names other classes.
    """
    if layout.folder:
        remedy = f"extract {entry.folder}/ again from {entry.archive.name}"
        contents = {name: path.read_bytes() for name, path in zip(layout.files, paths, strict=True)}
        sources = {name: str(path) for name, path in zip(layout.files, paths, strict=True)}
    else:
        (archive,) = paths
        remedy = "replace the archive or delete it to download it again"
        contents = read_archive_members(archive, entry, verify)
        sources = {name: f"{archive}, member {entry.folder}/{name}" for name in contents}
    meta = entry.meta_file
    _check_class_names(contents.pop(meta), sources[meta], entry, remedy)
    X_train, y_train = _read_batches(entry.train_batches, contents, sources, entry, verify, remedy)
    X_test, y_test = _read_batches(entry.test_batches, contents, sources, entry, verify, remedy)
    return X_train, y_train, X_test, y_test


def read_archive_members(path: Path, entry: CifarEntry, verify: bool) -> dict[str, bytes]:
    """The bytes of the files of ``entry.folder`` in the archive at ``path``, by file name.

    Only the expected regular members are read, looked up by name; nothing is
    extracted to disk.

    Raises
    ------
    CorruptDataError
        If the archive is not the published one (with ``verify``), its gzip or tar
        data is damaged, or it lacks one of the files or holds it twice.
    """
    remedy = "replace the archive or delete it to download it again"
    raw = path.read_bytes()
    if verify:
        check_published_checksum(raw, path, entry.archive, entry.title)
    try:
        # Whole, unlike tarfile's streaming mode: that skips gzip's CRC check.
        tar_bytes = gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CorruptDataError(f"{path}: truncated or corrupt gzip data ({err}); {remedy}") from err
    del raw
    wanted = {f"{entry.folder}/{name}": name for name in entry.folder_files}
    contents: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
            for member in tar:
                name = wanted.get(member.name.removeprefix("./"))
                if name is None:
                    continue
                if name in contents:
                    raise CorruptDataError(f"{path}: {member.name} appears twice; {remedy}")
                if not member.isreg():
                    raise CorruptDataError(f"{path}: {member.name} is not a regular file; {remedy}")
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular file, checked above
                contents[name] = extracted.read()
    except tarfile.TarError as err:
        raise CorruptDataError(f"{path}: not a readable tar archive ({err}); {remedy}") from err
    missing = [f"{entry.folder}/{name}" for name in entry.folder_files if name not in contents]
    if missing:
        raise CorruptDataError(f"{path}: the archive lacks {', '.join(missing)}; {remedy}")
    return contents


def parse_cifar_records(
    content: bytes, source: str, entry: CifarEntry, *, remedy: str = ""
) -> tuple[np.ndarray, np.ndarray]:
    """Images (n, height, width, channels) and labels of one record file's bytes.

    Parameters
    ----------
    content : bytes
        The record file.
    source : str
        Where it was read, for messages.
    entry : CifarEntry
        Image shape and classes.
    remedy : str
        What to do, appended to messages.

    Returns
    -------
    tuple of numpy.ndarray
        Images ``uint8``, C-contiguous, channels in RGB order; labels ``int64``.

    Raises
    ------
    CorruptDataError
        If the file is empty, not a whole number of records, or has a label out of
        range (then it is no CIFAR-10 record file).
    """
    height, width, channels = entry.image_shape
    record_size = 1 + height * width * channels
    n_records, rest = divmod(len(content), record_size)
    if n_records == 0 or rest:
        raise CorruptDataError(
            f"{source}: truncated or not a {entry.title} record file: {len(content):,} bytes "
            f"is not a whole number of {record_size:,}-byte records; {remedy}"
        )
    records = np.frombuffer(content, np.uint8).reshape(n_records, record_size)
    labels = records[:, 0]
    n_classes = len(entry.class_names)
    bad = np.flatnonzero(labels >= n_classes)
    if bad.size:
        raise CorruptDataError(
            f"{source}: record {bad[0]} has label {labels[bad[0]]}, {entry.title} labels are "
            f"0..{n_classes - 1}: not a {entry.title} record file; {remedy}"
        )
    # Each record holds the channel planes one after another, each row by row.
    planes = records[:, 1:].reshape(n_records, channels, height, width)
    return np.ascontiguousarray(planes.transpose(0, 2, 3, 1)), labels.astype(np.int64)


def _read_batches(
    names: Sequence[str],
    contents: dict[str, bytes],
    sources: dict[str, str],
    entry: CifarEntry,
    verify: bool,
    remedy: str,
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in names:
        # Popped so that each file's bytes are freed once parsed.
        batch_images, batch_labels = parse_cifar_records(
            contents.pop(name), sources[name], entry, remedy=remedy
        )
        if verify and len(batch_labels) != entry.records_per_batch:
            raise CorruptDataError(
                f"{sources[name]} holds {len(batch_labels):,} records, the published file "
                f"{entry.records_per_batch:,}; {remedy} (or load with verify=False to use "
                "your own files)"
            )
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels)


def _check_class_names(content: bytes, source: str, entry: CifarEntry, remedy: str) -> None:
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as err:
        raise CorruptDataError(f"{source}: not a text file of class names; {remedy}") from err
    names = tuple(line.strip() for line in text.splitlines() if line.strip())
    if names != entry.class_names:
        raise CorruptDataError(
            f"{source}: class names {', '.join(names) or '(none)'}, expected "
            f"{', '.join(entry.class_names)} for {entry.title}; {remedy}"
        )

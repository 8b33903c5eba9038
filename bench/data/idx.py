"""Reading of IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, a type byte, a dimension count),
one big-endian uint32 size per dimension, then the data in C order. Only the
unsigned-byte type (0x08) is supported, the one these datasets use.

Reading is kept apart from locating files so that a faster cache can sit in front of it
(see :mod:`bench.data.fetch`).
"""

import gzip
import hashlib
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.data.catalog import IdxDataset, IdxFile, Layout
from bench.errors import CorruptDataError

GZIP_MAGIC = b"\x1f\x8b"
UBYTE_TYPE = 0x08
LABELS_MAGIC = 0x00000801
IMAGES_MAGIC = 0x00000803


def decompress_idx(raw: bytes, source: str | os.PathLike) -> bytes:
    """Return the IDX content of a file's bytes, gunzipping them if they are gzip.

    Gzip is recognised by its magic bytes ``1f 8b``, not by the file name.

    Parameters
    ----------
    raw : bytes
        The bytes of the file as stored.
    source : str or path-like
        File name used in error messages.

    Returns
    -------
    bytes
        The IDX content.

    Raises
    ------
    CorruptDataError
        If the gzip stream is truncated or corrupt.
    """
    if not raw.startswith(GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise CorruptDataError(
            f"{os.fspath(source)}: truncated or corrupt gzip data ({err}); "
            "replace the file or delete it to download it again"
        ) from err


def parse_idx(content: bytes, source: str | os.PathLike) -> np.ndarray:
    """Parse IDX content into a read-only ``uint8`` array.

    Parameters
    ----------
    content : bytes
        Uncompressed IDX bytes.
    source : str or path-like
        File name used in error messages.

    Returns
    -------
    numpy.ndarray
        Array of dtype ``uint8`` with the shape declared in the header; it shares
        memory with ``content`` and is read-only.

    Raises
    ------
    CorruptDataError
        If the magic number is wrong, the type is not unsigned byte, or the data is
        shorter or longer than the header declares.
    """
    name = os.fspath(source)
    if len(content) < 4 or content[0] != 0 or content[1] != 0:
        raise CorruptDataError(
            f"{name}: not an IDX file (magic number {content[:4].hex() or 'missing'}, "
            "expected 0000 followed by a type byte and a dimension count)"
        )
    type_byte, ndim = content[2], content[3]
    if type_byte != UBYTE_TYPE:
        raise CorruptDataError(
            f"{name}: IDX type byte is 0x{type_byte:02x}, expected 0x08 (unsigned byte)"
        )
    if ndim == 0:
        raise CorruptDataError(f"{name}: IDX header declares 0 dimensions")
    header_size = 4 + 4 * ndim
    if len(content) < header_size:
        raise CorruptDataError(
            f"{name}: truncated IDX header ({len(content)} bytes, {ndim} dimensions "
            f"need {header_size})"
        )
    shape = tuple(int(size) for size in np.frombuffer(content, ">u4", count=ndim, offset=4))
    expected = int(np.prod(shape, dtype=np.int64))
    actual = len(content) - header_size
    if actual < expected:
        raise CorruptDataError(
            f"{name}: truncated IDX data: header declares shape {shape} ({expected} bytes) "
            f"but only {actual} bytes follow"
        )
    if actual > expected:
        raise CorruptDataError(
            f"{name}: {actual - expected} trailing bytes after the {expected} bytes of "
            f"data declared for shape {shape}"
        )
    return np.frombuffer(content, np.uint8, count=expected, offset=header_size).reshape(shape)


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read one IDX file, gzipped or plain.

    Parameters
    ----------
    path : str or path-like
        The file. Gzip is detected from its first bytes, whatever its name.

    Returns
    -------
    numpy.ndarray
        Read-only ``uint8`` array with the shape declared in the file.

    Raises
    ------
    CorruptDataError
        If the file is not valid IDX, or its gzip stream is truncated or corrupt.
    """
    with open(path, "rb") as file:
        raw = file.read()
    return parse_idx(decompress_idx(raw, path), path)


def read_idx_files(
    entry: IdxDataset, layout: Layout, paths: Sequence[Path], verify: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read and validate the four files of ``entry`` at ``paths`` (in ``entry.files`` order).

    The reader of IDX entries for :func:`bench.data.fetch.fetch_dataset`.

    Parameters
    ----------
    entry : IdxDataset
        Checksums, image shape and classes the files must have.
    layout : Layout
        ``entry.layouts[0]``, the only layout of an IDX dataset.
    paths : sequence of pathlib.Path
        The four files, each gzipped or plain.
    verify : bool
        Check each file's SHA-256 against the published one.

    Returns
    -------
    tuple of numpy.ndarray
        X_train, y_train, X_test, y_test; labels as ``int64``.

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
    return X_train, y_train.astype(np.int64), X_test, y_test.astype(np.int64)


def _read_file(path: Path, file: IdxFile, entry: IdxDataset, verify: bool) -> np.ndarray:
    raw = path.read_bytes()
    content = decompress_idx(raw, path)
    array = parse_idx(content, path)
    if verify:
        _check_checksum(raw, content, path, file, entry)
    return array


def _check_checksum(
    raw: bytes, content: bytes, path: Path, file: IdxFile, entry: IdxDataset
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


def _check_images(images: np.ndarray, path: Path, entry: IdxDataset) -> None:
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


def _check_labels(labels: np.ndarray, path: Path, entry: IdxDataset) -> None:
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

"""Parsing of IDX files, the format of MNIST and Fashion-MNIST.

An IDX file is a 4-byte magic number (two zero bytes, a type byte, a dimension count),
one big-endian uint32 size per dimension, then the data in C order. Only the
unsigned-byte type (0x08) is supported, the one these datasets use.

Parsing is kept apart from locating files so that a faster cache can sit in front of it.
"""

import gzip
import os
import zlib

import numpy as np

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

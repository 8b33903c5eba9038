"""Reading of numeric variables from MATLAB 5 ``.mat`` files (SVHN's format).

:func:`scipy.io.loadmat` does the decoding (it never unpickles), but its reader trusts
the file: one damaged byte in a type field or in a variable's flags of an uncompressed
file makes it read out of bounds and crash the interpreter. So loadmat is handed only
what was checked here: the file's header and the requested variables, each inflated if
compressed (zlib checks its integrity) and checked to be a plain real numeric array
whose data is exactly as large as its dimensions say.

A MATLAB 5 file is a 128-byte header (text, subsystem offset, version ``0x0100``, byte
order ``IM`` or ``MI``), then one element per variable: a tag (32-bit type and size) and
the data, either ``miMATRIX`` (14) or ``miCOMPRESSED`` (15), a zlib stream of one
``miMATRIX`` element. A numeric matrix holds four sub-elements, each padded to 8 bytes:
array flags, dimensions, name, data. A sub-element of at most 4 bytes may be "small":
its type and size then share its first 4 bytes.
"""

import io
import math
import os
import struct
import zlib
from collections.abc import Iterator, Sequence

import numpy as np
import scipy.io
from scipy.io.matlab import MatReadError

from bench.errors import CorruptDataError

HEADER_SIZE = 128
SUBSYSTEM_OFFSET = slice(116, 124)
MI_INT8, MI_INT32, MI_UINT32 = 1, 5, 6
MI_MATRIX, MI_COMPRESSED = 14, 15
# Bytes per value of the numeric data types: miINT8 .. miUINT32, miSINGLE, miDOUBLE,
# miINT64, miUINT64.
VALUE_SIZES = {1: 1, 2: 1, 3: 2, 4: 2, 5: 4, 6: 4, 7: 4, 9: 8, 12: 8, 13: 8}
NUMERIC_CLASSES = range(6, 16)  # mxDOUBLE_CLASS .. mxUINT64_CLASS
COMPLEX_FLAG = 0x800
# What loadmat may still raise on checked data (e.g. a name that is not text).
MAT_ERRORS = (MatReadError, ValueError, TypeError, IndexError, KeyError, OSError, EOFError)
REMEDY = "replace the file or delete it to download it again"


def read_mat_variables(
    raw: bytes, source: str | os.PathLike, names: Sequence[str]
) -> dict[str, np.ndarray]:
    """The numeric variables ``names`` of a MATLAB 5 file, those it holds.

    Parameters
    ----------
    raw : bytes
        The bytes of the file.
    source : str or path-like
        File name used in error messages.
    names : sequence of str
        Variables to read; the file's others are skipped unread.

    Returns
    -------
    dict
        Name to array as :func:`scipy.io.loadmat` returns it (MATLAB's column-major
        shape, vectors as 2-D); a variable the file lacks is absent.

    Raises
    ------
    CorruptDataError
        If the file is not MATLAB 5, is truncated or damaged, or one of ``names`` is
        not a real numeric array.
    """
    file_name = os.fspath(source)
    order = _byte_order(raw, file_name)
    kept: dict[str, bytes] = {}
    for position, element in _variables(raw, order, file_name):
        where = f"{file_name}: variable at byte {position}"
        flags, dims, name, data = _sub_elements(element, order, where)
        if name not in names:
            continue
        if name in kept:
            raise CorruptDataError(f"{file_name}: variable {name} appears twice; {REMEDY}")
        _check_numeric(flags, dims, data, f"{file_name}: variable {name}")
        kept[name] = element
    # No subsystem offset: loadmat must not look for MATLAB objects in what it is given.
    header = raw[: SUBSYSTEM_OFFSET.start] + bytes(8) + raw[SUBSYSTEM_OFFSET.stop : HEADER_SIZE]
    # Joined in one go and the parts let go: SVHN's X is 225 MB inflated.
    content = b"".join([header, *kept.values()])
    names_kept = list(kept)
    del kept
    try:
        # scipy-stubs leave out the file-like objects loadmat documents and takes.
        variables = scipy.io.loadmat(io.BytesIO(content))  # type: ignore[arg-type]
    except MAT_ERRORS as err:
        raise CorruptDataError(f"{file_name}: unreadable MATLAB data ({err}); {REMEDY}") from err
    return {name: variables[name] for name in names_kept}


def _byte_order(raw: bytes, file_name: str) -> str:
    """``"<"`` or ``">"``, from a valid MATLAB 5 header."""
    if len(raw) < HEADER_SIZE or raw[126:128] not in (b"IM", b"MI"):
        raise CorruptDataError(
            f"{file_name}: not a MATLAB 5 .mat file (no 128-byte MATLAB header); {REMEDY}"
        )
    order = "<" if raw[126:128] == b"IM" else ">"
    (version,) = struct.unpack_from(order + "H", raw, 124)
    if version != 0x0100:
        raise CorruptDataError(
            f"{file_name}: MATLAB file version 0x{version:04x}, expected 0x0100 (MATLAB 5 "
            "to 7; a 7.3 file is HDF5): save it again with MATLAB's -v7 option"
        )
    return order


def _variables(raw: bytes, order: str, file_name: str) -> Iterator[tuple[int, bytes]]:
    """Each variable's position in the file and its uncompressed ``miMATRIX`` element."""
    position = HEADER_SIZE
    while position < len(raw):
        kind, start, end, _ = _element(raw, position, len(raw), order, file_name, True)
        if kind == MI_COMPRESSED:
            where = f"{file_name}: compressed variable at byte {position}"
            element = _inflate(raw[start:end], where)
            inner, _, inner_end, _ = _element(element, 0, len(element), order, where, True)
            # At most padding may follow the matrix; loadmat would read more as a variable.
            if inner != MI_MATRIX or len(element) - inner_end >= 8:
                raise CorruptDataError(f"{where} does not hold one matrix; {REMEDY}")
            element = element[:inner_end]
        elif kind == MI_MATRIX:
            element = raw[position:end]
        else:
            raise CorruptDataError(
                f"{file_name}: element of type {kind} at byte {position} where a variable "
                f"(type 14 or 15) must start; {REMEDY}"
            )
        yield position, element
        position = end


def _inflate(data: bytes, where: str) -> bytes:
    inflater = zlib.decompressobj()
    try:
        element = inflater.decompress(data)
    except zlib.error as err:
        raise CorruptDataError(f"{where} is corrupt ({err}); {REMEDY}") from err
    if not inflater.eof:
        raise CorruptDataError(f"{where} is truncated; {REMEDY}")
    return element


def _sub_elements(
    element: bytes, order: str, where: str
) -> tuple[int, tuple[int, ...], str, list[tuple[int, int, int]]]:
    """Flags, dimensions, name and the remaining sub-elements of a matrix element.

    Flags and dimensions are parsed; the remaining sub-elements are (type, start, end)
    triples. Only the first three are required to be what they must be, so that the
    name of any variable, numeric or not, can be read.
    """
    position, end = 8, len(element)
    found = []
    while position < end:
        kind, start, stop, position = _element(element, position, end, order, where, False)
        found.append((kind, start, stop))
    if len(found) < 3:
        raise CorruptDataError(f"{where}: matrix without flags, dimensions and name; {REMEDY}")
    (flags_kind, flags_start, flags_end), (dims_kind, dims_start, dims_end), name = found[:3]
    if flags_kind != MI_UINT32 or flags_end - flags_start != 8:
        raise CorruptDataError(f"{where}: damaged array flags; {REMEDY}")
    if dims_kind != MI_INT32 or (dims_end - dims_start) % 4 or dims_end - dims_start < 8:
        raise CorruptDataError(f"{where}: damaged dimensions; {REMEDY}")
    if name[0] != MI_INT8:
        raise CorruptDataError(f"{where}: damaged variable name; {REMEDY}")
    (flags,) = struct.unpack_from(order + "I", element, flags_start)
    n_dims = (dims_end - dims_start) // 4
    dims = struct.unpack_from(f"{order}{n_dims}i", element, dims_start)
    text = element[name[1] : name[2]].decode("ascii", errors="replace")
    return flags, dims, text, found[3:]


def _check_numeric(flags: int, dims: tuple[int, ...], data: list, where: str) -> None:
    """What loadmat relies on to read a variable safely as a real numeric array."""
    if flags & 0xFF not in NUMERIC_CLASSES or flags & COMPLEX_FLAG:
        raise CorruptDataError(
            f"{where} is not a real numeric array (MATLAB class {flags & 0xFF}, flags "
            f"0x{flags >> 8 & 0xFF:02x}); {REMEDY}"
        )
    if min(dims) < 0:
        raise CorruptDataError(f"{where} has negative dimensions {dims}; {REMEDY}")
    if len(data) != 1 or data[0][0] not in VALUE_SIZES:
        raise CorruptDataError(f"{where}: damaged data element; {REMEDY}")
    kind, start, stop = data[0]
    expected = math.prod(dims) * VALUE_SIZES[kind]
    if stop - start != expected:
        raise CorruptDataError(
            f"{where}: {stop - start} bytes of data, its dimensions {dims} need {expected}; "
            f"{REMEDY}"
        )


def _element(
    data: bytes, position: int, end: int, order: str, where: str, top_level: bool
) -> tuple[int, int, int, int]:
    """Type, data start, data end and next element's position of the element at ``position``.

    Raises CorruptDataError if it, with its padding, does not fit before ``end``.
    """
    if end - position < 8:
        raise CorruptDataError(
            f"{where}: truncated: {end - position} bytes at byte {position} where an "
            f"8-byte element tag must be; {REMEDY}"
        )
    first, second = struct.unpack_from(order + "II", data, position)
    if not top_level and first >> 16:
        kind, size = first & 0xFFFF, first >> 16
        if size > 4:
            raise CorruptDataError(
                f"{where}: small element of {size} bytes at byte {position}, at most 4 "
                f"fit; {REMEDY}"
            )
        return kind, position + 4, position + 4 + size, position + 8
    kind, size = first, second
    start = position + 8
    # Variables follow each other unpadded; the sub-elements of a matrix are padded.
    following = start + size if top_level else start + -(-size // 8) * 8
    if following > end:
        raise CorruptDataError(
            f"{where}: truncated: element at byte {position} declares {size} bytes, "
            f"{end - start} follow; {REMEDY}"
        )
    return kind, start, start + size, following

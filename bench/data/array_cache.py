"""A cache of decoded dataset arrays as ``.npy`` files, memory-mapped on later loads.

Decoding MNIST means gunzipping, checksumming and hashing 55 MB; reading the decoded
arrays back through a memory map costs milliseconds. One cache entry is a folder

    ``cache_root()/arrays/<dataset>/<key>/``

holding one ``<array>.npy`` per array and ``arrays.json`` with their dtypes, shapes and
the dataset digest, so a cached load never re-hashes the data. The key is a hash of the
format version, what the caller says shaped the arrays (checksums, validation settings)
and each source file's resolved path, size, modification and change times and inode:
editing, replacing or moving a source file selects a new entry, and the outdated one is
removed when the new one is written. A source may be a folder (a user's folder of
images): its stamp is the count and a hash of those facts for every file under it, so
that adding, removing or editing any one of them selects a new entry too.

An entry appears complete or not at all: it is written into a hidden temporary folder
that is renamed into place. An entry that cannot be read back exactly as described
(truncated or missing file, broken JSON, another dtype or shape, a file numpy would only
load through pickle) counts as missing and is rebuilt.
"""

import contextlib
import hashlib
import json
import os
import shutil
import time
import uuid
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.data.locate import cache_root

ARRAYS_FOLDER = "arrays"
META_NAME = "arrays.json"
FORMAT_VERSION = 1
# Hidden folders older than this are leftovers of writers that were killed.
LEFTOVER_AGE_S = 3600.0


@dataclass(frozen=True)
class CacheSlot:
    """The folder that holds, or will hold, the arrays decoded from some source files.

    Parameters
    ----------
    directory : pathlib.Path
        ``cache_root()/arrays/<dataset>/<key>``.
    stamps : tuple of list
        For each source file, the identity its key was computed from; see
        :func:`source_stamp`.
    """

    directory: Path
    stamps: tuple[list, ...]


@dataclass(frozen=True)
class CachedArrays:
    """Arrays read back from a cache entry, read-only memory maps, their digest, and
    the facts stored with them (see :func:`write_cached_arrays`)."""

    arrays: dict[str, np.ndarray]
    digest: str
    facts: dict[str, Any] = field(default_factory=dict)


def source_stamp(path: str | os.PathLike) -> list:
    """What identifies one version of a source file: resolved path, size, times, inode.

    The change time (``st_ctime_ns``) cannot be set back by tools that preserve the
    modification time (``cp -p``, ``touch -r``), so a rewritten file always differs.
    For a folder: its resolved path, the number of files under it and a SHA-256 over
    each one's path relative to it, size, times and inode; see :func:`folder_stamp`.
    """
    resolved = Path(path).resolve()
    if resolved.is_dir():
        return folder_stamp(resolved)
    status = resolved.stat()
    return [str(resolved), status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def folder_stamp(folder: Path) -> list:
    """``[folder, "folder", number of files, SHA-256]`` over every file under ``folder``.

    Every file counts, hidden ones included, and folders linked from inside are
    followed (each real folder once), so the stamp covers whatever a reader of the
    folder may have read. A stat per file: about 0.2 s for 60,000 files.
    """
    digest = hashlib.sha256()
    count = 0
    seen: set[tuple[int, int]] = set()
    pending = [(folder, "")]
    while pending:
        pending.sort(reverse=True)  # the folders in name order, whatever the listing's
        directory, prefix = pending.pop()
        status = directory.stat()
        if (status.st_dev, status.st_ino) in seen:
            continue  # a link back up the tree, or a second link to one folder
        seen.add((status.st_dev, status.st_ino))
        lines = []
        with os.scandir(directory) as scan:
            for entry in scan:
                relative = f"{prefix}{entry.name}"
                if entry.is_dir():
                    pending.append((Path(entry.path), f"{relative}/"))
                    continue
                try:
                    stat = entry.stat()
                except FileNotFoundError:  # a broken link: its reader will say so
                    stat = entry.stat(follow_symlinks=False)
                lines.append(
                    f"{relative}\0{stat.st_size}\0{stat.st_mtime_ns}\0{stat.st_ctime_ns}\0"
                    f"{stat.st_ino}\n"
                )
        lines.sort()  # the folder's listing order is the file system's
        # One update per folder: 60,000 small ones cost a tenth of the stats' time.
        digest.update("".join(lines).encode(errors="surrogateescape"))
        count += len(lines)
    return [str(folder), "folder", count, digest.hexdigest()]


def cache_slot(dataset: str, sources: Sequence[Path], identity: str) -> CacheSlot:
    """The cache folder for the arrays decoded from ``sources``.

    Parameters
    ----------
    dataset : str
        Dataset name, the folder under ``cache_root()/arrays``.
    sources : sequence of path
        The files the arrays are decoded from.
    identity : str
        Everything else the arrays depend on (expected checksums, validation
        settings); a different value gives a different entry.

    Returns
    -------
    CacheSlot
    """
    stamps = tuple(source_stamp(path) for path in sources)
    description = json.dumps([FORMAT_VERSION, identity, stamps])
    key = hashlib.sha256(description.encode()).hexdigest()[:32]
    return CacheSlot(cache_root() / ARRAYS_FOLDER / dataset / key, stamps)


def read_cached_arrays(slot: CacheSlot, names: Sequence[str]) -> CachedArrays | None:
    """The arrays ``names`` of the slot's entry, memory-mapped read-only, or None.

    None means the entry is missing or not exactly as its ``arrays.json`` describes
    it; the caller rebuilds it.
    """
    meta = _read_meta(slot.directory)
    if meta is None or meta["stamps"] != list(slot.stamps):
        return None
    if sorted(meta["arrays"]) != sorted(names):
        return None
    arrays: dict[str, np.ndarray] = {}
    for name in names:
        array = _map_array(slot.directory / f"{name}.npy")
        if array is None or not _matches(array, meta["arrays"][name]):
            return None
        arrays[name] = array
    return CachedArrays(arrays, meta["digest"], meta.get("facts", {}))


def write_cached_arrays(
    slot: CacheSlot,
    arrays: Mapping[str, np.ndarray],
    digest: str,
    facts: Mapping[str, Any] | None = None,
) -> None:
    """Store ``arrays`` and their ``digest`` as the slot's entry, replacing a broken one.

    ``facts``, JSON values (class names, what decoding changed), are stored beside them
    and handed back in :attr:`CachedArrays.facts`.

    Nothing is written if a source file changed since the slot was computed, as the
    arrays may then be of either version. A cache that cannot be written (read-only
    or full disk) is a warning, not an error: loading works without it, only slower.
    Outdated entries of the same dataset are removed afterwards.
    """
    if not _stamps_current(list(slot.stamps)):
        return
    try:
        _write_entry(slot, arrays, digest, facts)
    except OSError as err:
        warnings.warn(
            f"could not cache the decoded arrays in {slot.directory} ({err}); "
            "the dataset loads without the cache, only slower",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    _remove_outdated_entries(slot.directory)


def _write_entry(
    slot: CacheSlot,
    arrays: Mapping[str, np.ndarray],
    digest: str,
    facts: Mapping[str, Any] | None = None,
) -> None:
    parent = slot.directory.parent
    parent.mkdir(parents=True, exist_ok=True)
    temp = parent / f".tmp-{uuid.uuid4().hex}"
    temp.mkdir()
    try:
        for name, array in arrays.items():
            with open(temp / f"{name}.npy", "wb") as file:
                np.save(file, array, allow_pickle=False)
                _sync(file)
        meta = {
            "format": FORMAT_VERSION,
            "digest": digest,
            "arrays": {
                name: {"dtype": array.dtype.str, "shape": list(array.shape)}
                for name, array in arrays.items()
            },
            "stamps": list(slot.stamps),
        }
        if facts:
            meta["facts"] = dict(facts)
        # The JSON is written last, so even a folder left behind without the rename
        # would not describe files that are not all there.
        with open(temp / META_NAME, "w", encoding="utf-8") as file:
            json.dump(meta, file, indent=1)
            _sync(file)
        _move_into_place(temp, slot.directory)
    finally:
        # Includes KeyboardInterrupt; after a successful move there is nothing left.
        shutil.rmtree(temp, ignore_errors=True)


def _move_into_place(temp: Path, directory: Path) -> None:
    if directory.exists():
        # A broken entry: set it aside first, since a folder cannot replace a
        # non-empty one. Processes that map its files keep their data.
        aside = directory.with_name(f".old-{uuid.uuid4().hex}")
        # Another process may have set it aside first.
        with contextlib.suppress(FileNotFoundError):
            os.replace(directory, aside)
        _remove(aside)
    try:
        os.replace(temp, directory)
    except OSError:
        # Another process put its entry there in the meantime; the key makes it hold
        # the same arrays, so ours is not needed.
        if not directory.is_dir():
            raise


def _remove_outdated_entries(keep: Path) -> None:
    """Remove entries whose source files changed and leftovers of killed writers."""
    now = time.time()
    for directory in keep.parent.iterdir():
        if directory == keep or not directory.is_dir():
            continue
        if directory.name.startswith("."):
            try:
                outdated = now - directory.stat().st_mtime > LEFTOVER_AGE_S
            except FileNotFoundError:
                continue  # another process removed it meanwhile
        else:
            meta = _read_meta(directory)
            outdated = meta is None or not _stamps_current(meta["stamps"])
        if outdated:
            _remove(directory)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def _stamps_current(stamps: list) -> bool:
    try:
        return all(source_stamp(stamp[0]) == stamp for stamp in stamps)
    except OSError:
        return False


def _read_meta(directory: Path) -> dict | None:
    try:
        meta = json.loads((directory / META_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT_VERSION:
        return None
    valid = (
        isinstance(meta.get("digest"), str)
        and len(meta["digest"]) == 64
        and isinstance(meta.get("stamps"), list)
        and all(isinstance(stamp, list) and stamp for stamp in meta["stamps"])
        and isinstance(meta.get("arrays"), dict)
        and all(_is_spec(spec) for spec in meta["arrays"].values())
        and isinstance(meta.get("facts", {}), dict)
    )
    return meta if valid else None


def _is_spec(spec: object) -> bool:
    return (
        isinstance(spec, dict)
        and isinstance(spec.get("dtype"), str)
        and isinstance(spec.get("shape"), list)
        and all(isinstance(size, int) for size in spec["shape"])
    )


def _map_array(path: Path) -> np.memmap | None:
    try:
        # allow_pickle=False: a cache file must never be able to run code.
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if not isinstance(array, np.memmap):
        # An .npz archive under an .npy name loads lazily as NpzFile.
        if hasattr(array, "close"):
            array.close()
        return None
    return array


def _matches(array: np.memmap, spec: dict) -> bool:
    # Files are written in C order with nothing after the data; a file that is not
    # exactly that was changed after writing, and may have been changed elsewhere too.
    assert array.filename is not None  # mapped from a file
    size = os.path.getsize(array.filename)
    return (
        array.dtype.str == spec["dtype"]
        and list(array.shape) == spec["shape"]
        and array.flags.c_contiguous
        and array.offset + array.nbytes == size
    )


def _sync(file) -> None:
    file.flush()
    os.fsync(file.fileno())

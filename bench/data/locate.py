"""Where the files of a dataset are looked for, in order.

1. the ``data_dir`` argument if given, else ``$BENCH_DATA_DIR/<name>/``;
2. the system folder ``/usr/share/datasets/<name>/`` (Debian's dataset packages);
3. the download cache ``$BENCH_CACHE_DIR/<name>/``, by default
   ``${XDG_CACHE_HOME:-~/.cache}/bench/<name>/``.

The first folder holding all the files of one of the dataset's layouts wins; within a
folder, the layouts are tried in the entry's order (see
:class:`bench.data.catalog.Layout`). An IDX file may be gzipped (``<file>.gz``) or plain
(``<file>``).
"""

import os
from dataclasses import dataclass
from pathlib import Path

from bench.data.catalog import DatasetEntry, Layout

DATA_DIR_ENV = "BENCH_DATA_DIR"
CACHE_DIR_ENV = "BENCH_CACHE_DIR"
SYSTEM_ROOT = Path("/usr/share/datasets")


@dataclass(frozen=True)
class SearchPlace:
    """One folder searched, and why it is searched (for messages)."""

    directory: Path | None
    label: str


def cache_root() -> Path:
    """Folder under which downloads land, one sub-folder per dataset.

    ``$BENCH_CACHE_DIR`` if set, else ``${XDG_CACHE_HOME:-~/.cache}/bench``. Decoded
    arrays are cached in its ``arrays/`` sub-folder; see :mod:`bench.data.array_cache`.
    """
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "bench"


def search_places(
    name: str,
    data_dir: str | os.PathLike | None = None,
    *,
    system_root: str | os.PathLike = SYSTEM_ROOT,
    cache_dir: str | os.PathLike | None = None,
) -> list[SearchPlace]:
    """The folders searched for dataset ``name``, in order; the last is the cache.

    Parameters
    ----------
    name : str
        Dataset name, used as sub-folder name.
    data_dir : str or path-like, optional
        Folder holding the files directly; replaces ``$BENCH_DATA_DIR/<name>``.
    system_root : str or path-like
        Folder holding one sub-folder per dataset.
    cache_dir : str or path-like, optional
        Download folder for this dataset; default ``cache_root() / name``.

    Returns
    -------
    list of SearchPlace
        A place whose ``directory`` is None was not configured (``$BENCH_DATA_DIR``
        unset) and is listed only so messages can mention it.
    """
    if data_dir is not None:
        first = SearchPlace(Path(data_dir), "data_dir argument")
    elif os.environ.get(DATA_DIR_ENV):
        first = SearchPlace(Path(os.environ[DATA_DIR_ENV]).expanduser() / name, DATA_DIR_ENV)
    else:
        first = SearchPlace(None, f"{DATA_DIR_ENV} not set")
    cache = Path(cache_dir) if cache_dir is not None else cache_root() / name
    return [
        first,
        SearchPlace(Path(system_root) / name, "system folder"),
        SearchPlace(cache, "download cache"),
    ]


def find_files(directory: Path, layout: Layout) -> list[Path | None]:
    """Path of each of the layout's files in ``directory``, None for each one missing.

    Of a file's copies (``name + suffix``), the first in ``layout.suffixes`` order
    wins: for IDX the plain one, which loads faster.
    """
    folder = directory / layout.folder
    found = []
    for name in layout.files:
        candidates = (folder / f"{name}{suffix}" for suffix in layout.suffixes)
        found.append(next((path for path in candidates if path.is_file()), None))
    return found


def find_dataset(entry: DatasetEntry, directory: Path) -> tuple[Layout, list[Path]] | None:
    """The first of the entry's layouts complete in ``directory``, with its paths."""
    for layout in entry.layouts:
        found = find_files(directory, layout)
        paths = [path for path in found if path is not None]
        if len(paths) == len(found):
            return layout, paths
    return None


def describe_place(entry: DatasetEntry, place: SearchPlace) -> str:
    """What a place lacks of the dataset, for the not-found message."""
    if place.directory is None:
        return f"${place.label}"
    if not place.directory.is_dir():
        return f"{place.directory} ({place.label}: no such folder)"
    lacking = " or ".join(_describe_missing(place.directory, layout) for layout in entry.layouts)
    return f"{place.directory} ({place.label}: missing {lacking})"


def _describe_missing(directory: Path, layout: Layout) -> str:
    if layout.folder and not (directory / layout.folder).is_dir():
        return f"{layout.folder}/"
    prefix = f"{layout.folder}/" if layout.folder else ""
    found = find_files(directory, layout)
    return ", ".join(
        f"{prefix}{name}" for name, path in zip(layout.files, found, strict=True) if path is None
    )

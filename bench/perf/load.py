"""Loading MNIST: the first load from the gzipped IDX files, then loads from the array cache.

Both are timed in this process, imports excluded, with ``$BENCH_CACHE_DIR`` pointing at
a fresh temporary folder for each round, so neither the user's cache nor an earlier
round helps a first load. The first load includes writing the cache, as a user's does.
The cached arrays are then hashed again to show they are the data the first load
decoded.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from bench.data import Dataset, load_dataset
from bench.data.dataset import dataset_digest
from bench.data.locate import CACHE_DIR_ENV
from bench.perf import Figure

CHECK = "load"
DATASET = "mnist"
FIRST_TARGET_S = 1.0
CACHED_TARGET_S = 0.1


def measure(quick: bool = False) -> list[Figure]:
    """Seconds for a first and for a cached MNIST load, and whether their data agree.

    Parameters
    ----------
    quick : bool
        One round of a first load and 3 cached loads, instead of 3 rounds of 1 and 5.

    Returns
    -------
    list of Figure
        First load seconds, cached load seconds (best of each) and digest agreement.

    Raises
    ------
    RuntimeError
        If a cached load did not come from the cache or its arrays differ from the
        uncached ones.
    """
    rounds, cached_per_round = (1, 3) if quick else (3, 5)
    # Found (or downloaded) with the user's settings, before the cache is redirected.
    reference = load_dataset(DATASET, cache_arrays=False)
    first_s, cached_s = [], []
    for _ in range(rounds):
        with temporary_cache_dir():
            seconds, first = _timed_load(reference.source)
            first_s.append(seconds)
            _check_same_data(first, reference, "first load")
            for _ in range(cached_per_round):
                seconds, cached = _timed_load(reference.source)
                cached_s.append(seconds)
            _check_cached(cached, reference)
            del first, cached  # unmap before the folder goes
    best_first, best_cached = min(first_s), min(cached_s)
    return [
        Figure(
            CHECK,
            "first MNIST load (gzipped IDX)",
            best_first,
            FIRST_TARGET_S,
            "s",
            False,
            f"best of {_list(first_s)} s; decode, verify, validate, digest, write cache",
        ),
        Figure(
            CHECK,
            "cached MNIST load (memory-mapped .npy)",
            best_cached,
            CACHED_TARGET_S,
            "s",
            False,
            f"best of {_list(cached_s)} s; {best_first / best_cached:.0f}x faster than first",
        ),
        Figure(
            CHECK,
            "cached digest equals uncached",
            1.0,
            1.0,
            "",
            True,
            f"SHA-256 recomputed over the memory-mapped arrays: {reference.digest[:12]}",
        ),
    ]


@contextlib.contextmanager
def temporary_cache_dir() -> Iterator[Path]:
    """Point ``$BENCH_CACHE_DIR`` at a new empty folder; restore it and remove the folder."""
    previous = os.environ.get(CACHE_DIR_ENV)
    with tempfile.TemporaryDirectory(prefix="bench-perf-load-") as folder:
        os.environ[CACHE_DIR_ENV] = folder
        try:
            yield Path(folder)
        finally:
            if previous is None:
                os.environ.pop(CACHE_DIR_ENV, None)
            else:
                os.environ[CACHE_DIR_ENV] = previous


def _timed_load(source: str) -> tuple[float, Dataset]:
    started = time.perf_counter()
    dataset = load_dataset(DATASET, data_dir=source, download=False)
    return time.perf_counter() - started, dataset


def _check_cached(cached: Dataset, reference: Dataset) -> None:
    if not all(isinstance(array, np.memmap) for array in _arrays(cached)):
        raise RuntimeError("the cached MNIST load did not read the array cache")
    _check_same_data(cached, reference, "cached load")


def _check_same_data(dataset: Dataset, reference: Dataset, what: str) -> None:
    digest = dataset_digest(*_arrays(dataset))
    if not digest == dataset.digest == reference.digest:
        raise RuntimeError(
            f"MNIST {what} differs from the uncached load: arrays hash to {digest}, "
            f"reported digest {dataset.digest}, uncached digest {reference.digest}"
        )


def _arrays(dataset: Dataset) -> tuple[np.ndarray, ...]:
    return (dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test)


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{value:.3f}" for value in seconds)

"""Loading your own data: 60,000 PNG files in class folders, first and cached.

The check writes 60,000 real 28x28 grey digits as PNG files, one folder per class, in a
temporary folder: MNIST's training images when MNIST is on this machine, else
scikit-learn's 8x8 digits scaled up to 28x28 and repeated. It then times
:func:`bench.data.load_user_data` as ``bench run --data`` calls it, imports excluded:
a first load (list the files, decode them in worker processes, hold out the test split,
write the array cache) with ``$BENCH_CACHE_DIR`` pointing at a fresh folder, then loads
from the cache. The images loaded must be exactly those written, and the cached loads'
digest that of the first.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from bench.data import Dataset, load_dataset, load_user_data
from bench.data.array_cache import ARRAYS_FOLDER
from bench.data.image_decoding import worker_context
from bench.data.user_data import CACHE_NAME
from bench.errors import DataError
from bench.perf import Figure
from bench.perf.load import temporary_cache_dir
from bench.runtime.backend import usable_cores

CHECK = "user-data"
IMAGES = 60_000
SHAPE = (28, 28)
FIRST_TARGET_S = 15.0
CACHED_TARGET_S = 0.5
WRITE_CHUNK = 2000


def measure(quick: bool = False) -> list[Figure]:
    """Seconds for a first and for a cached load of 60,000 PNG files, and whether the
    images loaded are those written.

    Parameters
    ----------
    quick : bool
        One first load and 3 cached loads, instead of 2 and 5 (each first load in a
        fresh cache).

    Returns
    -------
    list of Figure
        First load seconds, cached load seconds (best of each) and the data's agreement.

    Raises
    ------
    RuntimeError
        If a load's images differ from those written, a cached load's digest from the
        first load's, or no cache entry was written.
    """
    rounds, cached_per_round = (1, 3) if quick else (2, 5)
    images, labels, origin = _digit_images()
    first_s: list[float] = []
    cached_s: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-perf-user-data-") as folder:
        root = write_image_folder(Path(folder) / "digits", images, labels)
        for _ in range(rounds):
            with temporary_cache_dir() as cache:
                seconds, first = _timed_load(root)
                first_s.append(seconds)
                _check_images(first, images, labels)
                if not any((cache / ARRAYS_FOLDER / CACHE_NAME).iterdir()):
                    raise RuntimeError("the first load of the PNG folder wrote no cache entry")
                for _ in range(cached_per_round):
                    seconds, cached = _timed_load(root)
                    cached_s.append(seconds)
                    if cached.digest != first.digest:
                        raise RuntimeError(
                            f"a cached load's digest {cached.digest} differs from the first "
                            f"load's {first.digest}"
                        )
    best_first, best_cached = min(first_s), min(cached_s)
    return [
        Figure(
            CHECK,
            f"first load of {IMAGES:,} PNG files",
            best_first,
            FIRST_TARGET_S,
            "s",
            False,
            f"best of {_list(first_s)} s on {usable_cores()} cores; list, decode, split, "
            "digest, write cache",
        ),
        Figure(
            CHECK,
            f"cached load of {IMAGES:,} PNG files",
            best_cached,
            CACHED_TARGET_S,
            "s",
            False,
            f"best of {_list(cached_s)} s; stat every file, map the cache, split, digest; "
            f"{best_first / best_cached:.0f}x faster than first",
        ),
        Figure(
            CHECK,
            "images loaded equal those written",
            1.0,
            1.0,
            "",
            True,
            f"every image and label of the split, as a multiset; {origin}",
        ),
    ]


def write_image_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    """``root/<label>/<index>.png`` for each image, written in worker processes."""
    for label in np.unique(labels):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    paths = [root / str(label) / f"{index:05d}.png" for index, label in enumerate(labels)]
    starts = range(0, len(paths), WRITE_CHUNK)
    with ProcessPoolExecutor(usable_cores(), mp_context=worker_context()) as pool:
        futures = [
            pool.submit(
                _write_pngs, paths[start : start + WRITE_CHUNK], images[start : start + WRITE_CHUNK]
            )
            for start in starts
        ]
        for future in futures:
            future.result()
    return root


def _write_pngs(paths: Sequence[Path], images: np.ndarray) -> None:
    for path, image in zip(paths, images, strict=True):
        Image.fromarray(image).save(path, "PNG")


def _digit_images() -> tuple[np.ndarray, np.ndarray, str]:
    try:
        mnist = load_dataset("mnist", download=False)
    except DataError:
        return _upscaled_digits()
    return np.asarray(mnist.X_train[:IMAGES]), np.asarray(mnist.y_train[:IMAGES]), "MNIST"


def _upscaled_digits() -> tuple[np.ndarray, np.ndarray, str]:
    """scikit-learn's digits, 0..16 made 0..255 and 8x8 made 28x28, repeated to 60,000."""
    import sklearn.datasets

    digits = sklearn.datasets.load_digits()
    small = np.round(digits.images * (255 / 16)).astype(np.uint8)
    large = np.stack(
        [
            np.asarray(Image.fromarray(image).resize(SHAPE, Image.Resampling.BILINEAR))
            for image in small
        ]
    )
    repeats = -(-IMAGES // len(large))
    images = np.tile(large, (repeats, 1, 1))[:IMAGES]
    labels = np.tile(digits.target, repeats)[:IMAGES]
    return images, labels, "scikit-learn digits scaled to 28x28 (MNIST not found)"


def _timed_load(root: Path) -> tuple[float, Dataset]:
    started = time.perf_counter()
    dataset = load_user_data(root, image_shape=SHAPE, test_split_seed=0).dataset
    return time.perf_counter() - started, dataset


def _check_images(dataset: Dataset, images: np.ndarray, labels: np.ndarray) -> None:
    loaded_images = np.concatenate([dataset.X_train, dataset.X_test])
    # The class folders are named by digit: a label's class name is the digit.
    digits = np.asarray(dataset.class_names, dtype=np.int64)
    loaded_labels = digits[np.concatenate([dataset.y_train, dataset.y_test])]
    if not np.array_equal(_sorted_rows(loaded_images, loaded_labels), _sorted_rows(images, labels)):
        raise RuntimeError("the images loaded from the PNG folder differ from those written")


def _sorted_rows(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Each image's label and pixels as one row of bytes, rows sorted: equal for equal
    multisets of labelled images."""
    rows = np.concatenate([labels.astype(np.uint8)[:, None], images.reshape(len(images), -1)], 1)
    rows = np.ascontiguousarray(rows)
    return np.sort(rows.view(np.dtype((np.void, rows.shape[1]))).ravel())


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{value:.3f}" for value in seconds)

"""HOG features of all of MNIST: :class:`HOGTransformer` against scikit-image's ``hog``.

For each setting, scikit-image is timed image by image, as users would call it, and
``HOGTransformer.transform`` on the same images as one batch. scikit-image runs once
over all the images (up to a minute); the transformer runs three times, once before
and twice after it, and its best time counts, so a busy moment of the machine cannot
decide the ratio alone. The two outputs are then compared element by element, and
the transformer's peak memory is traced in a separate run.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from bench.data import load_dataset
from bench.perf import Figure

CHECK = "hog"
DATASET = "mnist"
QUICK_IMAGES = 5_000
SPEEDUP_TARGET = 20.0
DIFFERENCE_TARGET = 1e-6
MEMORY_TARGET = 2.0


@dataclass(frozen=True)
class HOGSetting:
    """One HOG configuration, named as in the figures."""

    orientations: int
    pixels_per_cell: int
    cells_per_block: int
    block_norm: str = "L2-Hys"

    @property
    def label(self) -> str:
        cell, block = self.pixels_per_cell, self.cells_per_block
        return (
            f"{self.orientations} orientations, {cell}x{cell} cells, {block}x{block} blocks, "
            f"{self.block_norm}"
        )

    def transformer(self):
        from estimators.hog import HOGTransformer

        return HOGTransformer(
            orientations=self.orientations,
            pixels_per_cell=self.pixels_per_cell,
            cells_per_block=self.cells_per_block,
            block_norm=self.block_norm,
        )

    def skimage_features(self, images: np.ndarray) -> np.ndarray:
        """scikit-image's features, one call per image, stacked as (n_images, n_features)."""
        from skimage.feature import hog

        cell, block = self.pixels_per_cell, self.cells_per_block
        return np.array(
            [
                hog(
                    image,
                    orientations=self.orientations,
                    pixels_per_cell=(cell, cell),
                    cells_per_block=(block, block),
                    block_norm=self.block_norm,
                    feature_vector=True,
                )
                for image in images
            ]
        )


SETTINGS = (
    HOGSetting(orientations=8, pixels_per_cell=4, cells_per_block=1),  # mnist-hog-mlp
    HOGSetting(orientations=9, pixels_per_cell=7, cells_per_block=2),
)


def measure(quick: bool = False) -> list[Figure]:
    """Speed-up over scikit-image, largest difference from it and peak memory, per setting.

    Parameters
    ----------
    quick : bool
        The first 5,000 MNIST images instead of all 70,000 (train then test).

    Returns
    -------
    list of Figure
        For each of :data:`SETTINGS`: speed-up (higher is better), max absolute
        difference from scikit-image and peak extra memory over the output's size
        (both lower is better).
    """
    images = mnist_images(QUICK_IMAGES if quick else None)
    figures = []
    for setting in SETTINGS:
        figures += _measure_setting(setting, images)
    return figures


def mnist_images(limit: int | None = None) -> np.ndarray:
    """MNIST's train then test images, (n, 28, 28) uint8; the first ``limit`` if given."""
    dataset = load_dataset(DATASET)
    images = np.concatenate([dataset.X_train, dataset.X_test])
    return images if limit is None else images[:limit]


def peak_extra_memory(function: Callable[..., Any], *args: Any) -> tuple[Any, int]:
    """Call ``function(*args)``; return its result and the peak bytes it allocated.

    Counts what Python and NumPy report to :mod:`tracemalloc` while the call runs,
    above what was allocated before it (so the arguments are excluded) and including
    the result.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = function(*args)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, peak - before


def _measure_setting(setting: HOGSetting, images: np.ndarray) -> list[Figure]:
    transformer = setting.transformer().fit(images[:1])
    features, first_s = _timed(transformer.transform, images)
    expected, skimage_s = _timed(setting.skimage_features, images)
    difference = float(np.abs(features - expected).max())
    # Each later run may reuse the memory the last one's output held, as a user's
    # repeated calls would; the first run also paid for fresh pages, as did scikit-image.
    del expected, features
    ours_s = [first_s]
    for _ in range(2):
        seconds = _timed(transformer.transform, images)[1]
        ours_s.append(seconds)
    features, peak = peak_extra_memory(transformer.transform, images)
    best = min(ours_s)
    count = f"{len(images):,} images"
    return [
        Figure(
            CHECK,
            f"speed-up over skimage.feature.hog ({setting.label})",
            skimage_s / best,
            SPEEDUP_TARGET,
            "x",
            True,
            f"HOGTransformer best of {_list(ours_s)} s; skimage {skimage_s:.2f} s, "
            f"image by image; {count}",
        ),
        Figure(
            CHECK,
            f"max abs difference from skimage ({setting.label})",
            difference,
            DIFFERENCE_TARGET,
            "",
            False,
            f"over all {features.size:,} features of {count}, dtype {features.dtype}",
        ),
        Figure(
            CHECK,
            f"peak memory / output size ({setting.label})",
            peak / features.nbytes,
            MEMORY_TARGET,
            "x",
            False,
            f"tracemalloc peak {peak / 2**20:.1f} MiB during transform, output "
            f"{features.nbytes / 2**20:.1f} MiB included, input excluded",
        ),
    ]


def _timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = function(*args)
    return result, time.perf_counter() - started


def _list(seconds: list[float]) -> str:
    return ", ".join(f"{value:.3f}" for value in seconds)

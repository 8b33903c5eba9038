"""Loading a dataset from one folder and comparing its arrays, for the tests of
:mod:`bench.data`."""

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from bench.data import Dataset
from bench.data.catalog import DatasetEntry
from bench.data.loaders import load_catalog_entry


def load_from(
    entry: DatasetEntry, directory: str | os.PathLike, tmp_path: Path, **kwargs
) -> Dataset:
    """Load ``entry`` from ``directory`` only: empty system folder and download cache,
    no download unless ``download=True`` is passed."""
    kwargs.setdefault("download", False)
    return load_catalog_entry(
        entry,
        data_dir=directory,
        system_root=tmp_path / "no-system",
        cache_dir=tmp_path / "no-cache",
        **kwargs,
    )


def dataset_arrays(dataset: Dataset) -> list[np.ndarray]:
    """X_train, y_train, X_test, y_test of ``dataset``."""
    return [dataset.X_train, dataset.y_train, dataset.X_test, dataset.y_test]


def assert_arrays(dataset: Dataset, arrays: Sequence[np.ndarray]) -> None:
    """``dataset`` holds ``arrays`` (X_train, y_train, X_test, y_test), dtypes included."""
    for actual, expected in zip(dataset_arrays(dataset), arrays, strict=True):
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)

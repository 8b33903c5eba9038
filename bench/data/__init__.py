"""Datasets for the benchmarks: MNIST, Fashion-MNIST and scikit-learn's digits.

``load_dataset(name)`` finds the files (see :mod:`bench.data.locate` for the search
order), downloads them into the cache if allowed, validates them and returns a
:class:`Dataset`. The decoded arrays of MNIST and Fashion-MNIST are cached as ``.npy``
files under ``cache_root()/arrays/<name>/`` and memory-mapped on later loads (see
:mod:`bench.data.array_cache`). Nothing here prints; failures raise :mod:`bench.errors`
exceptions.
"""

from bench.data.dataset import Dataset
from bench.data.idx import read_idx
from bench.data.loaders import (
    dataset_names,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
)

__all__ = [
    "Dataset",
    "dataset_names",
    "load_dataset",
    "load_digits",
    "load_fashion_mnist",
    "load_mnist",
    "read_idx",
]

"""Datasets for the benchmarks: MNIST, Fashion-MNIST, SVHN, CIFAR-10 and scikit-learn's
digits.

``load_dataset(name)`` finds the files (see :mod:`bench.data.locate` for the search
order), downloads them into the cache if allowed, validates them and returns a
:class:`Dataset`. The decoded arrays of the downloadable datasets are cached as ``.npy``
files under ``cache_root()/arrays/<name>/`` and memory-mapped on later loads (see
:mod:`bench.data.array_cache`). Nothing here prints; failures raise :mod:`bench.errors`
exceptions.
"""

from __future__ import annotations

import importlib

# Imported on first use, so that a light module of this package (the catalog, which
# `bench list` reads) does not pay for NumPy and scikit-learn's loaders.
_MODULE_OF = {
    "Dataset": "bench.data.dataset",
    "read_idx": "bench.data.idx",
    "dataset_names": "bench.data.loaders",
    "load_dataset": "bench.data.loaders",
    "load_cifar10": "bench.data.loaders",
    "load_digits": "bench.data.loaders",
    "load_fashion_mnist": "bench.data.loaders",
    "load_mnist": "bench.data.loaders",
    "load_svhn": "bench.data.loaders",
}

__all__ = sorted(_MODULE_OF)


def __getattr__(name: str):
    if name not in _MODULE_OF:
        raise AttributeError(f"module 'bench.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_MODULE_OF[name]), name)


def __dir__() -> list[str]:
    return __all__

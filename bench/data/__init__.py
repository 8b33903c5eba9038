"""Datasets for the benchmarks: MNIST, Fashion-MNIST, SVHN, CIFAR-10 and scikit-learn's
digits, and a user's own (``load_user_data``: a folder of images, a CSV, an ``.npz``).

``load_dataset(name)`` finds the files (see :mod:`bench.data.locate` for the search
order), downloads them into the cache if allowed, validates them and returns a
:class:`Dataset`. The decoded arrays of the downloadable datasets are cached as ``.npy``
files under ``cache_root()/arrays/<name>/`` and memory-mapped on later loads (see
:mod:`bench.data.array_cache`). Nothing here prints; failures raise :mod:`bench.errors`
exceptions.
"""

import lazy_loader

# Imported on first use, so that a light module of this package (the catalog, which
# `bench list` reads) does not pay for NumPy and scikit-learn's loaders.
__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "dataset": ["Dataset"],
        "idx": ["read_idx"],
        "loaders": [
            "dataset_names",
            "load_cifar10",
            "load_dataset",
            "load_digits",
            "load_fashion_mnist",
            "load_mnist",
            "load_svhn",
        ],
        "user_data": ["DEFAULT_TEST_SHARE", "UserData", "load_user_data"],
    },
)

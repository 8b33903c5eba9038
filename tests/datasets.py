"""Where the tests find the real datasets, when a machine has them."""

import os
from pathlib import Path

import pytest

# The shared folder next to the checkout, as on the development machines.
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def data_root() -> Path:
    """``$BENCH_DATA_DIR`` if set, else the shared datasets folder."""
    return Path(os.environ.get("BENCH_DATA_DIR", SHARED_DATASETS))


def mnist_root_or_skip() -> Path:
    """The folder holding ``mnist/``; skips the test where MNIST is not on this machine."""
    root = data_root()
    for name in MNIST_FILES:
        if not any((root / "mnist" / f"{name}{suffix}").is_file() for suffix in ("", ".gz")):
            pytest.skip(f"no MNIST file {name}[.gz] in {root / 'mnist'}")
    return root

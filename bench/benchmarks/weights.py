"""A benchmark's weight count from its declaration, without Keras or data."""

from __future__ import annotations

from bench.benchmarks.pipelines import WEIGHT_COUNTERS
from bench.benchmarks.registry import Benchmark
from bench.data.catalog import dataset_geometry


def declared_weights(benchmark: Benchmark) -> int | None:
    """Weights of the benchmark's network, by arithmetic where its factory has a
    counter (instant), else by building the network with Keras (seconds); ``None``
    for a baseline whose size depends on the data (an SVC's support vectors), and for
    a benchmark on the user's own data, whose classes are known once it is loaded."""
    if benchmark.data is not None:
        return None
    counter = WEIGHT_COUNTERS.get(benchmark.pipeline)
    if counter is None and not benchmark.trains_by_epoch:
        return None  # a scikit-learn classifier of a user's own: no network to build
    if counter is None:
        from bench.benchmarks.configure import count_weights

        return count_weights(benchmark)
    image_shape, n_classes = dataset_geometry(benchmark.dataset)
    return counter(benchmark.params, image_shape, n_classes)

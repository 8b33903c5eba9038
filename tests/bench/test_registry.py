"""The named benchmarks have the published topologies (weight counts from the issue)."""

import pytest
from sklearn.base import is_classifier

from bench.errors import UsageError
from bench.experiment import count_weights
from bench.registry import benchmark_names, get_benchmark

PUBLISHED_WEIGHTS = {
    "mnist-mlp": 244_840,
    "mnist-hog-mlp": 127_240,
    "mnist-cnn": 56_420,
    "mnist-mlp-512": 932_362,
    "fashion-cnn": 56_420,
}


@pytest.mark.parametrize(("name", "weights"), sorted(PUBLISHED_WEIGHTS.items()))
def test_weight_counts_match_the_published_networks(name, weights):
    assert count_weights(get_benchmark(name)) == weights


def test_every_benchmark_builds_a_classifier_pipeline():
    assert {"digits-mlp", "fashion-cnn", "mnist-cnn", "mnist-hog-mlp"} <= set(benchmark_names())
    for name in benchmark_names():
        benchmark = get_benchmark(name)
        pipeline = benchmark.build(pixel_max=255.0, seed=3)
        assert is_classifier(pipeline)
        params = pipeline.get_params()
        assert params["clf__random_state"] == 3
        assert params["clf__epochs"] == benchmark.epochs
        assert 0 < params["clf__validation_split"] < 0.5


def test_hog_benchmark_uses_392_features():
    import numpy as np

    pipeline = get_benchmark("mnist-hog-mlp").build(pixel_max=255.0, seed=0)
    features = pipeline[:-1].fit_transform(np.random.default_rng(0).integers(0, 255, (3, 28, 28)))
    assert features.shape == (3, 392)


def test_unknown_benchmark_lists_valid_names():
    with pytest.raises(UsageError, match="valid: digits-cnn, digits-mlp, fashion-cnn"):
        get_benchmark("nope")

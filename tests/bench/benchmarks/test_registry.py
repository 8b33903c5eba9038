"""The named benchmarks have the published topologies (weight counts from the issue)."""

import subprocess
import sys

import pytest
from sklearn.base import is_classifier

from bench.benchmarks import Benchmark, benchmark_names, get_benchmark, register
from bench.benchmarks.configure import count_weights
from bench.benchmarks.pipelines import mlp_pipeline
from bench.benchmarks.weights import declared_weights
from bench.errors import UsageError

PUBLISHED_WEIGHTS = {
    "mnist-mlp": 244_840,
    "mnist-hog-mlp": 127_240,
    "mnist-cnn": 56_420,
    "mnist-mlp-512": 932_362,
    "fashion-cnn": 56_420,
    "mnist-deep-mlp": 28_618,  # depth 5: 784-32-32-32-32-10
    "mnist-bn-mlp-3": 479_306,
    "mnist-bn-mlp-4": 496_330,
    "mnist-bn-mlp-6": 505_162,
    "cifar10-cnn": 1_250_858,
}


@pytest.mark.parametrize(("name", "weights"), sorted(PUBLISHED_WEIGHTS.items()))
def test_weight_counts_match_the_published_networks(name, weights):
    assert count_weights(get_benchmark(name)) == weights


NETWORKS = [name for name in benchmark_names() if get_benchmark(name).trains_by_epoch]
BASELINES = sorted(set(benchmark_names()) - set(NETWORKS))


def test_the_classic_baselines_are_declared():
    assert {
        "digits-svc",
        "mnist-logreg",
        "mnist-hog-svc",
        "fashion-hog-svc",
        "mnist-forest",
    } <= set(BASELINES)


@pytest.mark.parametrize("name", NETWORKS)
def test_declared_weights_equal_the_built_network(name):
    # bench list counts by arithmetic; Keras, building the network, must agree.
    benchmark = get_benchmark(name)
    assert declared_weights(benchmark) == count_weights(benchmark)


def test_bench_list_imports_neither_keras_nor_scikit_learn(tmp_path):
    code = (
        "import sys\n"
        "from bench.cli import main\n"
        "assert main(['list']) == 0\n"
        "heavy = ('keras', 'sklearn', 'tensorflow', 'mlflow')\n"
        "print(sorted(name for name in heavy if name in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_every_benchmark_builds_a_classifier_pipeline():
    assert {"digits-mlp", "fashion-cnn", "mnist-cnn", "mnist-hog-mlp"} <= set(benchmark_names())
    for name in benchmark_names():
        benchmark = get_benchmark(name)
        pipeline = benchmark.build(pixel_max=255.0, seed=3)
        assert is_classifier(pipeline)
        params = pipeline.get_params()
        assert params["clf__random_state"] == 3
        assert 0 < benchmark.validation_split < 0.5
        if benchmark.trains_by_epoch:
            assert params["clf__epochs"] == benchmark.epochs
            assert params["clf__validation_split"] == benchmark.validation_split
        else:  # a plain scikit-learn classifier: the harness carves its validation rows
            assert "clf__epochs" not in params and type(pipeline[-1]).__module__.startswith(
                "sklearn."
            )


def test_hog_benchmark_uses_392_features():
    import numpy as np

    pipeline = get_benchmark("mnist-hog-mlp").build(pixel_max=255.0, seed=0)
    features = pipeline[:-1].fit_transform(np.random.default_rng(0).integers(0, 255, (3, 28, 28)))
    assert features.shape == (3, 392)


def test_unknown_benchmark_lists_valid_names():
    with pytest.raises(UsageError) as error:
        get_benchmark("nope")
    assert str(error.value).endswith(f"valid: {', '.join(benchmark_names())}")


def test_a_name_is_registered_once():
    taken = get_benchmark(benchmark_names()[0])
    with pytest.raises(
        UsageError, match=f"'{taken.name}' is declared twice: in bench and in bench"
    ):
        register(Benchmark(taken.name, "digits", "again", mlp_pipeline))


def test_the_registry_never_imports_the_declarations():
    # timm's rule: the registry is a leaf; the package imports the declarations.
    import ast
    from pathlib import Path

    import bench.benchmarks.registry as registry

    tree = ast.parse(Path(registry.__file__).read_text())
    imported = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    imported |= {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert not [name for name in imported if name.startswith("bench.benchmarks")]

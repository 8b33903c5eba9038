"""The perf checks compare like with like."""

from bench.backend import import_keras
from bench.experiment import count_weights
from bench.perf import CHECK_NAMES, Figure, checks
from bench.perf.bare_cnn import build_seed_cnn
from bench.registry import get_benchmark


def test_bare_script_trains_the_mnist_cnn_network():
    keras = import_keras()
    bare = build_seed_cnn(keras, n_classes=10)
    assert bare.count_params() == count_weights(get_benchmark("mnist-cnn"))


def test_every_named_check_exists():
    assert list(checks()) == list(CHECK_NAMES)


def test_figure_passes_on_the_right_side_of_its_target():
    speed = Figure("x", "speed-up", 20.0, 20.0, "x", higher_is_better=True)
    memory = Figure("x", "memory", 2.1, 2.0, "x", higher_is_better=False)
    assert speed.passed and not memory.passed
    assert speed.target_text == ">= 20x" and memory.target_text == "<= 2x"

"""The perf checks compare like with like."""

import pytest

from bench.benchmarks import get_benchmark
from bench.benchmarks.configure import count_weights
from bench.errors import BenchError
from bench.perf import CHECK_NAMES, CommandFailed, Figure, checks
from bench.perf.bare_cnn import build_seed_cnn
from bench.perf.memory import BASELINE_TRIAL, GROWTH_TARGET_MB, rss_mb, run_trials
from bench.runtime.backend import import_keras


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


MEMORY_TRIALS = 9  # four after the baseline trial: enough for the session and graph counts


@pytest.fixture(scope="module")
def study_memory():
    """RSS and leak probes of a real digits-mlp study run in this process."""
    return run_trials(MEMORY_TRIALS, max_epochs=2)


@pytest.mark.slow
def test_study_trials_keep_rss_growth_under_the_bound(study_memory):
    samples = study_memory.rss_mb
    assert len(samples) == MEMORY_TRIALS
    # Real readings of a process that has Keras and TensorFlow loaded, not zeros.
    assert min(samples) > 200
    growth = study_memory.growth_mb()
    assert growth == samples[-1] - samples[BASELINE_TRIAL - 1]
    assert growth <= GROWTH_TARGET_MB, samples


@pytest.mark.slow
def test_keras_session_is_cleared_between_study_trials(study_memory):
    # The probe's counter lives in the Keras session: without a clear_session()
    # between trials it would read 1, 2, 3, ...
    assert study_memory.session_uids == [1] * MEMORY_TRIALS


@pytest.mark.slow
def test_study_trials_do_not_leave_traced_graphs_alive(study_memory):
    # A trial whose traced training step outlives it keeps ~10 MB; RSS over a few
    # trials is too noisy to show that, the count of live graphs is not.
    graphs = study_memory.traced_graphs
    assert graphs[-1] <= graphs[BASELINE_TRIAL - 1], graphs


def test_rss_reading_follows_an_allocation():
    before = rss_mb()
    block = bytearray(64 * 2**20)  # zero-filled on creation, so resident
    assert rss_mb() - before > 50
    del block


def test_a_failed_command_is_one_line_the_cli_prints_without_a_traceback():
    error = CommandFailed("bench study x", "lines before\nbench: error: MNIST files not found\n")
    assert isinstance(error, BenchError)  # the CLI prints these as one line, exit 1
    assert str(error) == "bench study x failed: MNIST files not found"


@pytest.mark.slow
def test_mnist_fast_is_timed_against_the_bare_script_in_the_same_check(mnist_root, monkeypatch):
    from bench.perf import mnist_fast

    monkeypatch.setenv("BENCH_DATA_DIR", str(mnist_root))
    accuracy, ratio = mnist_fast.measure(quick=True)  # one epoch of each: the code path
    assert 0.8 < accuracy.value <= 1.0 and accuracy.higher_is_better
    assert ratio.name == "slowest training / bare seed-CNN script" and ratio.unit == "x"
    assert 0 < ratio.value < 10 and not ratio.higher_is_better
    assert "bare seed-CNN script, 1 epochs" in ratio.detail

"""The same ``--seed`` twice on the CPU gives the same run, to the last bit.

Each run is its own ``python -m bench run`` process with its own store, as two users
(or a user and CI) would run it; the runs are read back from MLflow, so what is
compared is what was logged.
"""

import os
import subprocess
import sys
import textwrap

import pytest
from mlflow.tracking import MlflowClient

EPOCHS = 3
CURVES = ("loss", "accuracy", "val_loss", "val_accuracy")


def _start_run(seed: int, cwd) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("MLFLOW_TRACKING_URI", None)
    command = ["run", "digits-mlp", "--epochs", str(EPOCHS), "--seed", str(seed)]
    return subprocess.Popen(
        [sys.executable, "-m", "bench", *command],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _logged_run(process: subprocess.Popen, cwd) -> dict:
    """The test metrics and per-epoch curves the run logged, read back from MLflow."""
    stdout, stderr = process.communicate(timeout=300)
    assert process.returncode == 0, stderr
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("digits-mlp")
    (run,) = client.search_runs([experiment.experiment_id])
    run_id = run.info.run_id
    assert run_id in stdout
    test = {key: value for key, value in run.data.metrics.items() if key.startswith("test_")}
    curves = {
        key: [(m.step, m.value) for m in client.get_metric_history(run_id, key)] for key in CURVES
    }
    return {"seed": run.data.params["seed"], "test": test, "curves": curves}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Seed 5 twice and seed 6 once, started together in separate folders."""
    seeds = {"first": 5, "again": 5, "other": 6}
    folders = {name: tmp_path_factory.mktemp(name) for name in seeds}
    # Side by side rather than one after the other: a shorter test, and the two seed-5
    # runs then also compete for the cores differently, which must not matter either.
    processes = {name: _start_run(seed, folders[name]) for name, seed in seeds.items()}
    try:
        return {name: _logged_run(processes[name], folders[name]) for name in seeds}
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.communicate()


@pytest.mark.slow
def test_same_seed_twice_gives_identical_test_metrics_and_curves(runs):
    first, again = runs["first"], runs["again"]
    assert first["seed"] == again["seed"] == "5"
    # Every test_* metric the report logs: accuracy, loss, macro F1, per-class F1.
    assert {"test_accuracy", "test_loss", "test_macro_f1"} <= set(first["test"])
    assert len(first["test"]) > 3
    assert first["test"] == again["test"]
    assert [step for step, _ in first["curves"]["val_accuracy"]] == list(range(1, EPOCHS + 1))
    assert first["curves"] == again["curves"]


@pytest.mark.slow
def test_another_seed_gives_another_result(runs):
    first, other = runs["first"], runs["other"]
    assert other["seed"] == "6"
    assert set(other["test"]) == set(first["test"])
    # Different initial weights, shuffling and validation split: the loss, a float
    # from every weight, cannot come out equal to the last bit by chance.
    assert other["test"]["test_loss"] != first["test"]["test_loss"]
    assert other["curves"]["loss"] != first["curves"]["loss"]


FIT_AND_REPORT = textwrap.dedent(
    """
    from bench.runtime.backend import import_keras

    import_keras()
    # TensorFlow exports a setter only; its own getter lives here (since 2.8).
    from tensorflow.python.framework.config import is_op_determinism_enabled

    from bench.data import load_dataset
    from bench.benchmarks import get_benchmark
    from bench.training import fit_pipeline

    print("before", is_op_determinism_enabled())
    dataset = load_dataset("digits")
    pipeline = get_benchmark("digits-mlp").build(pixel_max=dataset.pixel_max, seed=5, epochs=1)
    fit_pipeline(pipeline, dataset)
    print("after", is_op_determinism_enabled())
    """
)


@pytest.mark.slow
@pytest.mark.skipif(
    os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
    reason="op determinism is TensorFlow's switch",
)
def test_a_seeded_fit_switches_tensorflow_op_determinism_on(tmp_path):
    # In a fresh process: in this one another test may already have switched it on.
    done = subprocess.run(
        [sys.executable, "-c", FIT_AND_REPORT],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.split()
    assert lines[lines.index("before") + 1] == "False"
    assert lines[lines.index("after") + 1] == "True"

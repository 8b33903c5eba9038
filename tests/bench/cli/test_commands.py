"""``python -m bench`` as a user runs it: real processes, real MLflow store."""

import json
import re
import subprocess
import sys
from pathlib import Path

import mlflow
import mlflow.sklearn
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from bench.data import load_digits

NOISE = ("oneDNN", "absl", "cuda", "I0000", "E0000", "Traceback", "WARNING")


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, bench_command):
    """One real `bench run digits-mlp` whose store the tests below read back."""
    cwd = tmp_path_factory.mktemp("run")
    done = bench_command(
        "run", "digits-mlp", "--epochs", "4", "--seed", "7", "--set", "dropout=0.2", cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"run id\s+([0-9a-f]{32})", done.stdout).group(1)
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    return done, client, client.get_run(run_id)


@pytest.mark.slow
def test_run_prints_a_short_summary_without_library_noise(digits_run):
    done, _, _ = digits_run
    for label in ("test accuracy", "test macro F1", "run id", "python -m bench ui"):
        assert label in done.stdout
    assert not [word for word in NOISE if word in done.stderr], done.stderr
    assert done.stderr.count("epoch ") == 4


@pytest.mark.slow
def test_run_summary_leads_past_mlflow_s_genai_landing_page(digits_run):
    done, client, run = digits_run
    experiment, run_id = run.info.experiment_id, run.info.run_id
    # No UI runs: the addresses are on the port of the `bench ui --port` it suggests.
    port = re.search(r"python -m bench ui --port (\d+)", done.stdout).group(1)
    assert f"http://127.0.0.1:{port}/#/experiments/{experiment}/runs/{run_id}" in done.stdout
    runs_view = re.search(r"runs view\s+(\S+)", done.stdout).group(1)
    assert runs_view.startswith(
        f"http://127.0.0.1:{port}/#/experiments/{experiment}/runs?workflowType=machine_learning"
    )
    # The view it opens shows the scores (bench.tracking.views); the browser test looks.
    key = re.search(r"viewStateShareKey=(\w+)", runs_view).group(1)
    tags = client.get_experiment(experiment).tags
    state = json.loads(tags[f"mlflow.sharedViewState.{key}"])
    assert {"metrics.`val_accuracy`", "metrics.`test_accuracy`"} <= set(state["selectedColumns"])


@pytest.mark.slow
def test_run_summary_ends_with_code_that_loads_the_model_from_any_folder(digits_run, tmp_path):
    done, _, run = digits_run
    last = done.stdout.strip().splitlines()[-1]
    assert last.startswith("load the model")
    code = last.removeprefix("load the model").strip()
    assert "sqlite:////" in code  # the store's absolute path
    check = code + "; import numpy; print(model.predict(numpy.zeros((2, 8, 8))).shape)"
    loaded = subprocess.run(
        [sys.executable, "-c", check], cwd=tmp_path, capture_output=True, text=True
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip().splitlines()[-1] == "(2,)"
    assert list(tmp_path.iterdir()) == []  # no stray mlflow.db where it ran


@pytest.mark.slow
def test_run_records_its_data_as_mlflow_datasets(digits_run):
    _, _, run = digits_run
    inputs = run.inputs.dataset_inputs
    contexts = {
        next(tag.value for tag in item.tags if tag.key == "mlflow.data.context"): item.dataset
        for item in inputs
    }
    assert sorted(contexts) == ["test", "training", "validation"]
    assert {dataset.name for dataset in contexts.values()} == {"digits"}
    rows = {context: json.loads(d.profile)["num_rows"] for context, d in contexts.items()}
    assert rows["training"] + rows["validation"] + rows["test"] == 1797
    assert len({dataset.digest for dataset in contexts.values()}) == 3
    # The UI's Dataset column shows these digests; each begins as the parameter does.
    assert {d.digest[:8] for d in contexts.values()} == {run.data.params["dataset_digest"][:8]}


@pytest.mark.slow
def test_run_logs_params_tags_and_per_epoch_metrics(digits_run):
    _, client, run = digits_run
    assert run.info.status == "FINISHED"
    params, tags = run.data.params, run.data.tags
    assert params["seed"] == "7"
    assert params["clf__dropout"] == "0.2"
    assert params["clf__hidden_layer_sizes"] == "(128,)"
    assert params["clf__epochs"] == "4"
    assert params["dataset"] == "digits"
    assert params["dataset_digest"] == load_digits().digest
    assert run.info.run_name == "digits-mlp epochs=4 dropout=0.2 seed=7"
    assert int(params["n_train"]) + int(params["n_test"]) == 1797
    assert tags["benchmark"] == "digits-mlp"
    assert tags["keras_backend"] == "tensorflow"
    assert "version.scikit-learn" in tags
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        steps = [m.step for m in client.get_metric_history(run.info.run_id, key)]
        assert steps == [1, 2, 3, 4], key


@pytest.mark.slow
def test_run_parameters_are_the_user_s_and_params_json_holds_every_one(digits_run):
    _, client, run = digits_run
    params = run.data.params
    plumbing = {"clf__build_fn", "clf__model", "clf__verbose", "clf__metrics", "clf__warm_start"}
    assert plumbing.isdisjoint(params)
    assert {"clf__hidden_layer_sizes", "clf__batch_size", "clf__optimizer"} <= set(params)
    every = json.loads(Path(client.download_artifacts(run.info.run_id, "params.json")).read_text())
    assert plumbing <= set(every)
    assert every["clf__dropout"] == params["clf__dropout"] == "0.2"


@pytest.mark.slow
def test_run_logs_test_scores_and_artifacts(digits_run):
    done, client, run = digits_run
    metrics = run.data.metrics
    printed = float(re.search(r"test accuracy\s+([0-9.]+)", done.stdout).group(1))
    assert metrics["test_accuracy"] == pytest.approx(printed, abs=1e-4)
    assert metrics["test_accuracy"] > 0.8
    assert {"test_loss", "test_macro_f1", "fit_seconds", "test_f1_0", "test_f1_9"} <= set(metrics)
    assert metrics["n_weights"] == 64 * 128 + 128 + 128 * 10 + 10
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert {
        "confusion_matrix.png",
        "confusion_matrix.csv",
        "classification_report.txt",
        "most_confused_pairs.csv",
        "learning_curves.png",
        "model_summary.txt",
    } <= names
    summary = client.download_artifacts(run.info.run_id, "model_summary.txt")
    assert "Total weights: 9610" in Path(summary).read_text()


@pytest.mark.slow
def test_logged_pipeline_loads_and_reproduces_the_test_accuracy(digits_run):
    _, client, run = digits_run
    mlflow.set_tracking_uri(client.tracking_uri)
    model = mlflow.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    digits = load_digits()
    accuracy = np.mean(model.predict(digits.X_test) == digits.y_test)
    assert accuracy == pytest.approx(run.data.metrics["test_accuracy"], abs=1e-6)


# One process per class of mistake, as a user meets it; the rest of the mistakes are
# checked in-process (test_usage.py).


def test_unknown_benchmark_is_one_line_listing_the_valid_ones(tmp_path, bench_command):
    done = bench_command("run", "mnist-cnnn", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown benchmark 'mnist-cnnn'" in done.stderr
    assert "mnist-cnn" in done.stderr and "digits-mlp" in done.stderr
    assert not (tmp_path / "mlruns").exists()


def test_unknown_parameter_is_one_line_listing_the_valid_ones(tmp_path, bench_command):
    done = bench_command("run", "digits-mlp", "--set", "dropuot=0.2", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "unknown parameter 'dropuot'" in done.stderr and "dropout" in done.stderr


def test_bad_epochs_is_a_usage_error(tmp_path, bench_command):
    done = bench_command("run", "digits-mlp", "--epochs", "-3", cwd=tmp_path)
    assert done.returncode == 2
    assert "must be at least 1" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_list_shows_every_benchmark_with_its_weight_count(tmp_path, bench_command):
    done = bench_command("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    for name, weights in [
        ("mnist-mlp ", "244,840"),
        ("mnist-cnn", "56,420"),
        ("digits-mlp", "9,610"),
    ]:
        line = next(line for line in done.stdout.splitlines() if line.startswith(name))
        assert weights in line


def test_perf_load_quick_prints_its_figures(tmp_path, bench_command, mnist_root):
    # The check itself, not its speed: it must run end to end and say pass or miss.
    done = bench_command("perf", "load", "--quick", cwd=tmp_path, BENCH_DATA_DIR=str(mnist_root))
    assert done.returncode in (0, 1), done.stderr
    lines = [line for line in done.stdout.splitlines() if line.startswith("load ")]
    assert len(lines) == 3
    assert all(" ok " in line or " MISS " in line for line in lines)
    assert "cached digest equals uncached" in done.stdout


def test_value_the_estimator_rejects_is_one_line_before_any_run(tmp_path, bench_command):
    setting = "activation=foo"
    done = bench_command("run", "digits-mlp", "--set", setting, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert setting.split("=")[1] in done.stderr
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_repeats_print_each_seed_and_the_spread(tmp_path, bench_command):
    done = bench_command("run", "digits-svc", "--repeats", "3", "--seed", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert not [word for word in NOISE if word in done.stderr], done.stderr
    for k, seed in enumerate((1, 2, 3), start=1):
        assert f"-- seed {seed} ({k} of 3)" in done.stderr
    rows = [line.split() for line in done.stdout.splitlines() if line[:1].isdigit()]
    accuracies = [float(row[2]) for row in rows]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    spread = re.search(r"test accuracy\s+([0-9.]+) ± ([0-9.]+) \(mean ± std\)", done.stdout)
    assert float(spread.group(1)) == pytest.approx(np.mean(accuracies), abs=1e-4)
    assert float(spread.group(2)) == pytest.approx(np.std(accuracies, ddof=1), abs=1e-4)
    assert "95% interval" in done.stdout and "Student t, 2 d.f." in done.stdout
    assert "test loss" not in done.stdout.split("benchmark")[-1]  # an SVC has no loss

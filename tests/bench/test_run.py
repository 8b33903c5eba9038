"""``bench run``: a scikit-learn baseline is tracked exactly like a network, and
``--repeats`` puts the spread of the seeds' scores on a parent run."""

import mlflow.sklearn
import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from scipy import stats

from bench.errors import UsageError
from bench.use_cases.run import run_benchmark, run_repeats


def artifact_paths(client: MlflowClient, run_id: str) -> set[str]:
    return {artifact.path for artifact in client.list_artifacts(run_id)}


def digests(client: MlflowClient, run_id: str) -> dict[str, str]:
    inputs = client.get_run(run_id).inputs.dataset_inputs
    return {entry.tags[0].value: entry.dataset.digest for entry in inputs}


def children(client: MlflowClient, parent) -> list:
    found = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    return sorted(found, key=lambda run: int(run.data.params["seed"]))


@pytest.mark.slow
def test_a_baseline_run_is_tracked_like_a_network(mlflow_store):
    network = run_benchmark("digits-mlp", epochs=2, seed=4)
    baseline = run_benchmark("digits-svc", seed=4)
    client = MlflowClient(baseline.tracking_uri)
    # The same artifacts but the per-epoch curves, which a one-call fit has not.
    network_files = artifact_paths(client, network.run_id)
    assert artifact_paths(client, baseline.run_id) == network_files - {"learning_curves.png"}
    assert {"confusion_matrix.png", "classification_report.txt"} <= network_files
    metrics = client.get_run(baseline.run_id).data.metrics
    per_epoch = {"loss", "accuracy", "val_loss", "test_loss"}  # and an SVC has no loss
    assert set(metrics) == set(client.get_run(network.run_id).data.metrics) - per_epoch
    assert metrics["test_accuracy"] == baseline.outcome.test.accuracy > 0.9
    # Trained on the same images as the network with the same seed.
    assert digests(client, baseline.run_id) == digests(client, network.run_id)
    model = mlflow.sklearn.load_model(f"runs:/{baseline.run_id}/model")
    predicted = model.predict(baseline.dataset.X_test)
    assert np.array_equal(predicted, baseline.outcome.test.y_pred)


def test_epochs_are_refused_for_a_baseline_before_any_run(mlflow_store):
    with pytest.raises(UsageError, match="digits-svc is a scikit-learn baseline .*--epochs"):
        run_benchmark("digits-svc", epochs=3)
    assert not mlflow_store.exists()


@pytest.mark.slow
def test_the_parent_holds_the_spread_of_its_children(mlflow_store):
    report = run_repeats("digits-svc", repeats=3, seed=5)
    client = MlflowClient(report.tracking_uri)
    parent = client.get_run(report.parent_run_id)
    seeds = children(client, parent)
    assert [run.data.params["seed"] for run in seeds] == ["5", "6", "7"]
    assert parent.data.tags["repeats"] == "3"
    for name in ("test_accuracy", "test_macro_f1"):
        values = [run.data.metrics[name] for run in seeds]
        mean, sem = np.mean(values), stats.sem(values)
        low, high = stats.t.interval(0.95, len(values) - 1, loc=mean, scale=sem)
        logged = parent.data.metrics
        assert logged[f"{name}_mean"] == pytest.approx(mean)
        assert logged[f"{name}_std"] == pytest.approx(np.std(values, ddof=1))
        assert (logged[f"{name}_ci95_low"], logged[f"{name}_ci95_high"]) == pytest.approx(
            (low, high)
        )
    assert "test_loss_mean" not in parent.data.metrics  # an SVC has no loss
    assert "repeats.csv" in artifact_paths(client, parent.info.run_id)


@pytest.mark.slow
def test_repeats_of_a_network_draw_the_seeds_curves(mlflow_store):
    report = run_repeats("digits-mlp", repeats=2, epochs=2)
    client = MlflowClient(report.tracking_uri)
    parent = client.get_run(report.parent_run_id)
    assert {"learning_curves.png", "repeats.csv"} <= artifact_paths(client, report.parent_run_id)
    losses = [run.data.metrics["test_loss"] for run in children(client, parent)]
    assert parent.data.metrics["test_loss_mean"] == pytest.approx(np.mean(losses))


def test_one_repeat_is_no_spread(mlflow_store):
    with pytest.raises(UsageError, match="at least 2"):
        run_repeats("digits-svc", repeats=1)

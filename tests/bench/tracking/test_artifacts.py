"""What a finished run gets besides its scores: per-layer gradients when measured, and
for a CNN its filters and feature maps; the model knows what it was trained on."""

import pytest
import yaml
from mlflow.tracking import MlflowClient

from bench.tracking.artifacts import load_run_model
from bench.use_cases.run import run_benchmark


def artifacts(client: MlflowClient, run_id: str) -> set[str]:
    return {artifact.path for artifact in client.list_artifacts(run_id)}


@pytest.mark.slow
def test_a_cnn_run_shows_its_filters_and_feature_maps(mlflow_store):
    report = run_benchmark("digits-cnn", epochs=1)
    client = MlflowClient(report.tracking_uri)
    assert {"filters.png", "feature_maps.png"} <= artifacts(client, report.run_id)
    assert "gradients.png" not in artifacts(client, report.run_id)


@pytest.mark.slow
def test_log_gradients_gives_metrics_per_layer_and_their_picture(mlflow_store):
    report = run_benchmark("digits-mlp", epochs=2, assignments=["log_gradients=True"])
    client = MlflowClient(report.tracking_uri)
    assert "gradients.png" in artifacts(client, report.run_id)
    assert "filters.png" not in artifacts(client, report.run_id)
    history = client.get_metric_history(report.run_id, "grad_dense_1_kernel")
    assert [metric.step for metric in history] == [1, 2]
    assert all(metric.value > 0 for metric in history)


@pytest.mark.slow
def test_the_logged_model_knows_what_it_was_trained_on(mlflow_store):
    report = run_benchmark("digits-mlp", epochs=1)
    pipeline, facts = load_run_model(report.run_id)
    assert facts.dataset == "digits" and facts.image_shape == (8, 8)
    assert facts.class_names == tuple(str(digit) for digit in range(10))
    assert facts.pixel_max == 16.0
    assert pipeline.predict(report.dataset.X_test[:3]).shape == (3,)
    model_dir = MlflowClient(report.tracking_uri).download_artifacts(report.run_id, "model")
    with open(f"{model_dir}/MLmodel") as mlmodel:
        metadata = yaml.safe_load(mlmodel)["metadata"]  # stored with the model itself
    assert metadata["class_names"] == list(facts.class_names)

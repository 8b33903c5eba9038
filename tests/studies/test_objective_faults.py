"""Trials that cannot succeed (a loss that blows up, a network that cannot be built)
fail with their reason recorded, and the study goes on. Real Optuna and MLflow."""

import optuna
import pytest
from mlflow.tracking import MlflowClient

from studies.search import StudySettings, run_study
from studies.storage import open_storage

TINY = StudySettings(trials=2, max_epochs=3, sampler="random", pruner="none", seed=1)
pytestmark = pytest.mark.slow


def failed_child(report):
    client = MlflowClient(tracking_uri=report.tracking_uri)
    parent = client.get_run(report.parent_run_id)
    children = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{report.parent_run_id}'"
    )
    (failed,) = [run for run in children if run.info.status == "FAILED"]
    text = client.download_artifacts(failed.info.run_id, "error.txt")
    with open(text) as file:
        return client, failed, file.read()


def enqueue(name: str, params: dict) -> None:
    study = optuna.create_study(study_name=name, storage=open_storage(None))
    study.enqueue_trial(params, skip_if_exists=False)


@pytest.mark.filterwarnings("ignore:Fixed parameter")
def test_exploding_loss_fails_the_trial_at_once_and_the_study_goes_on(mlflow_store):
    enqueue(
        "digits-mlp",
        {
            "n_layers": 1,
            "units_1": 128,
            "dropout": 0.0,
            "activation": "relu",
            "batch_norm": False,
            "optimizer": "sgd",
            # Far outside the space: the weights overflow within the first batches.
            "learning_rate": 1e20,
            "momentum": 0.9,
            "nesterov": False,
            "batch_size": 32,
            "epochs": 3,
        },
    )
    report = run_study("digits-mlp", TINY)
    states = [trial.state.name for trial in report.study.trials]
    assert states == ["FAIL", "COMPLETE"]
    client, failed, error = failed_child(report)
    assert "training loss became" in error and "batch" in error
    # Stopped inside the first epoch: no epoch's metrics were logged.
    assert client.get_metric_history(failed.info.run_id, "loss") == []


@pytest.mark.filterwarnings("ignore:Fixed parameter")
def test_unbuildable_topology_fails_with_the_build_message(mlflow_store):
    # Four 2x2 poolings on 8x8 images: 8 -> 4 -> 2 -> 1 -> nothing.
    params = {"n_blocks": 4, "dense_units": 32, "dropout": 0.0}
    for block in range(1, 5):
        params |= {f"filters_{block}": 8, f"kernel_{block}": 3}
    enqueue("digits-cnn", params)
    report = run_study("digits-cnn", TINY)
    assert [trial.state.name for trial in report.study.trials] == ["FAIL", "COMPLETE"]
    _, failed, error = failed_child(report)
    assert "4 conv blocks" in error and "shrink 8x8 images to nothing" in error
    assert "Traceback" not in error
    assert failed.data.tags["error"].splitlines()[0] in error

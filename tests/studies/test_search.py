"""`bench study` on digits with tiny budgets, read back from the real Optuna and
MLflow stores."""

import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench.benchmarks import get_benchmark
from bench.data import load_digits
from bench.tracking.runs import tracked_run
from bench.tracking.store import open_client
from studies.objective import TrialObjective, search_split
from studies.search import StudySettings, run_study
from studies.storage import open_storage
from studies.trials import count_finished

TINY = dict(max_epochs=2, train_size=None, sampler="random", seed=1)


def tiny(**settings) -> StudySettings:
    return StudySettings(**{**TINY, **settings})


pytestmark = pytest.mark.slow


def child_runs(client: MlflowClient, parent_id: str):
    parent = client.get_run(parent_id)
    return client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )


def artifact_paths(client: MlflowClient, run_id: str, folder: str) -> set[str]:
    """Paths of the non-empty PNG artifacts under ``folder``."""
    paths = set()
    for artifact in client.list_artifacts(run_id, folder):
        local = client.download_artifacts(run_id, artifact.path)
        with open(local, "rb") as file:
            if file.read(8) == b"\x89PNG\r\n\x1a\n":
                paths.add(artifact.path)
    return paths


def all_runs(client: MlflowClient, experiment: str):
    return client.search_runs([client.get_experiment_by_name(experiment).experiment_id])


def test_study_logs_parent_and_children_and_resumes(mlflow_store):
    command = "python -m bench study digits-mlp --trials 2"
    first = run_study("digits-mlp", tiny(trials=2, pruner="none"), command=command)
    client = MlflowClient(tracking_uri=first.tracking_uri)
    children = child_runs(client, first.parent_run_id)
    assert len(children) == 2
    assert sorted(child.info.run_name for child in children) == ["trial 000", "trial 001"]
    for child in children:
        assert child.info.status == "FINISHED"
        assert child.data.tags["trial_state"] == "COMPLETE"
        epochs = int(child.data.params["clf__epochs"])
        history = client.get_metric_history(child.info.run_id, "val_accuracy")
        assert [m.step for m in history] == list(range(1, epochs + 1))
        names = {a.path for a in client.list_artifacts(child.info.run_id)}
        assert {"confusion_matrix.png", "model_summary.txt", "learning_curves.png"} <= names
    parent = client.get_run(first.parent_run_id)
    assert parent.data.tags["sampler"] == "random"
    assert parent.data.tags["objective"] == "validation accuracy (maximize)"
    assert parent.data.params["objective"] == "validation accuracy (maximize)"
    assert first.experiment_id == parent.info.experiment_id
    for run in (parent, *children):  # the same provenance as `bench run`
        tags = run.data.tags
        assert tags["command"] == command and tags["keras_backend"]
        assert "version.optuna" in tags and "version.keras" in tags
        assert tags["mlflow.source.name"] and tags["mlflow.source.type"] == "LOCAL"
        assert "git_commit" in tags or "mlflow.source.git.commit" not in tags
    for child in children:
        contexts = sorted(tag.value for d in child.inputs.dataset_inputs for tag in d.tags)
        assert contexts == ["training", "validation"]
    assert 0.5 < parent.data.metrics["test_accuracy"] <= 1.0
    assert "trials.csv" in {a.path for a in client.list_artifacts(first.parent_run_id)}
    plots = artifact_paths(client, first.parent_run_id, "plots")
    assert {"plots/optimization_history.png", "plots/parallel_coordinates.png"} <= plots
    assert "plots/search_vs_enqueued.png" in plots
    assert parent.data.tags["sampled_beat_enqueued"]  # "no", or after how many CPU-minutes
    study = optuna.load_study(study_name="digits-mlp", storage=open_storage(None))
    ran = [trial for trial in study.trials if trial.state.is_finished()]
    assert len(ran) == 2 and all(trial.user_attrs["cpu_seconds"] > 0 for trial in ran)
    # Trial 0 is the baseline, trial 1 a known-good configuration: both enqueued.
    assert first.comparison.best_enqueued == max(trial.value for trial in ran)
    assert first.comparison.minutes_to_beat_enqueued is None  # nothing was sampled
    assert first.refit.rerun_command.startswith("python -m bench run digits-mlp --set ")

    second = run_study("digits-mlp", tiny(trials=3, pruner="none"))
    study = optuna.load_study(study_name="digits-mlp", storage=open_storage(None))
    assert [t.number for t in study.trials] == [0, 1, 2]
    assert count_finished(study) == 3
    assert len(child_runs(client, second.parent_run_id)) == 1
    assert all(run.info.status != "RUNNING" for run in all_runs(client, second.experiment))


def test_pruned_trial_stops_at_once_and_is_recorded(mlflow_store):
    benchmark = get_benchmark("digits-mlp")
    data = search_split(load_digits(), train_size=None, val_fraction=0.1, seed=0)
    # Validation accuracy is never above 1.1, so every trial is pruned at epoch 1.
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    client = open_client()
    with tracked_run("prune", "parent", {}, client=client) as parent:
        objective = TrialObjective(
            benchmark=benchmark,
            data=data,
            seed=0,
            max_epochs=3,
            objectives=("accuracy",),
            experiment="prune",
            parent_run_id=parent.run_id,
            client=client,
        )
        study.optimize(objective, n_trials=1)
    assert study.trials[0].state == optuna.trial.TrialState.PRUNED
    (child,) = child_runs(client, parent.run_id)
    assert child.data.tags["trial_state"] == "PRUNED"
    assert child.info.status == "FINISHED"
    assert len(client.get_metric_history(child.info.run_id, "val_accuracy")) == 1


def test_a_failing_trial_is_recorded_and_the_study_goes_on(mlflow_store):
    # A layer of 0 units cannot be built: the trial must fail, and the study go on.
    study = optuna.create_study(
        study_name="digits-mlp",
        storage=open_storage(None),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.enqueue_trial({"n_layers": 1, "units_1": 0}, skip_if_exists=False)
    report = run_study("digits-mlp", tiny(trials=2, pruner="none"))
    states = [t.state for t in report.study.trials]
    assert states[0] == optuna.trial.TrialState.FAIL
    assert states[1] == optuna.trial.TrialState.COMPLETE
    client = MlflowClient(tracking_uri=report.tracking_uri)
    failed = [r for r in child_runs(client, report.parent_run_id) if r.info.status == "FAILED"]
    assert len(failed) == 1
    assert "error.txt" in {a.path for a in client.list_artifacts(failed[0].info.run_id)}
    assert "invalid value" in failed[0].data.tags["error"]


def test_multi_objective_finds_a_pareto_front(mlflow_store):
    report = run_study(
        "digits-mlp",
        tiny(trials=3, pruner="none", objectives=("accuracy", "weights"), sampler="nsga2"),
    )
    assert [d.name for d in report.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert report.study.study_name == "digits-mlp-pareto"
    client = MlflowClient(tracking_uri=report.tracking_uri)
    for child in child_runs(client, report.parent_run_id):
        trial = report.study.trials[int(child.data.tags["trial_number"])]
        assert trial.values[1] == child.data.metrics["n_weights"]
    assert report.study.best_trials
    plots = artifact_paths(client, report.parent_run_id, "plots")
    assert {"plots/optimization_history.png", "plots/pareto_front.png"} <= plots

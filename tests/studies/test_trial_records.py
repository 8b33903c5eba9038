"""What one `bench study digits-mlp` at its defaults leaves in MLflow, as a user finds it:
every trial's pictures, pruned ones included and named so; trial 0 trained as `bench
run` trains; the refit's curve in the report, and no importances from too few trials.

One small study (400 training images, Hyperband, the default epoch budget) is shared by
the tests of this module."""

import re
from dataclasses import dataclass
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench.benchmarks import get_benchmark
from bench.use_cases.report import Handout, experiment_report
from studies.plots import MIN_TRIALS_FOR_IMPORTANCES
from studies.search import StudyReport, StudySettings, run_study

pytestmark = pytest.mark.slow

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PRUNED = optuna.trial.TrialState.PRUNED


@dataclass
class Studied:
    report: StudyReport
    client: MlflowClient
    handout: Handout


@pytest.fixture(scope="module")
def studied(tmp_path_factory) -> Studied:
    folder: Path = tmp_path_factory.mktemp("study")
    uri = f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}"
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)  # the Optuna journal: ./mlruns/optuna.journal
        # MLflow keeps a store per URI, open: a relative one would follow this module
        # to the next folder a test works in.
        patch.setenv("MLFLOW_TRACKING_URI", uri)
        # No max_epochs and no pruner: the defaults `bench study digits-mlp` runs with.
        # Three given trials (never pruned) and three sampled ones for Hyperband to judge.
        settings = StudySettings(trials=6, sampler="random", seed=0, train_size=400)
        report = run_study("digits-mlp", settings)
        handout = experiment_report(report.experiment)
    client = MlflowClient(uri)
    return Studied(report, client, handout)


def png(client: MlflowClient, run_id: str, path: str) -> bytes:
    with open(client.download_artifacts(run_id, path), "rb") as file:
        return file.read()


def test_every_trial_logs_its_pictures_and_a_pruned_one_says_so(studied):
    trials = studied.report.study.trials
    pruned = [trial for trial in trials if trial.state == PRUNED]
    assert pruned, "no trial was pruned: the test would prove nothing about pruned trials"
    for trial in trials:
        run = studied.client.get_run(trial.user_attrs["mlflow_run_id"])
        for picture in ("confusion_matrix.png", "learning_curves.png"):
            assert png(studied.client, run.info.run_id, picture).startswith(PNG_SIGNATURE)
        assert run.info.status == "FINISHED"  # KILLED would say: interrupted
        assert run.data.tags["trial_state"] == trial.state.name
        name = f"trial {trial.number:03d}"
        assert run.info.run_name == (f"{name} pruned" if trial.state == PRUNED else name)
    for trial in pruned:  # scored as it was when stopped, at the epoch it stopped
        run = studied.client.get_run(trial.user_attrs["mlflow_run_id"])
        steps = studied.client.get_metric_history(run.info.run_id, "val_accuracy")
        assert [m.step for m in steps] == list(range(1, max(trial.intermediate_values) + 1))
        assert 0.0 <= run.data.metrics["val_macro_f1"] <= 1.0


def test_trial_0_trains_the_benchmarks_own_epochs(studied):
    first = studied.report.study.trials[0]
    assert first.user_attrs["baseline"] is True
    epochs = get_benchmark("digits-mlp").epochs
    assert epochs == 20
    run = studied.client.get_run(first.user_attrs["mlflow_run_id"])
    assert run.data.params["clf__epochs"] == str(epochs)
    assert len(studied.client.get_metric_history(run.info.run_id, "val_accuracy")) == epochs


def test_the_report_shows_the_refits_curve_and_no_importances_from_few_trials(studied):
    parent = studied.report.parent_run_id
    refit = studied.report.refit.trial.user_attrs["pipeline_params"]["clf__epochs"]
    history = studied.client.get_metric_history(parent, "val_accuracy")
    assert [m.step for m in history] == list(range(1, refit + 1))
    html = studied.handout.html
    assert "No per-epoch curve" not in html
    caption = re.search(r"<figcaption>#1 digits-mlp[^<]*</figcaption>", html)
    assert caption, "the study's row has no learning curve in the report"
    complete = len(studied.report.study.get_trials(states=(optuna.trial.TrialState.COMPLETE,)))
    assert complete < MIN_TRIALS_FOR_IMPORTANCES
    assert f"Parameter importances left out: the study has {complete} complete trial" in html
    plots = {a.path for a in studied.client.list_artifacts(parent, "plots")}
    assert "plots/param_importances.png" not in plots
    assert "plots/param_importances.txt" in plots

"""Studies beyond one machine: `bench study` processes that share nothing but a
PostgreSQL database for Optuna and an MLflow tracking server, each in its own folder
(as on separate machines). Real servers, started by .ci/run (`.ci/servers start`);
the tests skip where there are none."""

import signal
import subprocess
import sys
import time
import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient

from studies.stale import replaced_trials
from studies.storage import open_storage
from studies.trials import count_finished

pytestmark = [pytest.mark.servers, pytest.mark.slow]
TINY = ["--sampler", "random", "--pruner", "none", "--max-epochs", "1", "--train-size", "300"]


def study_command(study: str, trials: int, storage: str, *extra: str) -> list[str]:
    command = [sys.executable, "-m", "bench", "study", "digits-mlp", "--trials", str(trials)]
    return [*command, "--study-name", study, "--storage", storage, *TINY, *extra]


def start(command, folder, env):
    return subprocess.Popen(
        command, cwd=folder, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


@pytest.fixture
def machines(tmp_path, child_environment, tracking_server):
    """``machines(n)``: n working folders that share nothing, and their environment."""

    def make(count: int):
        folders = [tmp_path / f"machine-{index}" for index in range(count)]
        for folder in folders:
            folder.mkdir()
        return folders, child_environment(MLFLOW_TRACKING_URI=tracking_server)

    return make


def trials_of(study: str, storage: str):
    loaded = optuna.load_study(study_name=study, storage=open_storage(storage))
    return loaded, loaded.get_trials(deepcopy=False)


def child_runs(tracking_server: str, study: str):
    client = MlflowClient(tracking_uri=tracking_server)
    experiment = client.get_experiment_by_name("digits-mlp study")
    runs = client.search_runs(
        [experiment.experiment_id], f"tags.study = '{study}'", max_results=1000
    )
    return client, runs


def assert_each_trial_has_one_run(trials, runs, client):
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    started = [trial for trial in trials if "mlflow_run_id" in trial.user_attrs]
    assert sorted(int(run.data.tags["trial_number"]) for run in children) == sorted(
        trial.number for trial in started
    )
    for trial in started:  # the run from its trial, and the trial from its run
        run = client.get_run(trial.user_attrs["mlflow_run_id"])
        assert int(run.data.tags["trial_number"]) == trial.number
    assert all(run.info.status != "RUNNING" for run in runs)


def test_three_machines_work_on_one_study(machines, postgres_url, tracking_server):
    study = f"three-{uuid.uuid4().hex[:8]}"
    folders, env = machines(3)
    processes = [start(study_command(study, 12, postgres_url), f, env) for f in folders]
    for process in processes:
        stdout, stderr = process.communicate(timeout=600)
        assert process.returncode == 0, stderr
        assert "View run" not in stdout + stderr  # MLflow's own line as each run ends
    loaded, trials = trials_of(study, postgres_url)
    counted = [trial for trial in trials if "surplus" not in trial.user_attrs]
    assert len(counted) == 12 and count_finished(loaded) == 12
    assert {trial.state.name for trial in counted} <= {"COMPLETE", "PRUNED"}
    assert len({trial.number for trial in trials}) == len(trials)
    client, runs = child_runs(tracking_server, study)
    assert_each_trial_has_one_run(trials, runs, client)
    parents = {
        run.data.tags["mlflow.parentRunId"] for run in runs if "mlflow.parentRunId" in run.data.tags
    }
    assert len(parents) == 3  # every machine trained trials
    # Artifacts travel over HTTP: the workers' folders hold none.
    child = next(run for run in runs if "mlflow.parentRunId" in run.data.tags)
    local = client.download_artifacts(child.info.run_id, "confusion_matrix.png", str(folders[0]))
    with open(local, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"
    assert not any((folder / "mlruns").exists() for folder in folders)


def test_a_machine_killed_mid_trial_is_retried_by_the_others(
    machines, postgres_url, tracking_server
):
    study = f"killed-{uuid.uuid4().hex[:8]}"
    folders, env = machines(2)
    env = {**env, "BENCH_HEARTBEAT_S": "1", "BENCH_GRACE_S": "4"}
    slow = study_command(study, 6, postgres_url)
    slow[slow.index("--max-epochs") + 1] = "30"  # long enough to be killed mid-trial
    # Two host names: the survivor cannot see the victim's process is gone, so Optuna's
    # heartbeat, not bench's same-host check, must find the stale trial.
    victim = start(slow, folders[0], {**env, "BENCH_HOST": "machine-a"})
    deadline = time.monotonic() + 180
    killed = None
    while killed is None:
        assert victim.poll() is None, victim.communicate()
        assert time.monotonic() < deadline, "the first trial never started"
        try:
            _, trials = trials_of(study, postgres_url)
        except KeyError:  # the study is not created yet
            trials = []
        running = [
            t for t in trials if t.state.name == "RUNNING" and "mlflow_run_id" in t.user_attrs
        ]
        killed = running[0] if running else None
        time.sleep(0.3)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    time.sleep(5)  # past the grace period: its heartbeat is stale
    survivor = start(
        study_command(study, 6, postgres_url), folders[1], {**env, "BENCH_HOST": "machine-b"}
    )
    _, stderr = survivor.communicate(timeout=600)
    assert survivor.returncode == 0, stderr
    loaded, trials = trials_of(study, postgres_url)
    assert trials[killed.number].state.name == "FAIL"
    assert replaced_trials(trials) == {killed.number}  # failed by the heartbeat: not counted
    retries = [t for t in trials if retried_trial_number(t) == killed.number]
    assert len(retries) == 1 and killed.params.items() <= retries[0].params.items()
    assert count_finished(loaded) == 6
    assert len({trial.number for trial in trials}) == len(trials)
    client, runs = child_runs(tracking_server, study)
    orphan = client.get_run(killed.user_attrs["mlflow_run_id"])
    assert orphan.info.status == "FAILED" and "stopped beating" in orphan.data.tags["error"]


def test_soak_thirty_trials_on_four_processes(machines, postgres_url, tracking_server):
    study = f"soak-{uuid.uuid4().hex[:8]}"
    folders, env = machines(4)
    processes = [start(study_command(study, 30, postgres_url), f, env) for f in folders]
    for process in processes:
        _, stderr = process.communicate(timeout=900)
        assert process.returncode == 0, stderr
    loaded, trials = trials_of(study, postgres_url)
    assert count_finished(loaded) == 30
    assert not [trial for trial in trials if trial.state.name == "RUNNING"]
    client, runs = child_runs(tracking_server, study)
    assert_each_trial_has_one_run(trials, runs, client)
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    last = max(parents, key=lambda run: run.info.end_time)
    table = client.download_artifacts(last.info.run_id, "trials.csv", str(folders[0]))
    with open(table) as rows:
        assert len(rows.read().strip().splitlines()) - 1 == len(trials)  # all 30, and any surplus


def retried_trial_number(trial):
    """The trial Optuna's heartbeat retry replays (its public, experimental reader)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RetryHeartbeatStaleTrialCallback.retried_trial_number(trial)

"""``bench run`` interrupted, terminated, killed, or pointed at a dead server: real
processes and signals; the MLflow store read back."""

import signal
import socket
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

RUN = [sys.executable, "-m", "bench", "run", "digits-mlp", "--epochs", "400"]


def client_for(cwd):
    return MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")


def runs_of(cwd):
    client = client_for(cwd)
    experiment = client.get_experiment_by_name("digits-mlp")
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


def start_run(cwd, env):
    return subprocess.Popen(
        RUN,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal, even when the suite runs as a background job.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def wait_for_epochs(process, cwd, epochs=3):
    """Until the run has printed ``epochs`` epoch lines; returns its run id."""
    for line in process.stderr:
        if line.startswith(f"epoch {epochs}/"):
            return runs_of(cwd)[0].info.run_id
    raise AssertionError(f"the run ended before epoch {epochs}: {process.communicate()}")


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signum", "code", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_signal_mid_run_closes_it_as_killed_with_its_epochs(
    tmp_path, signum, code, word, child_environment
):
    process = start_run(tmp_path, child_environment())
    run_id = wait_for_epochs(process, tmp_path)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=120)  # the suite's workers share the cores
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith(f"{word}: run {run_id} closed as KILLED after ")
    run = client_for(tmp_path).get_run(run_id)
    assert run.info.status == "KILLED"  # not FINISHED by an exit hook
    epochs = client_for(tmp_path).get_metric_history(run_id, "val_accuracy")
    assert len(epochs) >= 3 and f"after {len(epochs)} epoch(s)" in last


@pytest.mark.slow
def test_run_left_running_by_a_killed_process_is_closed_by_the_next_run(
    tmp_path, bench_command, child_environment
):
    process = start_run(tmp_path, child_environment())
    orphan = wait_for_epochs(process, tmp_path, epochs=1)
    process.kill()
    process.communicate()
    assert client_for(tmp_path).get_run(orphan).info.status == "RUNNING"
    done = bench_command("run", "digits-mlp", "--epochs", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    run = client_for(tmp_path).get_run(orphan)
    assert run.info.status == "FAILED"
    assert "ended without closing this run" in run.data.tags["error"]


def test_dead_tracking_server_is_one_line_before_any_training(tmp_path, bench_command):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    done = bench_command(*RUN[3:], cwd=tmp_path, timeout=120, MLFLOW_TRACKING_URI=uri)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"bench: error: MLflow tracking server {uri} is not reachable")
    assert "epoch" not in done.stderr + done.stdout
    assert time.monotonic() - started < 60  # not MLflow's minutes of retries


def test_diverging_run_fails_in_one_line_naming_the_setting(tmp_path, bench_command):
    done = bench_command(
        "run", "digits-mlp", "--epochs", "5",
        "--set", "optimizer=sgd", "--set", "optimizer__learning_rate=1e8",
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert lines[0].startswith("bench: error: training loss became nan in epoch 1, batch ")
    assert "optimizer__learning_rate, now 1e+08" in lines[0]
    (run,) = runs_of(tmp_path)
    assert run.info.status == "FAILED"
    assert run.data.tags["error"].startswith("TrainingDiverged: training loss became nan")
    assert run.data.metrics == {}  # no NaN scores logged as if they were results
    names = [artifact.path for artifact in client_for(tmp_path).list_artifacts(run.info.run_id)]
    assert sorted(names) == ["error.txt", "params.json"]  # no report, no model

"""``bench run`` interrupted, terminated, killed, or pointed at a dead server: real
processes and signals; the MLflow store read back."""

import os
import signal
import socket
import subprocess
import sys
import time

import keras
import pytest
from mlflow.tracking import MlflowClient

from bench.data import load_digits
from bench.experiment import configured_pipeline
from bench.registry import get_benchmark
from bench.runner import fit_and_score
from bench.tracking import open_client, tracked_run
from bench.workers import this_worker, worker_id, worker_is_gone

RUN = [sys.executable, "-m", "bench", "run", "digits-mlp", "--epochs", "400"]


def env(**extra):
    values = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    return {**values, "PYTHONUNBUFFERED": "1", **extra}


def client_for(cwd):
    return MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")


def runs_of(cwd):
    client = client_for(cwd)
    experiment = client.get_experiment_by_name("digits-mlp")
    return [] if experiment is None else client.search_runs([experiment.experiment_id])


def start_run(cwd):
    return subprocess.Popen(
        RUN,
        cwd=cwd,
        env=env(),
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
def test_signal_mid_run_closes_it_as_killed_with_its_epochs(tmp_path, signum, code, word):
    process = start_run(tmp_path)
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
def test_run_left_running_by_a_killed_process_is_closed_by_the_next_run(tmp_path):
    process = start_run(tmp_path)
    orphan = wait_for_epochs(process, tmp_path, epochs=1)
    process.kill()
    process.communicate()
    assert client_for(tmp_path).get_run(orphan).info.status == "RUNNING"
    done = subprocess.run([*RUN[:-1], "2"], cwd=tmp_path, env=env(), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    run = client_for(tmp_path).get_run(orphan)
    assert run.info.status == "FAILED"
    assert "ended without closing this run" in run.data.tags["error"]


def test_dead_tracking_server_is_one_line_before_any_training(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    done = subprocess.run(
        RUN,
        cwd=tmp_path,
        env=env(MLFLOW_TRACKING_URI=uri),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"bench: error: MLflow tracking server {uri} is not reachable")
    assert "epoch" not in done.stderr + done.stdout
    assert time.monotonic() - started < 60  # not MLflow's minutes of retries


def test_worker_of_a_finished_process_is_gone_and_a_live_one_is_not():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        worker = worker_id(child.pid)
        assert not worker_is_gone(worker)
    finally:
        child.kill()
        child.wait()
    assert worker_is_gone(worker)
    assert not worker_is_gone(this_worker())
    host, pid, start = this_worker().split(":")
    assert worker_is_gone(f"{host}:{pid}:{int(start) + 1}")  # the pid, reused later
    assert not worker_is_gone(f"elsewhere.example:{child.pid}:{start}")  # cannot tell


def test_exception_escaping_training_ends_the_run_failed_with_its_message(mlflow_store):
    class Broken(Exception):
        pass

    def explode(*args, **kwargs):
        raise Broken("disk full while training")

    benchmark = get_benchmark("digits-mlp")
    pipeline, _ = configured_pipeline(benchmark, pixel_max=16.0, seed=0, epochs=2)
    client = open_client()
    with pytest.raises(Broken), tracked_run("faults", "broken", {}, client=client) as run:
        failing = keras.callbacks.LambdaCallback(on_epoch_end=explode)
        fit_and_score(pipeline, load_digits(), callbacks=[run.epoch_logger(), failing])
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FAILED"
    assert stored.data.tags["error"] == "Broken: disk full while training"
    assert len(client.get_metric_history(run.run_id, "loss")) == 1  # the epoch before


def test_commands_started_together_on_a_fresh_store_all_open_it(tmp_path):
    # Without the store lock MLflow's schema migrations run at once and most fail.
    code = "from bench import tracking; tracking.open_client().search_experiments()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=tmp_path, env=env(), stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors

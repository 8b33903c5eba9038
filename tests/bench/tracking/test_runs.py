"""A run's life: closed FINISHED, FAILED with its error, or KILLED, whatever happens;
MLflow's standard tags; figures logged and freed."""

import keras
import pytest
from matplotlib import pyplot
from matplotlib.figure import Figure

from bench.benchmarks import get_benchmark
from bench.benchmarks.configure import configured_pipeline
from bench.data import load_digits
from bench.tracking.callbacks import EpochLogger
from bench.tracking.runs import tracked_run
from bench.tracking.store import open_client
from bench.training import fit_and_score


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
        fit_and_score(pipeline, load_digits(), callbacks=[EpochLogger(run), failing])
    stored = client.get_run(run.run_id)
    assert stored.info.status == "FAILED"
    assert stored.data.tags["error"] == "Broken: disk full while training"
    assert len(client.get_metric_history(run.run_id, "loss")) == 1  # the epoch before


@pytest.mark.parametrize(("error", "status"), [(KeyboardInterrupt, "KILLED"), (None, "FINISHED")])
def test_a_run_is_closed_with_the_status_of_what_happened(mlflow_store, error, status):
    client = open_client()
    with pytest.raises(error or ZeroDivisionError):
        with tracked_run("lifecycle", "run", {"k": 1}, client=client) as run:
            if error:
                raise error()
        raise ZeroDivisionError  # reached only without an error: the block ended
    assert client.get_run(run.run_id).info.status == status


def test_runs_carry_mlflow_standard_source_tags_and_the_process(mlflow_store):
    client = open_client()
    with tracked_run("tags", "run", {"benchmark": "x"}, client=client) as run:
        pass
    tags = client.get_run(run.run_id).data.tags
    for key in ("mlflow.source.name", "mlflow.source.type", "mlflow.user", "bench.worker"):
        assert tags.get(key), key
    assert tags["benchmark"] == "x"


@pytest.mark.parametrize(
    ("slurm", "expected"),
    [
        (
            {"SLURM_JOB_ID": "1236", "SLURM_ARRAY_JOB_ID": "1234", "SLURM_ARRAY_TASK_ID": "2"},
            {"slurm_job": "1234", "slurm_task": "2"},
        ),
        ({"SLURM_JOB_ID": "1237"}, {"slurm_job": "1237"}),
        ({}, {}),
    ],
)
def test_a_run_names_the_slurm_job_and_array_task_that_ran_it(
    mlflow_store, monkeypatch, slurm, expected
):
    for name in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in slurm.items():
        monkeypatch.setenv(name, value)
    client = open_client()
    with tracked_run("slurm", "run", {}, client=client) as run:
        pass
    tags = client.get_run(run.run_id).data.tags
    assert {key: value for key, value in tags.items() if key.startswith("slurm")} == expected


def test_many_params_go_in_one_call_and_mlflow_batches_them(mlflow_store):
    client = open_client()
    params = {f"p{i:03d}": i for i in range(250)}  # more than MLflow's 100 per request
    with tracked_run("params", "run", {}, client=client) as run:
        run.log_params(params)
    assert client.get_run(run.run_id).data.params == {k: str(v) for k, v in params.items()}


def test_a_logged_figure_is_stored_as_png_and_closed(mlflow_store, tmp_path):
    client = open_client()
    figure = pyplot.figure()  # through pyplot, as Optuna's plots are
    figure.add_subplot().plot([0, 1], [1, 0])
    with tracked_run("figures", "run", {}, client=client) as run:
        run.log_figure(figure, "plots/line.png")
        run.log_figure(Figure(), "plain.png")
    assert figure.number not in pyplot.get_fignums()
    local = client.download_artifacts(run.run_id, "plots/line.png", str(tmp_path))
    with open(local, "rb") as png:
        assert png.read(8) == b"\x89PNG\r\n\x1a\n"


def test_orphans_of_every_experiment_are_closed_and_live_runs_kept(mlflow_store):
    import subprocess
    import sys

    from bench.runtime.processes import process_identity
    from bench.tracking.runs import close_orphaned_runs
    from bench.tracking.vocabulary import WORKER as WORKER_TAG

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    dead = process_identity(child.pid)  # taken while it runs, as tracked_run records it
    child.kill()
    child.wait()
    client = open_client(f"sqlite:///{mlflow_store}")
    runs = {}
    for name, worker in (("a", dead), ("b", dead), ("c", process_identity(1)), ("d", None)):
        experiment = client.create_experiment(name)
        tags = {WORKER_TAG: worker} if worker else {}
        runs[name] = client.create_run(experiment, tags=tags).info.run_id

    closed = close_orphaned_runs(client, None)

    assert sorted(closed) == sorted([runs["a"], runs["b"]])
    status = {name: client.get_run(run_id).info.status for name, run_id in runs.items()}
    # c's process (pid 1) is alive; d says nothing of its process, so it is left alone.
    assert status == {"a": "FAILED", "b": "FAILED", "c": "RUNNING", "d": "RUNNING"}
    assert "ended without closing this run" in client.get_run(runs["a"]).data.tags["error"]


def test_the_runs_of_a_killed_worker_are_closed_as_killed_and_no_others(mlflow_store):
    from bench.tracking.runs import close_runs_of
    from bench.tracking.vocabulary import WORKER as WORKER_TAG

    client = open_client(f"sqlite:///{mlflow_store}")
    study, elsewhere = client.create_experiment("study"), client.create_experiment("other")
    killed, alive = "host:101:5.00", "host:102:5.00"
    runs = {
        "killed": client.create_run(study, tags={WORKER_TAG: killed}).info.run_id,
        "finished": client.create_run(study, tags={WORKER_TAG: killed}).info.run_id,
        "alive": client.create_run(study, tags={WORKER_TAG: alive}).info.run_id,
        "other experiment": client.create_run(elsewhere, tags={WORKER_TAG: killed}).info.run_id,
    }
    client.set_terminated(runs["finished"], status="FINISHED")

    assert close_runs_of(client, "study", killed, "killed after the wait") == [runs["killed"]]
    status = {name: client.get_run(run_id).info.status for name, run_id in runs.items()}
    assert status == {
        "killed": "KILLED",
        "finished": "FINISHED",
        "alive": "RUNNING",
        "other experiment": "RUNNING",
    }
    assert client.get_run(runs["killed"]).data.tags["error"] == "killed after the wait"

"""Studies whose processes are terminated, killed outright, or run side by side on
one store: no finished trial is lost, none is counted twice, and no MLflow run is
left RUNNING. Real processes, real signals, the default journal and SQLite stores."""

import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from studies.stale import ENQUEUED_ATTR, INTERRUPTED_ATTR, RETRY_OF_ATTR, STALE_ATTR, WORKER_ATTR

STUDY = [sys.executable, "-m", "bench", "study", "digits-mlp", "--sampler", "random"]
STUDY += ["--pruner", "none"]


@dataclass
class StudyFolder:
    """A working folder with its own stores, and the ``bench study`` processes in it."""

    cwd: Path
    read_trials: object
    read_runs: object
    read_marks: object
    env: dict

    def start(self, *args):
        return subprocess.Popen(
            [*STUDY, *args],
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args):
        return subprocess.run(
            [*STUDY, *args], cwd=self.cwd, env=self.env, capture_output=True, text=True
        )

    def trials(self):
        return self.read_trials(self.cwd)

    def runs(self):
        return self.read_runs(self.cwd)

    def marks(self):
        return self.read_marks(self.cwd)

    def wait_for_running_trial(self, process, number, timeout=180):
        """Until trial ``number`` is RUNNING and has its MLflow run."""
        deadline = time.monotonic() + timeout
        while True:
            trials = [t for t in self.trials() if t.number == number]
            if (
                trials
                and trials[0].state.name == "RUNNING"
                and "mlflow_run_id" in trials[0].user_attrs
            ):
                return trials[0]
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"trial {number} never started"
            time.sleep(0.2)

    def wait_for_running_trials(self, process, count, timeout=180):
        """Until ``count`` trials are RUNNING at once, each with its MLflow run."""
        deadline = time.monotonic() + timeout
        while True:
            running = [t for t in self.trials() if t.state.name == "RUNNING"]
            if len([t for t in running if "mlflow_run_id" in t.user_attrs]) >= count:
                return running
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, f"{count} trials never ran at once"
            time.sleep(0.2)

    def assert_nothing_running(self):
        _, runs = self.runs()
        assert [run.info.run_id for run in runs if run.info.status == "RUNNING"] == []
        trials = self.trials()
        assert all(t.state.is_finished() for t in trials)
        assert [t.number for t in trials] == list(range(len(trials)))


@pytest.fixture
def folder(tmp_path, stored_trials, study_runs, trial_marks, child_environment):
    return StudyFolder(tmp_path, stored_trials, study_runs, trial_marks, child_environment())


@pytest.mark.slow
@pytest.mark.parametrize("jobs", [2])  # the main process and a --jobs worker
def test_sigterm_mid_study_closes_runs_as_killed_and_exits_non_zero(folder, jobs):
    process = folder.start("--trials", "3", "--max-epochs", "300", "--jobs", str(jobs))
    running = folder.wait_for_running_trials(process, jobs)
    process.send_signal(signal.SIGTERM)  # to the main process only, as `kill` does
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 143, stderr
    assert "Traceback" not in stderr and stderr.strip().splitlines()[-1] == "terminated"
    assert_cut_off_by_sigterm(folder, running)


@pytest.mark.slow
def test_sigterm_closes_the_runs_of_a_worker_too_slow_to_close_them_itself(folder):
    # A worker that cannot close its runs in the wait: stopped (SIGSTOP), as a worker
    # on a machine so loaded it is not scheduled, or one stuck on a lock.
    folder.env["BENCH_STOP_WAIT_S"] = "3"
    process = folder.start("--trials", "3", "--max-epochs", "300", "--jobs", "2")
    running = folder.wait_for_running_trials(process, 2)
    (worker,) = {_pid(t) for t in running} - {process.pid}
    _stop_outside_the_journal_lock(worker, folder.cwd / "mlruns" / "optuna.journal.lock")
    try:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(worker, signal.SIGKILL)
    assert process.returncode == 143, stderr
    assert stderr.strip().splitlines()[-1] == "terminated"
    client, _ = assert_cut_off_by_sigterm(folder, running)
    (stuck,) = [t for t in running if _pid(t) == worker]
    error = client.get_run(stuck.user_attrs["mlflow_run_id"]).data.tags["error"]
    assert "did not stop within 3 s of SIGTERM" in error


def _stop_outside_the_journal_lock(pid: int, lock: Path) -> None:
    """SIGSTOP ``pid`` while it does not hold the study journal's lock: else the main
    process, once it has killed the worker, waits out Optuna's 30 s grace for a lock
    left by a dead process before it can write (right, but slow for a test)."""
    for _ in range(100):
        os.kill(pid, signal.SIGSTOP)
        if not lock.is_symlink():
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
    pytest.fail("the worker always held the journal's lock")


def _pid(trial) -> int:
    return int(trial.user_attrs[WORKER_ATTR].split(":")[1])


def assert_cut_off_by_sigterm(folder, running):
    """Every run KILLED, every started trial failed as interrupted and queued again
    once; returns (client, runs)."""
    client, runs = folder.runs()
    trials = folder.trials()
    started = [t for t in trials if t.state.name != "WAITING"]
    # The parent and every started trial's child, the worker process's included.
    assert {run.info.status for run in runs} == {"KILLED"}
    assert len(runs) == 1 + len(started)
    for trial in running:
        assert client.get_run(trial.user_attrs["mlflow_run_id"]).info.status == "KILLED"
    # Cut off by SIGTERM, they are no results: failed, marked, and queued again once.
    assert {t.state.name for t in started} == {"FAIL"}
    marks = folder.marks()
    assert {marks[t.number].get(INTERRUPTED_ATTR) for t in started} == {"SIGTERM"}
    waiting = [t for t in trials if t.state.name == "WAITING"]
    retries = sorted(t.user_attrs[RETRY_OF_ATTR] for t in waiting if RETRY_OF_ATTR in t.user_attrs)
    assert retries == sorted(t.number for t in started)
    # The other waiting trials are starting points enqueued with the study, not yet run.
    for trial in waiting:
        assert RETRY_OF_ATTR in trial.user_attrs or trial.user_attrs.get("known_good")
    return client, runs


@pytest.mark.slow
def test_sigkilled_worker_trial_is_failed_retried_once_and_its_run_closed(folder):
    process = folder.start("--trials", "3", "--max-epochs", "60")
    killed = folder.wait_for_running_trial(process, 0)
    process.kill()  # SIGKILL: no handler runs, nothing is closed
    process.communicate()

    done = folder.run("--trials", "3", "--max-epochs", "2")
    assert done.returncode == 0, done.stderr
    folder.assert_nothing_running()
    trials = folder.trials()
    marks = folder.marks()
    stale = [t for t in trials if STALE_ATTR in marks[t.number]]
    assert [t.number for t in stale] == [killed.number]
    assert stale[0].state.name == "FAIL"
    retries = [t for t in trials if t.user_attrs.get(RETRY_OF_ATTR) == killed.number]
    # The retry replays what the killed trial had suggested when it died (the snapshot
    # above may predate some of it), plus the baseline's enqueued parameters.
    assert len(retries) == 1
    assert killed.params.items() <= stale[0].params.items() <= retries[0].params.items()
    assert retries[0].params.items() >= killed.user_attrs[ENQUEUED_ATTR].items()
    counted = [t for t in trials if STALE_ATTR not in marks[t.number]]
    assert len(counted) == 3
    client, runs = folder.runs()
    orphan = client.get_run(killed.user_attrs["mlflow_run_id"])
    assert orphan.info.status == "FAILED"
    assert "ended without closing" in orphan.data.tags["error"]
    # The killed invocation's parent run is closed too.
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert sorted(run.info.status for run in parents) == ["FAILED", "FINISHED"]
    # Each trial has exactly one child run.
    numbers = [int(run.data.tags["trial_number"]) for run in runs if run not in parents]
    assert sorted(numbers) == [t.number for t in trials]


@pytest.mark.slow
def test_two_processes_on_one_study_share_it_without_duplicates(folder):
    # Create the study first, so neither process races to add the baseline trial.
    first = folder.run("--trials", "1", "--max-epochs", "2")
    assert first.returncode == 0, first.stderr
    processes = [folder.start("--trials", "7", "--max-epochs", "3") for _ in range(2)]
    for process in processes:
        _, stderr = process.communicate(timeout=400)
        assert process.returncode == 0, stderr
    folder.assert_nothing_running()
    trials = folder.trials()
    assert 7 <= len(trials) <= 8  # each stops when finished plus running trials reach 7
    client, runs = folder.runs()
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    numbers = sorted(int(run.data.tags["trial_number"]) for run in children)
    assert numbers == [t.number for t in trials]
    parents = [run.info.run_id for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert len(parents) == 3
    workers = {run.data.tags["mlflow.parentRunId"] for run in children}
    assert workers == set(parents)  # both concurrent processes trained trials
    # Each child run holds exactly its own trial's metrics.
    for child in children:
        trial = trials[int(child.data.tags["trial_number"])]
        epochs = int(child.data.params["clf__epochs"])
        assert len(client.get_metric_history(child.info.run_id, "loss")) == epochs
        assert child.data.metrics["val_accuracy"] == pytest.approx(trial.value)


@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: one trial at a time")
def test_a_study_runs_one_trial_per_core_by_default(folder):
    env = {key: value for key, value in folder.env.items() if not key.startswith("BENCH_JOBS")}
    # Each process with its share of the cores, as on a machine of its own.
    env = {key: value for key, value in env.items() if not key.startswith("TF_NUM_")}
    done = subprocess.run(
        [*STUDY, "--trials", "4", "--max-epochs", "5"],
        cwd=folder.cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert done.returncode == 0, done.stderr
    jobs = min(len(os.sched_getaffinity(0)), 4)  # one per core, no more than the trials
    assert f"study: {jobs} trials at once" in done.stderr
    folder.assert_nothing_running()
    assert len({_pid(trial) for trial in folder.trials()}) > 1  # the workers trained too
    _, runs = folder.runs()
    (parent,) = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert parent.data.tags["jobs"] == str(jobs)

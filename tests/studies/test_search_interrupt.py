"""Ctrl-C in the middle of a study, then the same command again: the requested
trials are all there, none lost or duplicated, and no MLflow run is left RUNNING."""

import re
import signal
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from studies.stale import INTERRUPTED_ATTR, RETRY_OF_ATTR, STALE_ATTR

COMMAND = [sys.executable, "-m", "bench", "study", "digits-mlp", "--trials", "4"]
COMMAND += ["--max-epochs", "3", "--sampler", "random", "--pruner", "none"]


def _default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
def test_sigint_mid_study_then_rerun_completes_the_requested_trials(
    tmp_path, stored_trials, trial_marks, child_environment
):
    env = child_environment()
    process = subprocess.Popen(
        COMMAND,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # Ctrl-C as in a terminal: a shell running this suite in the background makes
        # children ignore SIGINT, and Python then installs no KeyboardInterrupt.
        preexec_fn=_default_sigint,
    )
    deadline = time.monotonic() + 120
    # Until the second trial trains: RUNNING, with its MLflow run open.
    while not any(
        t.state.name == "RUNNING" and t.number >= 1 and "mlflow_run_id" in t.user_attrs
        for t in stored_trials(tmp_path)
    ):
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the study never reached its second trial"
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr

    done = subprocess.run(COMMAND, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    trials = stored_trials(tmp_path)
    assert [t.number for t in trials] == list(range(len(trials)))
    # The trial cut off by Ctrl-C is no result: it is marked, not counted, and its
    # configuration runs again. (A Ctrl-C landing while Optuna records the trial's end
    # can leave it RUNNING instead; the re-run then fails it as stale, the same way.)
    marks = trial_marks(tmp_path)
    cut_off = [t for t in trials if {INTERRUPTED_ATTR, STALE_ATTR} & set(marks[t.number])]
    assert len(cut_off) == 1
    assert cut_off[0].state.name == "FAIL"
    assert marks[cut_off[0].number].get(INTERRUPTED_ATTR, "Ctrl-C") == "Ctrl-C"
    (retry,) = [t for t in trials if t.user_attrs.get(RETRY_OF_ATTR) == cut_off[0].number]
    assert cut_off[0].params.items() <= retry.params.items()
    assert len([t for t in trials if t not in cut_off]) == 4
    assert all(t.state.is_finished() for t in trials)
    # In a log (stderr is not a terminal): one line per trial, no progress bar.
    assert "\r" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("trial ")]
    assert len(lines) == len(trials) - cut_off[0].number - 1
    assert all(re.match(r"trial \d+ (complete|pruned|fail)", line) for line in lines)
    assert "NaN" not in done.stdout
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("digits-mlp study").experiment_id])
    assert all(run.info.status != "RUNNING" for run in runs)
    children = [run for run in runs if "mlflow.parentRunId" in run.data.tags]
    numbers = sorted(int(run.data.tags["trial_number"]) for run in children)
    assert numbers == [t.number for t in trials]

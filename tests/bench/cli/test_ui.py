"""``bench ui`` as a user starts it: a real process serving the MLflow UI (and Optuna's
dashboard) on bench's store, found from the addresses it prints, stopped by Ctrl-C
with nothing left running."""

import json
import re
import signal
import subprocess
import sys
import time
import urllib.request

import psutil
import pytest

START_S = 120
STOP_S = 20


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read()


def start_ui(cwd, env, *args):
    return subprocess.Popen(
        [sys.executable, "-m", "bench", "ui", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def printed_lines(process, until: str) -> list[str]:
    """stdout lines until one starting with ``until`` has been printed, and the rest
    of that block."""
    lines, deadline = [], time.monotonic() + START_S
    for line in process.stdout:
        lines.append(line.rstrip("\n"))
        if line.startswith(until):
            return lines
        assert time.monotonic() < deadline
    raise AssertionError(f"bench ui printed no '{until}' line: {lines} {process.stderr.read()}")


def stop_with_ctrl_c(process) -> None:
    family = [process.pid] + [child.pid for child in psutil.Process(process.pid).children(True)]
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.wait(timeout=STOP_S)
    assert time.monotonic() - started < STOP_S
    assert process.returncode == 0, process.stderr.read()
    time.sleep(0.5)
    alive = [pid for pid in family if psutil.pid_exists(pid)]
    alive = [pid for pid in alive if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
    assert alive == [], f"left running: {alive}"


@pytest.fixture(scope="module")
def logged_run(tmp_path_factory, bench_command):
    """A folder holding one real `bench run` in ./mlruns, and its run id."""
    cwd = tmp_path_factory.mktemp("ui")
    done = bench_command("run", "digits-mlp", "--epochs", "1", cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd, re.search(r"run id\s+([0-9a-f]{32})", done.stdout).group(1)


# One `bench ui` for these checks: each start costs 15-30 s of a busy suite. The
# browser test covers `bench ui` started in the store's own folder.
@pytest.mark.slow
def test_bench_ui_from_another_folder_serves_the_store_at_the_printed_addresses(
    logged_run, tmp_path, child_environment
):
    cwd, run_id = logged_run
    uri = f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}"
    process = start_ui(tmp_path, child_environment(MLFLOW_TRACKING_URI=uri))
    try:
        lines = printed_lines(process, "latest run")
        base = re.search(r"MLflow UI\s+(http://127\.0\.0\.1:\d+)", lines[0]).group(1)
        assert get(base)[0] == 200
        page = re.search(r"latest run\s+(\S+)", lines[-1]).group(1)
        assert page.endswith(f"/runs/{run_id}") and page.startswith(base)
        assert get(page)[0] == 200
        runs_view = next(line for line in lines if "digits-mlp" in line and "workflowType" in line)
        assert get(runs_view.split()[-1])[0] == 200
        status, body = get(f"{base}/api/2.0/mlflow/runs/get?run_id={run_id}")
        run = json.loads(body)["run"]
        assert status == 200 and run["info"]["status"] == "FINISHED"
        assert run["info"]["run_id"] == run_id
        _assert_no_job_workers(process.pid)
    finally:
        if process.poll() is None:
            stop_with_ctrl_c(process)


def _assert_no_job_workers(pid: int) -> None:
    """MLflow 3.17's UI would start a pool of huey job workers bench never uses."""
    family = psutil.Process(pid).children(recursive=True)
    servers = [p for p in family if "mlflow" in " ".join(p.cmdline())]
    assert servers, [p.cmdline() for p in family]
    assert servers[0].environ()["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] == "false"
    commands = [" ".join(p.cmdline()) for p in family]
    assert not [command for command in commands if "huey" in command], commands


def test_bench_ui_without_a_store_says_where_it_looked(tmp_path, bench_command):
    done = bench_command("ui", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"bench: error: no MLflow store at {tmp_path.resolve() / 'mlruns' / 'mlflow.db'}; "
        "run `python -m bench run ...` here first, or start `bench ui` in the folder where "
        "you ran bench"
    ]


@pytest.mark.slow
def test_bench_ui_study_also_serves_optuna_dashboard(logged_run, bench_command, child_environment):
    pytest.importorskip("optuna_dashboard", reason="the 'dashboard' extra is not installed")
    cwd, _ = logged_run
    done = bench_command(
        "study", "digits-mlp", "--trials", "1", "--max-epochs", "1", "--no-refit", cwd=cwd
    )
    assert done.returncode == 0, done.stderr
    process = start_ui(cwd, child_environment(), "--study")
    try:
        lines = printed_lines(process, "Optuna dashboard")
        dashboard = re.search(r"Optuna dashboard\s+(\S+)", lines[-1]).group(1)
        assert get(dashboard)[0] == 200
        base = dashboard.removesuffix("/dashboard")
        studies = json.loads(get(f"{base}/api/studies")[1])["study_summaries"]
        assert [study["study_name"] for study in studies] == ["digits-mlp"]
    finally:
        if process.poll() is None:
            stop_with_ctrl_c(process)


def test_the_latest_run_shown_is_a_top_level_run(mlflow_store):
    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client
    from bench.tracking.ui import experiments_and_latest_runs

    # An absolute URI: MLflow caches stores by URI, and a relative one opened by an
    # earlier test in this process would point into that test's folder.
    uri = f"sqlite:///{mlflow_store}"
    client = open_client(uri)
    with (
        tracked_run("e", "study e", {}, client=client) as parent,
        tracked_run("e", "trial 000", {}, client=client, parent_run_id=parent.run_id),
    ):
        pass
    (name, _, latest), *_ = experiments_and_latest_runs(uri)
    assert name == "e" and latest.info.run_id == parent.run_id  # not the newer trial


def test_the_latest_run_shown_is_the_one_started_last_in_any_experiment(mlflow_store):
    import time

    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client
    from bench.tracking.ui import experiments_and_latest_runs

    uri = f"sqlite:///{mlflow_store}"
    client = open_client(uri)
    with tracked_run("digits-mlp", "an earlier bench run", {}, client=client):
        pass
    # A study in an experiment created after that one...
    with (
        tracked_run("digits-mlp study", "study parent", {}, client=client) as parent,
        tracked_run("digits-mlp study", "trial 0", {}, client=client, parent_run_id=parent.run_id),
    ):
        pass
    time.sleep(0.05)
    # ... and a bench run in the older experiment started after the study.
    with tracked_run("digits-mlp", "a later bench run", {}, client=client) as later:
        pass

    found = [(name, latest.info.run_id) for name, _, latest in experiments_and_latest_runs(uri)]
    assert found == [("digits-mlp", later.run_id), ("digits-mlp study", parent.run_id)]

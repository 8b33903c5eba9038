"""Studies on a SLURM cluster: the job script bench ships, submitted with `sbatch` to a
real one-node SLURM (slurmctld, slurmd and munged, started by .ci/run with `.ci/servers
start`) as a job array against PostgreSQL and the MLflow tracking server, with the
refit as a job that depends on the array. The tests skip where there is no SLURM."""

import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

from bench.cli.summaries import slurm_job_script
from bench.tracking.views import VIEW_TAG
from studies.stale import INTERRUPTED_ATTR, RETRY_OF_ATTR, replaced_trials
from studies.storage import open_storage
from studies.trials import count_finished
from tests.helpers.browser import ASSISTANT_CLOSED, NO_BROWSER, chromium

pytestmark = [pytest.mark.servers, pytest.mark.slow]
TINY = ["--sampler", "random", "--pruner", "none", "--max-epochs", "1", "--train-size", "300"]
# Each task one core and little memory: the tasks of a 3-task array share the 2 cores
# of a CI machine, two at a time.
TASK = ["--cpus-per-task=1", "--mem-per-cpu=1G"]
WAIT_S = 60  # each wait on the browser
# A step to the right along the table, back to its start past the end.
SCROLL_RIGHT = """
for (const bar of document.querySelectorAll(".ag-body-horizontal-scroll-viewport")) {
  const end = bar.scrollLeft + bar.clientWidth >= bar.scrollWidth - 1;
  bar.scrollLeft = end ? 0 : bar.scrollLeft + bar.clientWidth / 2;
}
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, child_environment, postgres_url, tracking_server):
    """The environment `sbatch` submits from: the cluster's configuration, the stores'
    addresses the job script requires, and this interpreter."""
    conf = os.environ.get("BENCH_TEST_SLURM_CONF")
    if not conf:
        pytest.skip("no SLURM: set BENCH_TEST_SLURM_CONF (`.ci/servers start` as root)")
    env = child_environment(
        SLURM_CONF=conf,
        MLFLOW_TRACKING_URI=tracking_server,
        BENCH_STORAGE=postgres_url,
        BENCH_PYTHON=sys.executable,
    )
    if subprocess.run(["sinfo"], env=env, capture_output=True).returncode != 0:
        pytest.skip(f"SLURM at {conf} does not answer")
    return env


@pytest.fixture
def slurm(cluster, tmp_path):
    """``(env, folder)``: the cluster's environment with a folder of the test's own for
    the nodes' working folders and the jobs' output."""
    return {**cluster, "BENCH_WORK_DIR": str(tmp_path / "nodes")}, tmp_path


@pytest.fixture(scope="module")
def finished_array(cluster, tmp_path_factory):
    """A 3-task array of a 9-trial study and its refit, submitted and ended: ``(env,
    folder, study, array job id, refit job id)``."""
    folder = tmp_path_factory.mktemp("array")
    env = {**cluster, "BENCH_WORK_DIR": str(folder / "nodes")}
    study = f"array-{uuid.uuid4().hex[:8]}"
    args = study_args(study, 9)
    array = sbatch(env, folder, "--array=0-2", *args)
    refit = sbatch(env, folder, f"--dependency=afterany:{array}", *args)
    wait_for(env, f"{array},{refit}")
    return env, folder, study, array, refit


def sbatch(env, folder: Path, *options: str) -> str:
    """Submit the shipped job script; the job's id."""
    output = f"--output={folder}/slurm-%A_%a.out"
    command = ["sbatch", "--parsable", *TASK, output, *options]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().split(";")[0]


def wait_for(env, job: str, timeout: float = 600) -> None:
    """Until SLURM no longer lists ``job`` (an array: all of its tasks)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(
            ["squeue", "--noheader", "--jobs", job], env=env, capture_output=True, text=True
        )
        if listed.returncode == 0 and not listed.stdout.strip():
            return
        time.sleep(1)
    raise AssertionError(f"job {job} still queued or running after {timeout:.0f} s")


def study_args(study: str, trials: int, *extra: str) -> list[str]:
    return [str(slurm_job_script()), "digits-mlp", "--trials", str(trials)] + [
        "--study-name",
        study,
        *TINY,
        *extra,
    ]


def study_runs(tracking_server: str, study: str):
    client = MlflowClient(tracking_uri=tracking_server)
    experiment = client.get_experiment_by_name("digits-mlp study")
    runs = client.search_runs(
        [experiment.experiment_id], f"tags.study = '{study}'", max_results=1000
    )
    trials = [run for run in runs if "trial_number" in run.data.tags]
    parents = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    return client, runs, trials, parents


def job_output(folder: Path) -> str:
    return "\n".join(path.read_text() for path in sorted(folder.glob("slurm-*.out")))


def test_a_job_array_shares_one_study_and_the_refit_runs_once_after_it(
    finished_array, postgres_url, tracking_server
):
    _, folder, study, array, refit = finished_array
    loaded = optuna.load_study(study_name=study, storage=open_storage(postgres_url))
    assert count_finished(loaded) == 9, job_output(folder)
    assert "Traceback" not in job_output(folder) and "View run" not in job_output(folder)
    assert not [t for t in loaded.trials if t.state.name == "RUNNING"]
    client, runs, trials, parents = study_runs(tracking_server, study)
    started = [t for t in loaded.trials if "mlflow_run_id" in t.user_attrs]
    assert sorted(int(run.data.tags["trial_number"]) for run in trials) == sorted(
        t.number for t in started
    )  # one run per trial
    assert {run.data.tags["slurm_job"] for run in trials} == {array}
    tasks = {run.data.tags["slurm_task"] for run in trials}
    assert tasks <= {"0", "1", "2"} and len(tasks) >= 2, tasks  # two tasks ran at once
    searching = [run for run in parents if "slurm_task" in run.data.tags]
    assert sorted(run.info.run_name for run in searching) == [
        f"study {study} task {task}" for task in ("0", "1", "2")
    ]
    assert {run.data.tags["jobs"] for run in searching} == {"1"}  # its one core: one trial
    assert all("test_accuracy" not in run.data.metrics for run in searching)
    view = client.get_experiment_by_name("digits-mlp study").tags[VIEW_TAG]
    assert "tags.`slurm_job`" in view and "tags.`slurm_task`" in view  # the runs view's columns
    (refitted,) = [run for run in parents if run.data.tags.get("slurm_job") == refit]
    assert "slurm_task" not in refitted.data.tags
    assert 0 < refitted.data.metrics["test_accuracy"] <= 1
    assert refitted.data.metrics["best_trial"] == loaded.best_trial.number
    assert all(run.info.status == "FINISHED" for run in runs)
    nodes = list((folder / "nodes").iterdir())  # each job its own folder, on the node
    assert len(nodes) == 4 and not any((node / "mlruns").exists() for node in nodes)


def test_a_cancelled_task_s_trial_is_retried_and_the_study_still_completes(
    slurm, postgres_url, tracking_server
):
    env, folder = slurm
    study = f"scancel-{uuid.uuid4().hex[:8]}"
    args = study_args(study, 6)
    args[args.index("--max-epochs") + 1] = "30"  # long enough to be cancelled mid-trial
    array = sbatch(env, folder, "--array=0-1", *args)
    victim = running_trial_of_task(env, study, postgres_url, tracking_server, task="0")
    subprocess.run(["scancel", f"{array}_0"], env=env, check=True, timeout=60)
    refit = sbatch(env, folder, f"--dependency=afterany:{array}", *args)
    wait_for(env, f"{array},{refit}")
    loaded = optuna.load_study(study_name=study, storage=open_storage(postgres_url))
    trials = loaded.trials
    cancelled = trials[victim]
    assert cancelled.state.name == "FAIL" and INTERRUPTED_ATTR in cancelled.user_attrs
    assert victim in replaced_trials(trials, loaded.user_attrs)  # not counted
    retries = [t for t in trials if t.user_attrs.get(RETRY_OF_ATTR) == victim]
    assert len(retries) == 1 and retries[0].state.is_finished(), job_output(folder)
    # Cancelled while its network was still being drawn, a trial holds only the
    # parameters drawn so far; its retry fixes those and draws the rest.
    assert cancelled.params.items() <= retries[0].params.items()
    assert count_finished(loaded) == 6
    client, runs, _, _ = study_runs(tracking_server, study)
    killed = client.get_run(cancelled.user_attrs["mlflow_run_id"])
    assert killed.info.status == "KILLED" and killed.data.tags["slurm_task"] == "0"
    assert not [run for run in runs if run.info.status == "RUNNING"]


def running_trial_of_task(env, study, postgres_url, tracking_server, *, task: str) -> int:
    """The number of a trial that array task ``task`` is training now."""
    client = MlflowClient(tracking_uri=tracking_server)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        try:
            loaded = optuna.load_study(study_name=study, storage=open_storage(postgres_url))
        except KeyError:  # not created yet
            time.sleep(0.5)
            continue
        for trial in loaded.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            run_id = trial.user_attrs.get("mlflow_run_id")
            if run_id and client.get_run(run_id).data.tags.get("slurm_task") == task:
                return trial.number
        time.sleep(0.3)
    raise AssertionError(f"task {task} never trained a trial")


@pytest.mark.browser
@pytest.mark.skipif(bool(NO_BROWSER), reason=f"Debian's Chromium and ChromeDriver: {NO_BROWSER}")
def test_the_runs_view_a_task_prints_shows_which_job_and_task_ran_each_study_run(
    finished_array, tmp_path
):
    _, folder, _, array, _ = finished_array
    printed = re.search(r"^runs view +(\S+)", job_output(folder), re.MULTILINE)
    assert printed, job_output(folder)
    with chromium(tmp_path / "profile", WAIT_S) as browser:
        shown = columns_shown(browser, printed.group(1), tmp_path)
    assert array in shown["slurm_job"]  # the array's study runs, newest first
    assert set(shown["slurm_task"]) & {"0", "1", "2"}


def columns_shown(browser, address: str, tmp_path) -> dict[str, list[str]]:
    """The values the runs view at ``address`` shows, without a click, in its job and
    task columns (a screenshot of it under ``tmp_path``)."""
    browser.get(address[: address.index("/#/")])
    browser.execute_script(ASSISTANT_CLOSED)
    browser.get(address)
    shown: dict[str, list[str]] = {}
    try:
        for tag in ("slurm_job", "slurm_task"):
            cells = (By.CSS_SELECTOR, f".ag-cell[col-id='tags.`{tag}`']")

            def texts(driver, cells=cells):
                # The table draws only the columns in sight: scrolled along, as a user would.
                driver.execute_script(SCROLL_RIGHT)
                found = [cell.text.strip() for cell in driver.find_elements(*cells)]
                return [text for text in found if text and text != "-"] or None

            shown[tag] = WebDriverWait(
                browser, WAIT_S, ignored_exceptions=[StaleElementReferenceException]
            ).until(texts, message=f"the runs view shows no {tag} column with a value")
    finally:
        browser.save_screenshot(str(tmp_path / "slurm-runs-view.png"))
    return shown

"""The MLflow UI as a user sees it: Debian's headless Chromium on ``bench ui`` (a real
process, on a store this module fills with one `bench run` and one small study) shows
the run's params, metrics and confusion matrix, the study's trials nested under its
parent run, and a drawn chart of ``val_accuracy``.

MLflow's UI is a React app with generated CSS class names: elements are found by their
visible text, ARIA roles and MLflow's ``data-testid`` attributes, with explicit waits.
A screenshot of each page lands under the test's ``tmp_path``.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as shown
from selenium.webdriver.support.ui import WebDriverWait

from tests.helpers.browser import ASSISTANT_CLOSED, NO_BROWSER, chromium
from tests.helpers.user_data import digits, write_image_folder

START_S = 120  # bench ui: the MLflow UI starts uvicorn workers and job consumers
STOP_S = 20
WAIT_S = 60  # each wait on the browser; the machine is shared
EPOCHS = 2
TRIALS = 3
# The SHA-256 of the bytes an <img> shows, as hex (its src is a blob: URL).
SHA256_OF_IMAGE = """
const [image, done] = arguments;
fetch(image.src)
  .then((response) => response.arrayBuffer())
  .then((bytes) => crypto.subtle.digest("SHA-256", bytes))
  .then((digest) => Array.from(new Uint8Array(digest)))
  .then((bytes) => done(bytes.map((byte) => byte.toString(16).padStart(2, "0")).join("")))
  .catch((error) => done(`no bytes: ${error}`));
"""
SCREENSHOTS_VARIABLE = "BENCH_SCREENSHOTS"
README_SCREENSHOTS = ("runs-view-bench-run", "runs-view-bench-study-unfolded")
NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")  # a cell without the value shows "-"


@pytest.fixture(scope="module")
def filled_store(tmp_path_factory, bench_command) -> dict:
    """A folder whose ./mlruns holds two `bench run`s (dropout 0.3, then the benchmark's)
    and one study of TRIALS trials."""
    cwd = tmp_path_factory.mktemp("ui_browser")
    other = bench_command(
        "run", "digits-mlp", "--epochs", str(EPOCHS), "--set", "dropout=0.3", cwd=cwd
    )
    assert other.returncode == 0, other.stderr
    done = bench_command("run", "digits-mlp", "--epochs", str(EPOCHS), cwd=cwd)
    assert done.returncode == 0, done.stderr
    study = bench_command(
        "study", "digits-mlp", "--trials", str(TRIALS), "--max-epochs", "1", cwd=cwd
    )
    assert study.returncode == 0, study.stderr
    images, labels = digits(10, side=16)
    kept = labels < 3
    write_image_folder(cwd / "scans", images[kept], labels[kept])
    for label, word in enumerate(("zero", "one", "two")):  # class names that are words
        (cwd / "scans" / str(label)).rename(cwd / "scans" / word)
    scans = bench_command(
        "run", "digits-mlp", "--data", "scans", "--epochs", "1", "--experiment", "scans", cwd=cwd
    )
    assert scans.returncode == 0, scans.stderr
    return {
        "scans_run_id": re.search(r"run id\s+([0-9a-f]{32})", scans.stdout).group(1),
        "scans_run_page": re.search(r"run page\s+(\S+)", scans.stdout).group(1),
        "cwd": cwd,
        "run_id": re.search(r"run id\s+([0-9a-f]{32})", done.stdout).group(1),
        "run_page": re.search(r"run page\s+(\S+)", done.stdout).group(1),
        "run_runs_view": re.search(r"runs view\s+(\S+)", done.stdout).group(1),
        "study_parent": re.search(r"parent run\s+([0-9a-f]{32})", study.stdout).group(1),
        "study_runs_view": re.search(r"runs view\s+(\S+)", study.stdout).group(1),
    }


@pytest.fixture
def mlflow_ui(filled_store, child_environment) -> dict[str, str]:
    """`bench ui` on the filled store, as a user starts it; the addresses it prints
    (``"MLflow UI"`` and each experiment's runs view by name). Stopped by Ctrl-C."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "ui"],
        cwd=filled_store["cwd"],
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        lines, deadline = [], time.monotonic() + START_S
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("latest run"):
                break
            assert time.monotonic() < deadline, f"bench ui is slow to start: {lines}"
        else:
            raise AssertionError(f"bench ui printed no addresses: {lines} {process.stderr.read()}")
        # "  digits-mlp study  http://...": a name, then its address.
        printed = (re.match(r"\s*(.+?)\s{2,}(http\S+)", line) for line in lines)
        yield {found.group(1): found.group(2) for found in printed if found}
    finally:
        stop_with_ctrl_c(process)


def stop_with_ctrl_c(process: subprocess.Popen) -> None:
    """Ctrl-C, as at a terminal: bench ui and everything it started must end; whatever
    outlives it is killed here (so nothing stays running) and fails the test."""
    if process.poll() is not None:
        return
    leader = psutil.Process(process.pid)
    family = [leader, *leader.children(recursive=True)]
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_S)
    finally:
        _, alive = psutil.wait_procs(family, timeout=0.5)
        alive = [member for member in alive if running(member)]
        for member in alive:
            member.kill()
    assert alive == [], f"left running after Ctrl-C: {alive}"
    assert process.returncode == 0, process.stderr.read()


def running(member: psutil.Process) -> bool:
    """Whether ``member`` still runs (a zombie only waits for its parent to reap it)."""
    try:
        return member.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def browser(tmp_path):
    with chromium(tmp_path / "chromium-profile", WAIT_S) as driver:
        yield driver


def api(base: str, path: str, body: dict | None = None) -> dict:
    """MLflow's REST API on the same server, for what the store holds."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        f"{base}/api/2.0/mlflow/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def screenshot(driver, tmp_path: Path, name: str) -> None:
    """Save what the browser shows under ``tmp_path/screenshots`` and print where; with
    ``BENCH_SCREENSHOTS=FOLDER``, the README's pictures there too."""
    path = tmp_path / "screenshots" / f"{name}.png"
    path.parent.mkdir(exist_ok=True)
    try:
        driver.save_screenshot(str(path))
    except WebDriverException as error:  # a dead browser: keep the failure that killed it
        print(f"screenshot {name}: none, {error.msg}")
        return
    print(f"screenshot {path}")
    kept = os.environ.get(SCREENSHOTS_VARIABLE)
    if kept and name in README_SCREENSHOTS:
        Path(kept).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, Path(kept) / path.name)


def row_cells(driver, wait, name: str) -> list[str]:
    """The cells' texts of the table row whose first cell is ``name``, once shown
    (scrolled to, for the screenshot)."""
    row = wait.until(
        shown.visibility_of_element_located(
            (By.XPATH, f"//*[@role='row'][*[@role='cell'][1][normalize-space()='{name}']]")
        ),
        message=f"the run page shows no row for {name}",
    )
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", row)
    return [cell.text for cell in row.find_elements(By.XPATH, "./*[@role='cell']")]


def check_params_and_metrics(driver, wait, run: dict, tmp_path: Path) -> None:
    """The run page's Overview shows a param and a metric, each with its logged value."""
    params = {param["key"]: param["value"] for param in run["params"]}
    metrics = {metric["key"]: metric["value"] for metric in run["metrics"]}
    try:
        cells = row_cells(driver, wait, "clf__dropout")
        assert cells[:2] == ["clf__dropout", params["clf__dropout"]]
    finally:
        screenshot(driver, tmp_path, "1-run-page-params")
    try:
        cells = row_cells(driver, wait, "test_accuracy")
        assert float(cells[1]) == metrics["test_accuracy"], cells
    finally:
        screenshot(driver, tmp_path, "2-run-page-metrics")


def check_confusion_matrix(driver, wait, logged: Path, tmp_path: Path) -> None:
    """The Artifacts tab shows confusion_matrix.png as an image: the logged file's bytes,
    decoded, and drawn large enough to read."""
    try:
        tab = (By.XPATH, "//button[@role='tab'][normalize-space()='Artifacts']")
        wait.until(shown.element_to_be_clickable(tab)).click()
        node = "[data-testid='artifact-tree-node'][artifact-name='confusion_matrix.png']"
        wait.until(shown.element_to_be_clickable((By.CSS_SELECTOR, node))).click()
        image = wait.until(
            shown.visibility_of_element_located(
                (By.CSS_SELECTOR, "img[alt='confusion_matrix.png']")
            ),
            message="the Artifacts tab shows no confusion_matrix.png image",
        )
        drawn = wait.until(
            lambda driver: driver.execute_script(
                "const image = arguments[0], box = image.getBoundingClientRect();"
                "return image.complete && image.naturalWidth > 0 && [box.width, box.height];",
                image,
            ),
            message="the confusion matrix image never loaded",
        )
        assert min(drawn) > 100, f"the confusion matrix is drawn {drawn} px"
        # Every run logs a confusion matrix of the same size: its bytes say whose it is.
        shown_digest = driver.execute_async_script(SHA256_OF_IMAGE, image)
        assert shown_digest == hashlib.sha256(logged.read_bytes()).hexdigest(), (
            f"not the run's confusion matrix: {shown_digest}"
        )
    finally:
        screenshot(driver, tmp_path, "3-run-page-confusion-matrix")


def check_metric_chart(driver, wait, tmp_path: Path) -> None:
    """On the run page's Model metrics tab, val_accuracy's chart draws a line through
    one point per epoch."""
    try:
        tab = (By.XPATH, "//button[@role='tab'][normalize-space()='Model metrics']")
        wait.until(shown.element_to_be_clickable(tab)).click()
        search = (By.XPATH, "//input[@placeholder='Search metric charts']")
        # Typed over whatever the UI remembered from an earlier visit.
        box = wait.until(shown.visibility_of_element_located(search))
        box.send_keys(Keys.CONTROL, "a")
        box.send_keys("val_accuracy")
        card = "//*[@data-testid='experiment-view-compare-runs-card'][.//h4[@title='val_accuracy']]"
        line = (
            f"{card}//*[name()='svg'][contains(@class, 'main-svg')]//*[contains(@class, 'js-line')]"
        )

        def drawn(driver):
            element = driver.find_element(By.XPATH, line)
            size = element.size
            return element.get_attribute("d"), size["width"], size["height"]

        # The chart refreshes itself: an element found may be replaced before it is read.
        path, width, height = WebDriverWait(
            driver, WAIT_S, ignored_exceptions=[StaleElementReferenceException]
        ).until(drawn, message="no line drawn in a val_accuracy chart")
        assert width > 0 and height > 0, f"the val_accuracy line is {width} x {height} px"
        points = re.findall(r"[ML]\s*(-?[\d.]+)\s*,\s*(-?[\d.]+)", path)
        assert len(points) == EPOCHS, f"val_accuracy's line {path!r} is not one point per epoch"
    finally:
        screenshot(driver, tmp_path, "4-run-page-val-accuracy-chart")


def on_this_ui(base: str, printed: str) -> str:
    """A printed address on the UI at ``base`` (bench ui may serve on another port)."""
    return base + printed[printed.index("/#/") :]


def scores_shown(driver, wait, address: str, tmp_path: Path, name: str) -> dict[str, float]:
    """Open ``address`` and read, without a click, the first value of the validation and
    test accuracy columns of the runs view."""
    driver.get(address)
    values = {}
    try:
        for metric in ("val_accuracy", "test_accuracy"):
            cells = (By.CSS_SELECTOR, f".ag-cell[col-id='metrics.`{metric}`']")

            def first_value(driver, cells=cells):
                texts = [cell.text.strip() for cell in driver.find_elements(*cells)]
                return next((text for text in texts if NUMBER.fullmatch(text)), None)

            values[metric] = float(
                WebDriverWait(
                    driver, WAIT_S, ignored_exceptions=[StaleElementReferenceException]
                ).until(first_value, message=f"{address} shows no {metric} column with a value")
            )
    finally:
        screenshot(driver, tmp_path, name)
    return values


def check_trials_nested(driver, wait, base: str, runs_view: str, tmp_path: Path) -> None:
    """The study's parent run is one row that expands to its trials, indented below it."""
    trials = [f"trial {number:03d}" for number in range(TRIALS)]
    driver.get(runs_view)
    try:
        breadcrumb = "//a[@data-testid='experiment-link'][normalize-space()='digits-mlp study']"
        wait.until(
            shown.visibility_of_element_located((By.XPATH, breadcrumb)),
            message="the runs view is not the study's experiment",
        )
        parent = wait.until(
            shown.visibility_of_element_located(
                (By.XPATH, "//a[normalize-space()='study digits-mlp']")
            ),
            message="the runs view shows no 'study digits-mlp' row",
        )
        shown_trials = "//a[starts-with(normalize-space(), 'trial ')]"
        assert driver.find_elements(By.XPATH, shown_trials) == [], (
            "trial rows shown before the study's row was expanded: not nested"
        )
        parent.find_element(By.XPATH, "ancestor::*[@role='gridcell'][1]//button").click()
        for trial in trials:
            wait.until(
                shown.visibility_of_element_located(
                    # "trial 002", or "trial 002 pruned"
                    (By.XPATH, f"//a[starts-with(normalize-space(), '{trial}')]")
                ),
                message=f"the expanded study shows no '{trial}' row",
            )
        # Found again: expanding may render the study's row anew.
        parent = driver.find_element(By.XPATH, "//a[normalize-space()='study digits-mlp']")
        rows = {link.text: link for link in driver.find_elements(By.XPATH, shown_trials)}
        assert sorted(name[: len("trial 000")] for name in rows) == trials
        for trial, link in rows.items():
            assert link.location["y"] > parent.location["y"], f"{trial} is not below the study"
            assert link.location["x"] > parent.location["x"], f"{trial} is not indented"

        parent_id = parent.get_attribute("href").rsplit("/", 1)[-1]
        experiment_id = re.search(r"/experiments/(\d+)/", runs_view).group(1)
        children = api(
            base,
            "runs/search",
            {
                "experiment_ids": [experiment_id],
                "filter": f"tags.mlflow.parentRunId = '{parent_id}'",
            },
        )["runs"]
        ids = {run["info"]["run_name"]: run["info"]["run_id"] for run in children}
        assert {
            trial: link.get_attribute("href").rsplit("/", 1)[-1] for trial, link in rows.items()
        } == ids
    finally:
        screenshot(driver, tmp_path, "5-study-runs-view-trials")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(bool(NO_BROWSER), reason=f"Debian's Chromium and ChromeDriver: {NO_BROWSER}")
def test_mlflow_ui_in_a_browser_shows_the_run_the_study_and_a_chart(
    filled_store, mlflow_ui, browser, tmp_path
):
    base = mlflow_ui["MLflow UI"]
    run_id, cwd = filled_store["run_id"], filled_store["cwd"]
    run = api(base, f"runs/get?run_id={run_id}")["run"]["data"]
    logged_matrix = next((cwd / "mlruns" / "artifacts").rglob(f"{run_id}/**/confusion_matrix.png"))
    # bench run printed its page on the default port; bench ui may have taken another.
    run_page = base + filled_store["run_page"][filled_store["run_page"].index("/#/") :]
    wait = WebDriverWait(browser, WAIT_S)

    browser.get(run_page)
    check_params_and_metrics(browser, wait, run, tmp_path)
    check_confusion_matrix(browser, wait, logged_matrix, tmp_path)
    check_metric_chart(browser, wait, tmp_path)
    check_trials_nested(browser, wait, base, mlflow_ui["digits-mlp study"], tmp_path)


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(bool(NO_BROWSER), reason=f"Debian's Chromium and ChromeDriver: {NO_BROWSER}")
def test_the_runs_views_bench_prints_show_the_scores_without_a_click(
    filled_store, mlflow_ui, browser, tmp_path
):
    base = mlflow_ui["MLflow UI"]
    wait = WebDriverWait(browser, WAIT_S)
    # As a user who has closed MLflow's Assistant panel once (it opens by itself on a
    # browser's first visit), so the screenshots show the table; nothing is clicked.
    browser.get(base)
    browser.execute_script(ASSISTANT_CLOSED)

    address = on_this_ui(base, filled_store["run_runs_view"])
    experiment = re.search(r"/experiments/(\d+)/", address).group(1)
    runs = api(base, "runs/search", {"experiment_ids": [experiment]})["runs"]
    best = max(runs, key=lambda run: metric_of(run, "val_accuracy"))
    shown_scores = scores_shown(browser, wait, address, tmp_path, "runs-view-bench-run")
    for metric, value in shown_scores.items():  # best validation accuracy first
        assert value == pytest.approx(metric_of(best, metric), abs=1e-6), metric
    column = "params.`clf__dropout`"  # the parameter the two runs differ in
    dropouts = [
        cell.text for cell in browser.find_elements(By.CSS_SELECTOR, f".ag-cell[col-id='{column}']")
    ]
    assert sorted(dropouts) == ["0.1", "0.3"], dropouts  # the benchmark's, and --set's

    address = on_this_ui(base, filled_store["study_runs_view"])
    shown_scores = scores_shown(browser, wait, address, tmp_path, "runs-view-bench-study")
    parent = api(base, f"runs/get?run_id={filled_store['study_parent']}")["run"]
    for metric, value in shown_scores.items():  # the study's row: its refit's scores
        assert value == pytest.approx(metric_of(parent, metric), abs=1e-6), metric
    # For the README: the study unfolded, its trials and their states below it.
    study = browser.find_element(By.XPATH, "//a[normalize-space()='study digits-mlp']")
    study.find_element(By.XPATH, "ancestor::*[@role='gridcell'][1]//button").click()
    wait.until(
        shown.visibility_of_element_located(
            (By.XPATH, "//a[starts-with(normalize-space(), 'trial 000')]")
        )
    )
    screenshot(browser, tmp_path, "runs-view-bench-study-unfolded")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(bool(NO_BROWSER), reason=f"Debian's Chromium and ChromeDriver: {NO_BROWSER}")
def test_a_run_on_the_user_s_images_shows_their_name_and_classes(
    filled_store, mlflow_ui, browser, tmp_path
):
    """The run page `bench run --data scans` printed names the data: in the run's name,
    in its dataset, and as the class names of the folders."""
    base = mlflow_ui["MLflow UI"]
    wait = WebDriverWait(browser, WAIT_S)
    browser.get(on_this_ui(base, filled_store["scans_run_page"]))
    try:
        title = "digits-mlp data=scans epochs=1 seed=0"
        wait.until(
            shown.visibility_of_element_located(
                (By.XPATH, f"//h2[normalize-space()='{title}'] | //*[@title='{title}']")
            ),
            message=f"the run page shows no run named {title!r}",
        )
        assert row_cells(browser, wait, "class_names")[:2] == [
            "class_names",
            "one, two, zero",
        ]  # sorted, as Keras sorts them
        assert row_cells(browser, wait, "dataset")[:2] == ["dataset", "scans"]
        digest = api(base, f"runs/get?run_id={filled_store['scans_run_id']}")["run"]["inputs"]
        shown_digest = digest["dataset_inputs"][0]["dataset"]["digest"]
        wait.until(
            shown.visibility_of_element_located(
                (By.XPATH, f"//*[contains(normalize-space(), 'scans ({shown_digest[:8]}')]")
            ),
            message="the run page shows no dataset scans with its digest",
        )
    finally:
        screenshot(browser, tmp_path, "run-page-user-data")


def metric_of(run: dict, key: str) -> float:
    """A metric's last value in a run as MLflow's REST API returns it."""
    return next(metric["value"] for metric in run["data"]["metrics"] if metric["key"] == key)

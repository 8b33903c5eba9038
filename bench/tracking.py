"""Everything that talks to MLflow. No other module imports ``mlflow``.

Runs are handled through an explicit ``MlflowClient`` and run id, never MLflow's
global "active run", so concurrent runs in one process cannot cross.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import keras
import mlflow
import mlflow.sklearn
import numpy as np
from mlflow.entities import Metric, Param
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

try:
    import fcntl
except ImportError:  # Windows: no lock; start concurrent studies one after another
    fcntl = None

import estimators
from bench import reports
from bench.data import Dataset
from bench.environment import package_versions
from bench.errors import TrackingError
from bench.interrupts import raise_if_terminated
from bench.runner import RunOutcome, classifier_of
from bench.workers import this_worker, worker_is_gone

DEFAULT_STORE_DIR = Path("mlruns")
DEFAULT_DB = DEFAULT_STORE_DIR / "mlflow.db"
_MAX_BATCH = 100  # MLflow accepts at most 100 params per log_batch call
WORKER_TAG = "bench.worker"  # host:pid:start of the process that opened the run
_LOCK_RETRIES = 8


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else the SQLite store ``./mlruns/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{DEFAULT_DB.as_posix()}"


def ui_command(uri: str) -> str:
    """The command that opens the MLflow UI on ``uri``, bound to this machine only."""
    if uri.startswith(("http://", "https://")):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri {uri} --host 127.0.0.1 --port 5000"


def quiet_mlflow() -> None:
    """Keep MLflow's own log lines and warnings out of the user's terminal."""
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


def open_client(uri: str | None = None) -> MlflowClient:
    """A client on ``uri`` (default :func:`tracking_uri`), creating the local store.

    Raises
    ------
    TrackingError
        If ``uri`` is a tracking server that does not answer.
    """
    uri = uri or tracking_uri()
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    elif uri.startswith(("http://", "https://")):
        check_server(uri)
    # mlflow.sklearn.log_model resolves run ids through the process-wide URI.
    mlflow.set_tracking_uri(uri)
    local = uri.startswith("sqlite:///")
    # MLflow creates and migrates the schema when the client is made.
    with _store_lock(Path(uri.removeprefix("sqlite:///"))) if local else contextlib.nullcontext():
        return _LockRetryingClient(MlflowClient(tracking_uri=uri))


@contextlib.contextmanager
def _store_lock(database: Path) -> Iterator[None]:
    """One process at a time creates or migrates the SQLite store: two commands
    started together on a fresh ``./mlruns`` (``--jobs``, several terminals) would
    otherwise run MLflow's migrations at once and break them."""
    with open(database.parent / ".mlflow.db.lock", "w") as lock:
        if fcntl is not None:
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def check_server(uri: str, timeout: float = 5.0) -> None:
    """Fail fast, in one line, if the tracking server at ``uri`` does not answer.

    MLflow itself retries a dead server for minutes; a user should learn it before
    any data is loaded or any epoch is trained.
    """
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answered (perhaps behind a proxy without /health): it is up
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TrackingError(
            f"MLflow tracking server {uri} is not reachable ({reason}); start it, or unset "
            "MLFLOW_TRACKING_URI to use the local store ./mlruns"
        ) from error


class _LockRetryingClient:
    """An ``MlflowClient`` whose calls are retried while SQLite reports "database is
    locked": with several ``bench study`` processes on one store, a writer can find
    the file locked by another for longer than SQLite's own timeout."""

    def __init__(self, client: MlflowClient):
        self._client = client

    def __getattr__(self, name: str):
        attribute = getattr(self._client, name)
        if not callable(attribute):
            return attribute

        def retrying(*args, **kwargs):
            for attempt in range(_LOCK_RETRIES):
                try:
                    return attribute(*args, **kwargs)
                except Exception as error:
                    if "database is locked" not in str(error) or attempt == _LOCK_RETRIES - 1:
                        raise
                    time.sleep(0.05 * 2**attempt)

        return retrying


def close_orphaned_runs(client: MlflowClient, experiment: str) -> list[str]:
    """Close as FAILED the RUNNING runs of ``experiment`` whose process has vanished.

    A process killed with SIGKILL (or a machine that lost power) cannot close its
    runs; the next invocation on the same host does. Returns the run ids closed.
    """
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    running = client.search_runs(
        [found.experiment_id], filter_string="attributes.status = 'RUNNING'", max_results=1000
    )
    closed = []
    for run in running:
        worker = run.data.tags.get(WORKER_TAG, "")
        if worker and worker_is_gone(worker):
            message = f"worker process {worker} ended without closing this run (killed?)"
            with contextlib.suppress(mlflow.exceptions.MlflowException, OSError):
                client.set_tag(run.info.run_id, "error", message)
                client.log_text(run.info.run_id, message + "\n", "error.txt")
            client.set_terminated(run.info.run_id, status="FAILED")
            closed.append(run.info.run_id)
    return closed


def experiment_id(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created if missing (artifacts under ``./mlruns``)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if client.tracking_uri.startswith("sqlite:///"):
        store = Path(client.tracking_uri.removeprefix("sqlite:///")).parent.resolve()
        location = (store / "artifacts").as_uri()
    return client.create_experiment(name, artifact_location=location)


class TrackedRun:
    """One MLflow run, written to through its id.

    Use :func:`tracked_run` to open one: it closes the run as FINISHED, FAILED
    (with the error logged) or KILLED (Ctrl-C) whatever happens.
    """

    def __init__(self, client: MlflowClient, run_id: str):
        self.client = client
        self.run_id = run_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log ``params`` (values shown as text), 100 at a time."""
        items = [Param(key, _param_text(value)) for key, value in params.items()]
        for start in range(0, len(items), _MAX_BATCH):
            self.client.log_batch(self.run_id, params=items[start : start + _MAX_BATCH])

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log numeric ``metrics`` at ``step``; NaN and inf are logged as they are."""
        now = _now_ms()
        batch = [Metric(key, float(value), now, step) for key, value in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values shown as text)."""
        for key, value in tags.items():
            self.client.set_tag(self.run_id, key, str(value))

    def log_text(self, text: str, path: str) -> None:
        """Save ``text`` as the artifact ``path``."""
        self.client.log_text(self.run_id, text, path)

    def log_bytes(self, data: bytes, path: str) -> None:
        """Save ``data`` as the artifact ``path``."""
        with tempfile.TemporaryDirectory() as tmp:
            local = Path(tmp) / Path(path).name
            local.write_bytes(data)
            parent = str(Path(path).parent)
            self.client.log_artifact(self.run_id, str(local), None if parent == "." else parent)

    def epoch_logger(self) -> keras.callbacks.Callback:
        """A Keras callback that logs each epoch's metrics as it ends (step = epoch)."""
        return _EpochLogger(self)


class _EpochLogger(keras.callbacks.Callback):
    """Per-epoch metrics go to MLflow as they happen, so Ctrl-C keeps them."""

    def __init__(self, run: TrackedRun):
        super().__init__()
        self.run = run
        self.epochs_done = 0

    def on_epoch_end(self, epoch, logs=None):
        self.run.log_metrics(dict(logs or {}), step=epoch + 1)
        self.epochs_done = epoch + 1
        raise_if_terminated()


@contextlib.contextmanager
def tracked_run(
    experiment: str,
    run_name: str,
    tags: Mapping[str, Any],
    *,
    client: MlflowClient | None = None,
    parent_run_id: str | None = None,
) -> Iterator[TrackedRun]:
    """Open a run and always close it with the status that matches what happened.

    Raises
    ------
    TrackingError
        If the tracking store cannot be reached.
    """
    client = client or open_client()
    try:
        exp_id = experiment_id(client, experiment)
        all_tags = {key: str(value) for key, value in tags.items()}
        all_tags[WORKER_TAG] = this_worker()
        if parent_run_id:
            all_tags["mlflow.parentRunId"] = parent_run_id
        run_id = client.create_run(exp_id, run_name=run_name, tags=all_tags).info.run_id
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(
            f"cannot write to MLflow at {client.tracking_uri}: {_first_line(error)}; "
            "check MLFLOW_TRACKING_URI"
        ) from error
    run = TrackedRun(client, run_id)
    try:
        yield run
    except KeyboardInterrupt:
        client.set_terminated(run_id, status="KILLED")
        raise
    except BaseException as error:
        _record_failure(run, error)
        raise
    else:
        client.set_terminated(run_id, status="FINISHED")


def _record_failure(run: TrackedRun, error: BaseException) -> None:
    status = "KILLED" if isinstance(error, SystemExit) else "FAILED"
    message = f"{type(error).__name__}: {error}"
    with contextlib.suppress(mlflow.exceptions.MlflowException, OSError):
        run.set_tags({"error": message[:5000]})
        run.log_text(message + "\n", "error.txt")
    run.client.set_terminated(run.run_id, status=status)


def log_outcome(run: TrackedRun, outcome: RunOutcome, dataset: Dataset) -> None:
    """Log the final scores, the report artifacts and the fitted pipeline."""
    run.log_metrics(final_metrics(outcome))
    log_reports(run, outcome, dataset.y_test, dataset.class_names)
    log_pipeline(run, outcome.pipeline, dataset.X_test)


def final_metrics(outcome: RunOutcome) -> dict[str, float]:
    """Test-set scores, per-class F1, fit time and weight count as metric values."""
    test = outcome.test
    metrics = {
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "test_macro_f1": test.macro_f1,
        "fit_seconds": outcome.fit_seconds,
        "n_weights": outcome.n_weights,
    }
    for name, value in test.per_class_f1.items():
        metrics[f"test_f1_{metric_safe(name)}"] = value
    return metrics


def log_reports(run: TrackedRun, outcome: RunOutcome, y_true, class_names) -> None:
    """Confusion matrix, classification report, confused pairs, curves, model summary."""
    y_pred = outcome.test.y_pred
    table = reports.confusion_matrix_table(y_true, y_pred, class_names)
    run.log_text(table.to_csv(), "confusion_matrix.csv")
    run.log_bytes(
        reports.confusion_matrix_png(y_true, y_pred, class_names, title="Test set"),
        "confusion_matrix.png",
    )
    run.log_text(
        reports.classification_report_text(y_true, y_pred, class_names),
        "classification_report.txt",
    )
    pairs = reports.most_confused_pairs(y_true, y_pred, class_names)
    run.log_text(pairs.to_csv(index=False), "most_confused_pairs.csv")
    run.log_bytes(reports.learning_curves_png(outcome.history), "learning_curves.png")
    model = classifier_of(outcome.pipeline).model_
    run.log_text(reports.model_summary_text(model), "model_summary.txt")


def log_pipeline(run: TrackedRun, pipeline, X_example) -> None:
    """Save the fitted pipeline as an MLflow model with signature and input example.

    The model is created in the run's experiment explicitly (MLflow would otherwise
    use the process-wide current experiment), and its requirements are the versions
    installed here rather than inferred by reloading the model in a subprocess.
    """
    example = np.asarray(X_example[:5])
    signature = infer_signature(example, pipeline.predict(example))
    experiment = run.client.get_run(run.run_id).info.experiment_id
    model = run.client.create_logged_model(experiment, name="model", source_run_id=run.run_id)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mlflow.sklearn.log_model(
            pipeline,
            name="model",
            model_id=model.model_id,
            run_id=run.run_id,
            signature=signature,
            input_example=example,
            pip_requirements=model_requirements(),
            code_paths=[str(Path(estimators.__file__).parent)],
            # skops cannot serialise the Keras model inside scikeras' wrapper.
            serialization_format=mlflow.sklearn.SERIALIZATION_FORMAT_CLOUDPICKLE,
        )


def model_requirements() -> list[str]:
    """Pinned requirements for loading a logged pipeline elsewhere."""
    versions = package_versions()
    needed = ("keras", keras.backend.backend(), "scikit-learn", "scikeras", "scikit-image")
    needed += ("numpy", "mlflow", "cloudpickle")
    return [f"{name}=={versions[name]}" for name in needed if name in versions]


def metric_safe(name: str) -> str:
    """``name`` with characters MLflow rejects in metric keys replaced by ``-``."""
    return re.sub(r"[^0-9A-Za-z_\-. ]", "-", name)


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:6000]


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _now_ms() -> int:
    return int(time.time() * 1000)

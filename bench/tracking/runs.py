"""An MLflow run's life: opened with its tags, written to by id, always closed.

A run is closed FINISHED, FAILED (with the error in its ``error`` tag and
``error.txt``) or KILLED (Ctrl-C, SIGTERM) whatever happens; a run left RUNNING by a
killed process is closed by the next invocation on the same host.
"""

from __future__ import annotations

import contextlib
import functools
import json
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import mlflow
from mlflow.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

from bench.errors import TrackingError
from bench.runtime import environment
from bench.runtime.interrupts import interruption
from bench.runtime.processes import process_is_gone, slurm_job, this_process
from bench.tracking import vocabulary
from bench.tracking.store import experiment_id, open_client
from bench.tracking.views import update_runs_view

_DIGEST_LENGTH = 16  # MLflow stores a dataset digest in at most 36 characters


@dataclass(frozen=True)
class DatasetRecord:
    """One split of data as a run used it, for :meth:`TrackedRun.log_datasets`.

    Parameters
    ----------
    name : str
        The dataset, e.g. ``"mnist"``.
    digest : str
        Names exactly these images (hex); MLflow keeps the first 16 characters.
    source : str
        Where the data came from: a folder, or ``scikit-learn load_digits``.
    context : str
        ``"training"``, ``"validation"`` or ``"test"``.
    profile : dict
        What the UI shows about it: rows, image shape.
    source_type : str
        ``"local"`` for files on this machine, else ``"code"``.
    """

    name: str
    digest: str
    source: str
    context: str
    profile: dict[str, Any] = field(default_factory=dict)
    source_type: str = "local"


class TrackedRun:
    """One MLflow run, written to through its id.

    Use :func:`tracked_run` to open one: it closes the run with the status that
    matches what happened.
    """

    def __init__(self, client: MlflowClient, run_id: str, experiment_id: str):
        self.client = client
        self.run_id = run_id
        self.experiment_id = experiment_id

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log ``params`` (values shown as text); MLflow batches them."""
        items = [Param(key, _param_text(value)) for key, value in params.items()]
        self.client.log_batch(self.run_id, params=items)

    def log_metrics(self, metrics: Mapping[str, float], step: int = 0) -> None:
        """Log numeric ``metrics`` at ``step``."""
        now = int(time.time() * 1000)
        batch = [Metric(key, float(value), now, step) for key, value in metrics.items()]
        self.client.log_batch(self.run_id, metrics=batch)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values shown as text), in one request."""
        items = [RunTag(key, str(value)) for key, value in tags.items()]
        self.client.log_batch(self.run_id, tags=items)

    def log_text(self, text: str, path: str) -> None:
        """Save ``text`` as the artifact ``path``."""
        self.client.log_text(self.run_id, text, path)

    def log_dict(self, data: Mapping[str, Any], path: str) -> None:
        """Save ``data`` as the JSON (or YAML) artifact ``path``."""
        self.client.log_dict(self.run_id, dict(data), path)

    def log_datasets(self, datasets: Sequence[DatasetRecord]) -> None:
        """Record the data the run used as MLflow datasets, each in its context
        (``training``, ``validation``, ``test``), for the UI's Dataset column."""
        inputs = [
            DatasetInput(
                Dataset(
                    name=record.name,
                    digest=record.digest[:_DIGEST_LENGTH],
                    source_type=record.source_type,
                    source=json.dumps({"uri": record.source}),
                    profile=json.dumps(record.profile),
                ),
                tags=[InputTag(MLFLOW_DATASET_CONTEXT, record.context)],
            )
            for record in datasets
        ]
        self.client.log_inputs(self.run_id, datasets=inputs)

    def log_figure(self, figure, path: str) -> None:
        """Save a matplotlib ``figure`` as the artifact ``path``, then free it."""
        from matplotlib import pyplot

        try:
            self.client.log_figure(self.run_id, figure, path)
        finally:
            # Figures drawn through pyplot (Optuna's) stay registered until closed;
            # a long study would accumulate them.
            pyplot.close(figure)


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

    Besides ``tags`` the run gets MLflow's standard context tags (user, source file,
    git commit), which the MLflow UI shows, and the process that opened it.

    Raises
    ------
    TrackingError
        If the tracking store cannot be reached.
    """
    client = client or open_client()
    try:
        exp_id = experiment_id(client, experiment)
        all_tags = {**standard_tags(), **{key: str(value) for key, value in tags.items()}}
        all_tags[vocabulary.WORKER] = this_process()
        all_tags |= _slurm_tags()
        if parent_run_id:
            all_tags[vocabulary.PARENT] = parent_run_id
        run_id = client.create_run(exp_id, run_name=run_name, tags=all_tags).info.run_id
    except mlflow.exceptions.MlflowException as error:
        raise TrackingError(
            f"cannot write to MLflow at {client.tracking_uri}: {_first_line(error)}; "
            "check MLFLOW_TRACKING_URI"
        ) from error
    run = TrackedRun(client, run_id, exp_id)
    try:
        yield run
    except BaseException as error:
        # Cut off by Ctrl-C or SIGTERM, whatever the library it landed in made of it.
        stop = interruption(error)
        if stop is None:
            record_failure(run, error)
            _show_in_runs_view(run)
            raise
        # Nothing more once stopped: SLURM and our own stop wait allow seconds; the
        # next `bench ui` or run brings the view up to date.
        client.set_terminated(run_id, status="KILLED")
        if stop is error:
            raise
        raise stop from error
    else:
        client.set_terminated(run_id, status="FINISHED")
        _show_in_runs_view(run)


def _slurm_tags() -> dict[str, str]:
    """Which SLURM job and array task opened the run, so that the MLflow UI tells the
    tasks of a job array apart; none outside SLURM."""
    job, task = slurm_job()
    tags = {vocabulary.SLURM_JOB: job} if job else {}
    return tags | ({vocabulary.SLURM_TASK: task} if task else {})


def _show_in_runs_view(run: TrackedRun) -> None:
    """Bring the experiment's runs view up to date with the run just closed; a view
    that cannot be written is not worth failing a run for."""
    with contextlib.suppress(mlflow.exceptions.MlflowException, OSError):
        update_runs_view(run.client, run.experiment_id)


def provenance_tags(command: str | None = None) -> dict[str, str]:
    """Tags that say what ran on which software: the Keras backend, package versions,
    this code's git commit (``-dirty`` with local changes) and the command line."""
    tags = {"keras_backend": environment.keras_backend()}
    tags.update({f"version.{name}": v for name, v in environment.package_versions().items()})
    commit = environment.git_commit()
    if commit:
        tags["git_commit"] = commit
    if command:
        tags["command"] = command
    return tags


@functools.cache
def standard_tags() -> dict[str, str]:
    """MLflow's own context tags for runs of this process, as ``mlflow.start_run`` sets
    them: ``mlflow.user``, ``mlflow.source.name``, ``mlflow.source.type`` and, in a git
    checkout, ``mlflow.source.git.commit``. Resolved once: the git lookup takes time."""
    return resolve_tags()


def record_failure(run: TrackedRun, error: BaseException) -> None:
    """Close ``run`` as FAILED (KILLED for SystemExit) with the error's message."""
    status = "KILLED" if isinstance(error, SystemExit) else "FAILED"
    message = f"{type(error).__name__}: {error}"
    with contextlib.suppress(mlflow.exceptions.MlflowException, OSError):
        run.set_tags({vocabulary.ERROR: message[:5000]})
        run.log_text(message + "\n", "error.txt")
    run.client.set_terminated(run.run_id, status=status)


def close_orphaned_runs(client: MlflowClient, experiment: str | None) -> list[str]:
    """Close as FAILED the RUNNING runs of ``experiment`` (of every experiment, for
    None) whose process has vanished.

    A process killed with SIGKILL (or a machine that lost power) cannot close its
    runs; the next invocation on the same host does. Returns the run ids closed.
    """
    closed = []
    for run in _running_runs(client, experiment):
        worker = run.data.tags.get(vocabulary.WORKER, "")
        if worker and process_is_gone(worker):
            message = f"worker process {worker} ended without closing this run (killed?)"
            close_orphan(client, run.info.run_id, message)
            closed.append(run.info.run_id)
    return closed


def close_runs_of(client: MlflowClient, experiment: str, worker: str, message: str) -> list[str]:
    """Close as KILLED, with ``message``, the RUNNING runs of ``experiment`` that the
    process ``worker`` (host:pid:start) opened: one this process stopped and then
    had to kill. Returns the run ids closed."""
    closed = []
    for run in _running_runs(client, experiment):
        if run.data.tags.get(vocabulary.WORKER) == worker:
            close_orphan(client, run.info.run_id, message, status="KILLED")
            closed.append(run.info.run_id)
    return closed


def close_orphan(client: MlflowClient, run_id: str, message: str, status: str = "FAILED") -> None:
    """Close as ``status``, with ``message``, a run its process could not close; a run
    already closed is left as it is."""
    if client.get_run(run_id).info.status != "RUNNING":
        return
    with contextlib.suppress(mlflow.exceptions.MlflowException, OSError):
        client.set_tag(run_id, vocabulary.ERROR, message)
        client.log_text(run_id, message + "\n", "error.txt")
    client.set_terminated(run_id, status=status)


def _running_runs(client: MlflowClient, experiment: str | None) -> list:
    if experiment is None:
        ids = [found.experiment_id for found in client.search_experiments(max_results=1000)]
    else:
        found = client.get_experiment_by_name(experiment)
        ids = [] if found is None else [found.experiment_id]
    if not ids:
        return []
    return client.search_runs(ids, filter_string="attributes.status = 'RUNNING'", max_results=1000)


def _param_text(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text[:6000]


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__

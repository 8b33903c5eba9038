"""The MLflow UI on bench's store, and the addresses of what is in it.

MLflow 3 opens an experiment on a GenAI overview page (traces, token costs: empty
for bench), and bench cannot change that; so it prints the addresses of the pages a
user wants instead: a run's page and the experiment's runs view.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import sys
from pathlib import Path

from mlflow.entities import Run
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID

from bench.runtime.servers import Server, answers_ok, free_port, serve_on_free_port, start_server
from bench.tracking.store import absolute_uri, database_url, tracking_uri
from bench.tracking.views import VIEW_KEY

DEFAULT_UI_PORT = 5000
UI_RECORD = "ui.json"  # beside the store: where `bench ui` serves it, while it does
_SQLITE = "sqlite:///"


def store_file(uri: str) -> Path:
    """The file of a local SQLite store (absolute)."""
    return Path(absolute_uri(uri).removeprefix(_SQLITE))


def experiments_and_latest_runs(uri: str) -> list[tuple[str, str, Run]]:
    """``(name, id, latest run)`` of every experiment in the store that has runs, the
    one whose latest run started last first. The latest run is the most recently
    started top-level run (a ``bench run``, a study's or repeats' parent), not a trial
    or seed inside one: those are found from their parent's page. An experiment whose
    newest runs are all trials or seeds shows the parent of the newest."""
    from bench.tracking.store import open_client

    client = open_client(uri)
    found = []
    for experiment in client.search_experiments():
        runs = client.search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=200
        )
        if not runs:
            continue
        top = [run for run in runs if MLFLOW_PARENT_RUN_ID not in run.data.tags]
        latest = top[0] if top else client.get_run(runs[0].data.tags[MLFLOW_PARENT_RUN_ID])
        found.append((experiment.name, experiment.experiment_id, latest))
    return sorted(found, key=lambda each: each[2].info.start_time or 0, reverse=True)


def is_server(uri: str) -> bool:
    """Whether ``uri`` is a tracking server (which serves its own UI)."""
    return uri.startswith(("http://", "https://"))


def ui_command(uri: str, port: int = DEFAULT_UI_PORT) -> str:
    """The command that opens the MLflow UI on ``uri``, bound to this machine only."""
    if is_server(uri):
        return f"open {uri} in a browser"
    return f"mlflow ui --backend-store-uri {absolute_uri(uri)} --host 127.0.0.1 --port {port}"


def ui_address(uri: str, port: int = DEFAULT_UI_PORT) -> str:
    """Where the UI of ``uri`` is: the tracking server itself, or ``bench ui``'s."""
    return uri.rstrip("/") if is_server(uri) else f"http://127.0.0.1:{port}"


def ui_showing(uri: str, run_id: str) -> str | None:
    """The address of a UI that shows run ``run_id`` of the local store ``uri`` now:
    the ``bench ui`` recorded beside the store, else one on the default port (``mlflow
    ui`` started by hand). None if neither answers with that run: a UI on another
    store, or another program on the port, does not count."""
    candidates = [recorded_ui(uri), ui_address(uri)]
    for base in dict.fromkeys(address for address in candidates if address):
        if answers_ok(f"{base}/api/2.0/mlflow/runs/get?run_id={run_id}"):
            return base
    return None


def ui_port_to_start() -> int:
    """The port to suggest for a UI not running yet: the default, if free."""
    return free_port(DEFAULT_UI_PORT)


def record_ui(uri: str, server: Server) -> Path:
    """Note beside the store ``uri`` that ``server`` (this process's) serves it, so that
    a ``bench run`` meanwhile prints addresses on its port. Returns the file."""
    path = store_file(uri).parent / UI_RECORD
    path.write_text(json.dumps({"address": server.address, "pid": os.getpid()}) + "\n")
    return path


def forget_ui(uri: str) -> None:
    """Remove the note of :func:`record_ui`, if this process wrote it (a second ``bench
    ui`` on the store may have written its own since)."""
    path = store_file(uri).parent / UI_RECORD
    with contextlib.suppress(OSError, ValueError):
        if json.loads(path.read_text()).get("pid") == os.getpid():
            path.unlink()


def recorded_ui(uri: str) -> str | None:
    """The address :func:`record_ui` noted beside the store ``uri``, if any; whether it
    still answers is for the caller to ask."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        address = json.loads((store_file(uri).parent / UI_RECORD).read_text()).get("address")
        return address if isinstance(address, str) else None
    return None


def run_address(base: str, experiment_id: str, run_id: str) -> str:
    """The page of one run."""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def runs_view_address(base: str, experiment_id: str) -> str:
    """The experiment's table of runs (its "Model training" view) with bench's columns
    and order (see :mod:`bench.tracking.views`)."""
    query = f"workflowType=machine_learning&viewStateShareKey={VIEW_KEY}"
    return f"{base}/#/experiments/{experiment_id}/runs?{query}"


def start_ui(uri: str | None = None, port: int | None = None) -> Server:
    """The MLflow UI on ``uri`` (default: bench's store), on 127.0.0.1.

    A ``port`` given is used, or refused if in use; without one the default (5000) is
    used if free, else a free one. Returns once the UI answers.

    Raises
    ------
    UsageError
        If ``port`` is in use.
    BenchError
        If the UI exits or does not answer.
    """
    uri = absolute_uri(uri or tracking_uri())

    def start(port: int) -> Server:
        words = shlex.split(ui_command(uri, port))
        # The same MLflow as bench's, whether or not the environment's bin is on PATH.
        command = [sys.executable, "-m", "mlflow", *words[1:]]
        return start_server(
            "MLflow UI",
            command,
            f"http://127.0.0.1:{port}",
            health_path="/health",
            env=without_job_workers(),
        )

    return serve_on_free_port(start, port, DEFAULT_UI_PORT)


def start_tracking_server(
    backend_uri: str, artifacts: str | Path, *, host: str = "127.0.0.1", port: int | None = None
) -> Server:
    """MLflow's own tracking server on ``backend_uri`` (e.g. PostgreSQL), serving its
    UI and proxying artifacts into the folder ``artifacts``, so that workers on other
    machines need nothing but its address.

    MLflow's Host-header check stays on: requests must name this server by ``host``
    (or 127.0.0.1 / localhost).

    A ``port`` given is used, or refused if in use; without one the default (5000) is
    used if free, else a free one.

    Raises
    ------
    UsageError
        For a PostgreSQL URL without a driver installed, or a ``port`` in use.
    BenchError
        If the server exits or does not answer.
    """
    folder = Path(artifacts).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    backend = database_url(backend_uri)

    def start(port: int) -> Server:
        names = dict.fromkeys([host, "127.0.0.1", "localhost"])
        command = [
            sys.executable,
            "-m",
            "mlflow",
            "server",
            "--backend-store-uri",
            backend,
            "--artifacts-destination",
            str(folder),
            "--host",
            host,
            "--port",
            str(port),
            "--allowed-hosts",
            ",".join(f"{name}:{port}" for name in names),
        ]
        address = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
        return start_server(
            "MLflow tracking server",
            command,
            address,
            health_path="/health",
            env=without_job_workers(),
        )

    return serve_on_free_port(start, port, DEFAULT_UI_PORT, host)


def without_job_workers() -> dict[str, str]:
    """This environment, with MLflow's background job workers off unless asked for.

    MLflow 3 starts seven job-worker processes with its server, for GenAI features
    bench does not use; without them the UI answered in 13 s instead of 38 s on a busy
    2-core machine, with 7 processes instead of 15.
    """
    return {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}

"""The MLflow UI on bench's store, and the addresses of what is in it.

MLflow 3 opens an experiment on a GenAI overview page (traces, token costs: empty
for bench), and bench cannot change that; so it prints the addresses of the pages a
user wants instead: a run's page and the experiment's runs view.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from bench.servers import Server, free_port, start_server
from bench.tracking.store import absolute_uri, database_url, tracking_uri

DEFAULT_UI_PORT = 5000
_SQLITE = "sqlite:///"


def store_file(uri: str) -> Path:
    """The file of a local SQLite store (absolute)."""
    return Path(absolute_uri(uri).removeprefix(_SQLITE))


def experiments_and_latest_runs(uri: str) -> list[tuple[str, str, object]]:
    """``(name, id, latest run)`` of every experiment in the store that has runs, newest
    first. The latest run is the latest top-level one (a study's or repeats' parent, a
    ``bench run``), not the last trial or seed inside it."""
    from bench.tracking.store import open_client

    client = open_client(uri)
    found = []
    for experiment in client.search_experiments(order_by=["last_update_time DESC"]):
        runs = client.search_runs(
            [experiment.experiment_id], order_by=["attributes.start_time DESC"], max_results=200
        )
        top = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
        if runs:
            found.append((experiment.name, experiment.experiment_id, (top or runs)[0]))
    return found


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


def run_address(base: str, experiment_id: str, run_id: str) -> str:
    """The page of one run."""
    return f"{base}/#/experiments/{experiment_id}/runs/{run_id}"


def runs_view_address(base: str, experiment_id: str) -> str:
    """The experiment's table of runs (its "Model training" view)."""
    return f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def start_ui(uri: str | None = None, port: int | None = None) -> Server:
    """The MLflow UI on ``uri`` (default: bench's store), on 127.0.0.1.

    ``port`` (default 5000) is used if free, else a free one. Returns once the UI
    answers.

    Raises
    ------
    BenchError
        If the UI exits or does not answer.
    """
    uri = absolute_uri(uri or tracking_uri())
    port = free_port(port or DEFAULT_UI_PORT)
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


def start_tracking_server(
    backend_uri: str, artifacts: str | Path, *, host: str = "127.0.0.1", port: int | None = None
) -> Server:
    """MLflow's own tracking server on ``backend_uri`` (e.g. PostgreSQL), serving its
    UI and proxying artifacts into the folder ``artifacts``, so that workers on other
    machines need nothing but its address.

    MLflow's Host-header check stays on: requests must name this server by ``host``
    (or 127.0.0.1 / localhost).

    Raises
    ------
    UsageError
        For a PostgreSQL URL without a driver installed.
    BenchError
        If the server exits or does not answer.
    """
    port = free_port(port or DEFAULT_UI_PORT, host if host != "0.0.0.0" else "127.0.0.1")
    folder = Path(artifacts).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    allowed = ",".join(f"{name}:{port}" for name in dict.fromkeys([host, "127.0.0.1", "localhost"]))
    command = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        database_url(backend_uri),
        "--artifacts-destination",
        str(folder),
        "--host",
        host,
        "--port",
        str(port),
        "--allowed-hosts",
        allowed,
    ]
    address = f"http://{'127.0.0.1' if host == '0.0.0.0' else host}:{port}"
    return start_server(
        "MLflow tracking server", command, address, health_path="/health", env=without_job_workers()
    )


def without_job_workers() -> dict[str, str]:
    """This environment, with MLflow's background job workers off unless asked for.

    MLflow 3 starts seven job-worker processes with its server, for GenAI features
    bench does not use; without them the UI answered in 13 s instead of 38 s on a busy
    2-core machine, with 7 processes instead of 15.
    """
    return {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **os.environ}

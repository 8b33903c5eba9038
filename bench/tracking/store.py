"""The MLflow store: where it is, a client on it, and the experiments in it.

Runs are handled through an explicit ``MlflowClient`` and run id, never MLflow's
global "active run", so concurrent runs in one process cannot cross.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import os
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import TypeAlias, cast

import mlflow
import tenacity
from filelock import FileLock
from mlflow.tracking import MlflowClient

from bench.errors import TrackingError, UsageError
from bench.runtime.interrupts import interrupts_held

#: The type of the clients :func:`open_client` returns (MLflow's API, its calls retried
#: while SQLite is locked), named here so that layers which may not import ``mlflow``
#: can annotate what they are handed.
Client: TypeAlias = MlflowClient

DEFAULT_STORE_DIR = Path("mlruns")
DEFAULT_DB = DEFAULT_STORE_DIR / "mlflow.db"
_SQLITE = "sqlite:///"

# With several `bench study` processes on one SQLite store, a writer can find the
# file locked by another for longer than SQLite's own timeout.
_retry_while_locked = tenacity.retry(
    retry=tenacity.retry_if_exception(lambda error: "database is locked" in str(error)),
    wait=tenacity.wait_exponential(multiplier=0.05, max=6.4),
    stop=tenacity.stop_after_attempt(8),
    reraise=True,
)


def tracking_uri() -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else the SQLite store ``./mlruns/mlflow.db``."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"{_SQLITE}{DEFAULT_DB.as_posix()}"


def absolute_uri(uri: str) -> str:
    """``uri`` with a relative SQLite path made absolute, so it works from any folder."""
    if uri.startswith(_SQLITE) and not uri.startswith(_SQLITE + "/"):
        return _SQLITE + str(Path(uri.removeprefix(_SQLITE)).resolve())
    return uri


def database_url(url: str) -> str:
    """``url`` with the PostgreSQL driver named that is installed (psycopg 3 first;
    SQLAlchemy reads a plain ``postgresql://`` as psycopg2). Other URLs are returned
    as they are.

    Raises
    ------
    UsageError
        If the URL is PostgreSQL's and neither driver is installed.
    """
    scheme, _, rest = url.partition("://")
    if scheme not in ("postgresql", "postgres"):
        return url
    if importlib.util.find_spec("psycopg") is not None:
        return f"postgresql+psycopg://{rest}"
    if importlib.util.find_spec("psycopg2") is not None:
        return f"postgresql+psycopg2://{rest}"
    raise UsageError(
        "no PostgreSQL driver is installed for postgresql://... URLs; install the extra: "
        "pip install -e '.[postgres]'"
    )


def quiet_mlflow() -> None:
    """Keep MLflow's own log lines and warnings out of the user's terminal."""
    for name in ("mlflow", "alembic", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # Against a tracking server MLflow writes "View run ... at" to stdout as each run
    # ends: a study's terminal (or a SLURM job's output) filled with two lines a trial.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    warnings.filterwarnings("ignore", module=r"mlflow(\.|$)")


def open_client(uri: str | None = None) -> MlflowClient:
    """A client on ``uri`` (default :func:`tracking_uri`), creating the local store.

    Raises
    ------
    TrackingError
        If ``uri`` is a tracking server that does not answer.
    """
    uri = uri or tracking_uri()
    if uri.startswith(("http://", "https://")):
        check_server(uri)
    # mlflow.sklearn.log_model resolves run ids through the process-wide URI.
    mlflow.set_tracking_uri(uri)
    if not uri.startswith(_SQLITE):
        return _retrying(MlflowClient(tracking_uri=uri))
    database = Path(uri.removeprefix(_SQLITE))
    database.parent.mkdir(parents=True, exist_ok=True)
    # MLflow creates and migrates the schema when the client is made: two commands
    # started together on a fresh ./mlruns (--jobs, several terminals) would run the
    # migrations at once and break them, so one process at a time does it.
    with FileLock(database.parent / ".mlflow.db.lock"):
        return _retrying(MlflowClient(tracking_uri=uri))


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


def _retrying(client: MlflowClient) -> MlflowClient:
    # The proxy answers every call MlflowClient does, so it is typed as one.
    return cast(MlflowClient, _LockRetryingClient(client))


class _LockRetryingClient:
    """An ``MlflowClient`` whose calls are retried while SQLite reports "database is
    locked" (see ``_retry_while_locked``), each try whole: a Ctrl-C or SIGTERM that
    arrives during one is raised when it returns (see
    :func:`bench.runtime.interrupts.interrupts_held`)."""

    def __init__(self, client: MlflowClient):
        self._client = client

    def __getattr__(self, name: str):
        attribute = getattr(self._client, name)
        return _retry_while_locked(_whole(attribute)) if callable(attribute) else attribute


def _whole(call):
    @functools.wraps(call)
    def held(*args, **kwargs):
        with interrupts_held():
            return call(*args, **kwargs)

    return held


def experiment_id(client: MlflowClient, name: str) -> str:
    """Id of experiment ``name``, created if missing (artifacts under ``./mlruns``)."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    if client.tracking_uri.startswith(_SQLITE):
        store = Path(client.tracking_uri.removeprefix(_SQLITE)).parent.resolve()
        location = (store / "artifacts").as_uri()
    try:
        return client.create_experiment(name, artifact_location=location)
    except mlflow.exceptions.MlflowException as error:
        # Several machines starting the same study on one tracking server all find the
        # experiment missing; the first creates it, the others use that one.
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
        existing = client.get_experiment_by_name(name)
        assert existing is not None  # creating it failed because it exists
        return existing.experiment_id

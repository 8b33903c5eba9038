"""Shared test set-up: quiet libraries, throwaway stores, the real datasets where a
machine has them, and ``python -m bench`` as a user runs it."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.runtime.backend import share_cores, usable_cores

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
# Each pytest-xdist worker (and the `bench` processes it starts) gets its share of the
# cores, as `bench study --jobs` gives its workers: TensorFlow otherwise sizes its
# thread pools to every core in every process, and they fight over them.
share_cores(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))
# For the same reason a study here runs one trial at a time unless its test asks for
# more (the default, one per core, is tested on its own with this variable removed).
os.environ.setdefault("BENCH_JOBS", "1")

# The shared folder next to the checkout, as on the development machines.
SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
MNIST_FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def pytest_xdist_auto_num_workers(config) -> int:
    """``-n auto``: one worker more than the cores. Part of the suite waits on the
    processes and servers it starts: measured on 2 cores, two workers kept them 89%
    busy, three 94%."""
    return usable_cores() + 1


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Run in ``tmp_path`` with the default store (./mlruns/mlflow.db) there."""
    monkeypatch.chdir(tmp_path)
    # The default store's file, named absolutely: MLflow keeps one store (and one
    # SQLAlchemy engine) per URI text for the life of the process, so with the default's
    # relative text a test would write into an earlier test's folder.
    store = tmp_path / "mlruns" / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    return store


@pytest.fixture(scope="session")
def data_root() -> Path:
    """``$BENCH_DATA_DIR`` if set, else the shared datasets folder (may lack files)."""
    return Path(os.environ.get("BENCH_DATA_DIR", SHARED_DATASETS))


@pytest.fixture(scope="session")
def mnist_root(data_root) -> Path:
    """The folder holding ``mnist/``; skips the test where MNIST is not on this machine."""
    for name in MNIST_FILES:
        if not any((data_root / "mnist" / f"{name}{suffix}").is_file() for suffix in ("", ".gz")):
            pytest.skip(f"no MNIST file {name}[.gz] in {data_root / 'mnist'}")
    return data_root


def bench_environment(**extra: str) -> dict[str, str]:
    """The environment of a ``python -m bench`` child: this one, with its store local."""
    env = {key: value for key, value in os.environ.items() if key != "MLFLOW_TRACKING_URI"}
    # Without MLFLOW_TRACKING_URI the child's store lands in its working folder.
    return {**env, "PYTHONUNBUFFERED": "1", **extra}


@pytest.fixture(scope="session")
def bench_command():
    """``bench_command(*args, cwd=..., timeout=600, **env)``: run ``python -m bench``
    in a fresh process, as a user would, and return the completed process."""

    def run(*args: str, cwd, timeout: float = 600, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "bench", *args],
            cwd=cwd,
            env=bench_environment(**env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture(scope="session")
def child_environment():
    """``child_environment(**extra)``: the environment for a ``python -m bench`` child
    started by the test itself (``subprocess.Popen``)."""
    return bench_environment


@pytest.fixture(scope="session")
def stored_trials():
    """``stored_trials(cwd, study_name="digits-mlp")``: the trials of a study in
    ``cwd/mlruns/optuna.journal``, or [] before it exists."""

    def read(cwd: Path, study_name: str = "digits-mlp"):
        import optuna

        from studies.storage import open_storage

        journal = cwd / "mlruns" / "optuna.journal"
        if not journal.exists():
            return []
        try:
            study = optuna.load_study(study_name=study_name, storage=open_storage(str(journal)))
        except KeyError:  # the study is not created yet
            return []
        return study.get_trials(deepcopy=False)

    return read


@pytest.fixture(scope="session")
def trial_marks():
    """Why each trial of the study in ``cwd/mlruns`` is no result of the search
    (``studies.stale.marks_of``: stale, interrupted, surplus), by trial number."""

    def read(cwd: Path, study_name: str = "digits-mlp") -> dict[int, dict]:
        import optuna

        from studies.stale import marks_of
        from studies.storage import open_storage

        journal = cwd / "mlruns" / "optuna.journal"
        study = optuna.load_study(study_name=study_name, storage=open_storage(str(journal)))
        return {trial.number: marks_of(study, trial) for trial in study.get_trials()}

    return read


@pytest.fixture(scope="session")
def study_runs():
    """``study_runs(cwd, experiment="digits-mlp study")``: (client, runs) of an
    experiment in ``cwd/mlruns/mlflow.db``."""

    def read(cwd: Path, experiment: str = "digits-mlp study"):
        from mlflow.tracking import MlflowClient

        client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
        found = client.get_experiment_by_name(experiment)
        return client, client.search_runs([found.experiment_id], max_results=1000)

    return read


def _reachable(url: str) -> bool:
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=5):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def postgres_url() -> str:
    """A real PostgreSQL database for Optuna (``BENCH_TEST_POSTGRES``, which .ci/run
    sets with `.ci/servers start`); the test skips where there is none."""
    url = os.environ.get("BENCH_TEST_POSTGRES")
    if not url:
        pytest.skip("no PostgreSQL: set BENCH_TEST_POSTGRES (`eval $(.ci/servers start DIR)`)")
    try:
        import psycopg

        psycopg.connect(url, connect_timeout=5).close()
    except Exception as error:  # any failure to connect means: no server to test against
        pytest.skip(f"PostgreSQL at {url} is not reachable: {error}")
    return url


@pytest.fixture(scope="session")
def tracking_server() -> str:
    """A real MLflow tracking server (``BENCH_TEST_MLFLOW``, set by .ci/run); the test
    skips where there is none."""
    url = os.environ.get("BENCH_TEST_MLFLOW")
    if not url:
        pytest.skip("no MLflow tracking server: set BENCH_TEST_MLFLOW (`.ci/servers start`)")
    if not _reachable(f"{url}/health"):
        pytest.skip(f"MLflow tracking server {url} is not reachable")
    return url

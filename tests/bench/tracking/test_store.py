"""The MLflow store: created once when several processes open it together; SQLite's
"database is locked" retried; the local store's artifacts under ./mlruns."""

import sqlite3
import subprocess
import sys

import pytest

from bench.tracking.store import _LockRetryingClient, experiment_id, open_client, tracking_uri


@pytest.mark.slow
def test_commands_started_together_on_a_fresh_store_all_open_it(tmp_path, child_environment):
    # Without the store lock MLflow's schema migrations run at once and most fail.
    code = "from bench.tracking.store import open_client; open_client().search_experiments()"
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=tmp_path,
            env=child_environment(),
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    errors = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], errors


def test_locked_database_is_retried_and_other_errors_are_not():
    class Flaky:
        calls = 0

        def search(self):
            self.calls += 1
            if self.calls < 3:
                raise sqlite3.OperationalError("database is locked")
            return "found"

        def broken(self):
            self.calls += 1
            raise sqlite3.OperationalError("no such table: runs")

    flaky = Flaky()
    assert _LockRetryingClient(flaky).search() == "found"
    assert flaky.calls == 3
    flaky.calls = 0
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        _LockRetryingClient(flaky).broken()
    assert flaky.calls == 1


def test_default_store_is_local_sqlite_with_artifacts_beside_it(mlflow_store, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI")  # the fixture names the same file absolutely
    assert tracking_uri() == "sqlite:///mlruns/mlflow.db"
    client = open_client()
    location = client.get_experiment(experiment_id(client, "here")).artifact_location
    assert location == (mlflow_store.parent / "artifacts").resolve().as_uri()


def test_postgresql_urls_name_the_installed_driver():
    from bench.tracking.store import database_url

    assert database_url("postgresql://bench@db/optuna") == "postgresql+psycopg://bench@db/optuna"
    assert database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_a_missing_postgresql_driver_is_one_line_naming_the_extra(monkeypatch):
    import importlib.util

    from bench.errors import UsageError
    from bench.tracking.store import database_url

    # This machine has psycopg; a user's may have neither driver.
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(UsageError, match=r"pip install -e '\.\[postgres\]'"):
        database_url("postgresql://bench@db/optuna")


def test_an_experiment_created_by_another_machine_meanwhile_is_used(tmp_path):
    from mlflow import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"

    class LateLookup(MlflowClient):
        """Finds the experiment missing, as a machine does that looked just before
        another one created it."""

        def get_experiment_by_name(self, name):
            if not getattr(self, "looked", False):
                self.looked = True
                MlflowClient(uri).create_experiment(name)  # the other machine
                return None
            return super().get_experiment_by_name(name)

    found = experiment_id(LateLookup(uri), "digits-mlp study")
    assert found == MlflowClient(uri).get_experiment_by_name("digits-mlp study").experiment_id

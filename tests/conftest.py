"""Shared test set-up: quiet libraries, and a throwaway MLflow store per test."""

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture
def mlflow_store(tmp_path, monkeypatch):
    """Run in ``tmp_path`` with the default store (./mlruns/mlflow.db) there."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path / "mlruns" / "mlflow.db"

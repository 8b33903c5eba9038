"""Where a study lives: the journal file next to the MLflow store, or a database
(PostgreSQL for studies that span machines)."""

from __future__ import annotations

import warnings
from pathlib import Path

import optuna
import optuna.storages.journal
import tenacity

from bench.runtime.environment import seconds_setting
from bench.tracking.store import DEFAULT_STORE_DIR, database_url
from studies.stale import StaleTrialCallback

# On database storage a worker that dies (SIGKILL, a lost machine) stops beating;
# after the grace period its trial is failed and queued again once. The variables
# shorten both, for tests and impatient users.
HEARTBEAT_VARIABLE = "BENCH_HEARTBEAT_S"
GRACE_VARIABLE = "BENCH_GRACE_S"
HEARTBEAT_INTERVAL_S = 60
GRACE_PERIOD_S = 180


def default_storage() -> str:
    """The embedded study store next to the MLflow store (a journal file, which Optuna
    recommends for several processes on one machine)."""
    return str(DEFAULT_STORE_DIR / "optuna.journal")


def open_storage(url: str | None) -> optuna.storages.BaseStorage:
    """An Optuna storage: the journal file by default (or a path), else a database URL.

    Raises
    ------
    UsageError
        For a PostgreSQL URL when no PostgreSQL driver is installed.
    """
    if url is None or not url.partition("://")[1]:
        path = Path(url or default_storage())
        path.parent.mkdir(parents=True, exist_ok=True)
        # Absolute: Optuna's lock is a symlink to this path, and a relative target
        # resolves from the lock's folder; a lock left by a killed process is then
        # never seen as stale and the next process spins on it for ever.
        backend = optuna.storages.journal.JournalFileBackend(str(path.resolve()))
        return optuna.storages.JournalStorage(backend)
    return _database_storage(database_url(url))


# Processes that start together on an empty database all create Optuna's tables; all
# but one fail with "already exists", and a second try finds the tables made.
@tenacity.retry(
    retry=tenacity.retry_if_exception(lambda error: "already exists" in str(error)),
    wait=tenacity.wait_random(0.2, 1.0),
    stop=tenacity.stop_after_attempt(5),
    reraise=True,
)
def _database_storage(url: str) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():
        # The heartbeat has been "experimental" since Optuna 2.8; the warning is noise.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url,
            heartbeat_interval=seconds_setting(HEARTBEAT_VARIABLE, HEARTBEAT_INTERVAL_S),
            grace_period=seconds_setting(GRACE_VARIABLE, GRACE_PERIOD_S),
            heartbeat_stale_trial_callback=StaleTrialCallback(),
        )

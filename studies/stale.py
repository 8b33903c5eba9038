"""Trials that are not results of the search: failed, retried once, not counted.

Two kinds: a *stale* trial, whose process vanished (SIGKILL, a crash, a lost
machine), and an *interrupted* one, cut off by Ctrl-C or SIGTERM. Either is replaced
by a retry of its configuration (once) and does not count towards ``--trials``. A
trial that failed on its own (a diverging loss, an unbuildable network) is a result
and counts.

On RDB storage Optuna's heartbeat notices a dead worker; the default journal file
has no heartbeat, so each trial records its process (``bench.runtime.processes``) and a later
invocation on the same host fails the trials whose process is gone.
"""

from __future__ import annotations

import warnings

import optuna

from bench.runtime.processes import process_is_gone, this_process

WORKER_ATTR = "worker"
STALE_ATTR = "stale"
INTERRUPTED_ATTR = "interrupted"
SURPLUS_ATTR = "surplus"
RETRY_OF_ATTR = "retry_of"


def mark_worker(trial: optuna.Trial) -> None:
    """Record the process running ``trial``, for :func:`fail_stale_trials`."""
    trial.set_user_attr(WORKER_ATTR, this_process())


def fail_stale_trials(study: optuna.Study) -> list[int]:
    """Fail each RUNNING trial whose worker process on this host is gone, and queue
    its parameters again unless it was itself a retry. Returns the failed numbers."""
    failed = []
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        worker = trial.user_attrs.get(WORKER_ATTR, "")
        if not worker or not process_is_gone(worker):
            continue
        if not _fail(study, trial, STALE_ATTR, f"worker {worker} vanished"):
            continue  # another process got there first and handles the retry
        failed.append(trial.number)
        _retry_once(study, trial)
    return failed


def fail_trials_of(study: optuna.Study, worker: str, reason: str) -> list[int]:
    """Fail the RUNNING trials of the process ``worker`` (host:pid:start), which this
    process stopped with ``reason`` (SIGTERM) and then had to kill: marked interrupted,
    as the worker would have marked them, and queued again once unless the worker got
    as far as that itself. Returns the failed numbers."""
    failed = []
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    for trial in running:
        if trial.user_attrs.get(WORKER_ATTR) != worker:
            continue
        requeued = INTERRUPTED_ATTR in trial.user_attrs  # see requeue_interrupted
        if not _fail(study, trial, INTERRUPTED_ATTR, reason):
            continue
        failed.append(trial.number)
        if not requeued:
            _retry_once(study, trial)
    return failed


def requeue_interrupted(trial: optuna.Trial, reason: str) -> None:
    """Mark ``trial``, cut off by ``reason`` (Ctrl-C, SIGTERM), as no result of the
    search, and queue its configuration again unless it was itself a retry."""
    trial.set_user_attr(INTERRUPTED_ATTR, reason)
    frozen = next(t for t in trial.study.get_trials(deepcopy=False) if t.number == trial.number)
    _retry_once(trial.study, frozen)


def replaced_trials(trials: list[optuna.trial.FrozenTrial]) -> set[int]:
    """Numbers of the trials that are no results of the search, so do not count: a
    stale or interrupted trial (replaced by its retry, or by a fresh trial), one failed
    by Optuna's heartbeat and retried, and a surplus one (started by a process that
    raced another past the total, stopped before any work)."""
    marked = {
        trial.number
        for trial in trials
        if any(attr in trial.user_attrs for attr in (STALE_ATTR, INTERRUPTED_ATTR, SURPLUS_ATTR))
    }
    # Optuna's heartbeat fails a trial before its callback can mark it; the retry it
    # queues names the trial it replaces.
    retried = {
        number for trial in trials if (number := trial.system_attrs.get("failed_trial")) is not None
    }
    return marked | retried


def is_replaced(
    trial: optuna.trial.FrozenTrial, trials: list[optuna.trial.FrozenTrial] | None = None
) -> bool:
    """Whether ``trial`` is among :func:`replaced_trials` of ``trials`` (default: its
    own marks only)."""
    return trial.number in replaced_trials(trials if trials is not None else [trial])


def _retry_once(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    if RETRY_OF_ATTR in trial.user_attrs:
        return
    attrs = {RETRY_OF_ATTR: trial.number}
    if trial.user_attrs.get("baseline"):
        attrs["baseline"] = True
    # Parameters fixed by enqueue_trial (the baseline) count even where the trial
    # stopped before suggesting them all.
    params = {**trial.system_attrs.get("fixed_params", {}), **trial.params}
    study.enqueue_trial(params, user_attrs=attrs, skip_if_exists=False)


def _fail(study: optuna.Study, trial: optuna.trial.FrozenTrial, attr: str, value: str) -> bool:
    # Through the storage, not Study.tell: no public call marks a trial this process did
    # not create, and tell runs the sampler's after_trial, where a GridSampler stops the
    # study, which raises outside study.optimize (the README's private-API table).
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial._trial_id, attr, value)
        return storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False


class StaleTrialCallback:
    """What happens to a trial whose worker stopped beating (database storage, any
    host): its MLflow run is closed as FAILED, and Optuna queues its parameters again
    once (``RetryHeartbeatStaleTrialCallback``); the failed trial then does not count."""

    def __init__(self) -> None:
        with warnings.catch_warnings():  # "experimental" since Optuna 2.8
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=1)

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        # Optuna has already failed the trial, so it can no longer be marked; its retry
        # names it instead (see replaced_trials).
        worker = trial.user_attrs.get(WORKER_ATTR, "unknown")
        run_id = trial.user_attrs.get("mlflow_run_id")
        if run_id:
            close_run_as_failed(run_id, f"worker process {worker} stopped beating (killed?)")
        self._retry(study, trial)


def close_run_as_failed(run_id: str, message: str) -> None:
    """Close the MLflow run of a trial whose process is gone, with the reason."""
    from bench.tracking.runs import close_orphan
    from bench.tracking.store import open_client

    close_orphan(open_client(), run_id, message)

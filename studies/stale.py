"""Trials whose worker vanished: failed, retried once, and not counted twice.

On RDB storage Optuna's heartbeat notices a dead worker; the default journal file
has no heartbeat, so each trial records its process (``bench.processes``) and a later
invocation on the same host fails the trials whose process is gone.
"""

from __future__ import annotations

import optuna

from bench.processes import process_is_gone, this_process

WORKER_ATTR = "worker"
STALE_ATTR = "stale"
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
        if not _fail(study, trial, worker):
            continue  # another process got there first and handles the retry
        failed.append(trial.number)
        if RETRY_OF_ATTR not in trial.user_attrs:
            attrs = {RETRY_OF_ATTR: trial.number}
            if trial.user_attrs.get("baseline"):
                attrs["baseline"] = True
            # Parameters fixed by enqueue_trial (the baseline) count even where the
            # worker died before suggesting them all.
            params = {**trial.system_attrs.get("fixed_params", {}), **trial.params}
            study.enqueue_trial(params, user_attrs=attrs, skip_if_exists=False)
    return failed


def is_replaced(trial: optuna.trial.FrozenTrial) -> bool:
    """A stale trial is replaced by its retry (or by a fresh trial): not counted."""
    return STALE_ATTR in trial.user_attrs


def _fail(study: optuna.Study, trial: optuna.trial.FrozenTrial, worker: str) -> bool:
    storage = study._storage
    try:
        storage.set_trial_user_attr(trial._trial_id, STALE_ATTR, f"worker {worker} vanished")
        return storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    except optuna.exceptions.UpdateFinishedTrialError:
        return False

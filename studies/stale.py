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
from collections.abc import Mapping

import optuna

from bench.runtime.processes import process_is_gone, this_process

WORKER_ATTR = "worker"
STALE_ATTR = "stale"
INTERRUPTED_ATTR = "interrupted"
SURPLUS_ATTR = "surplus"
RETRY_OF_ATTR = "retry_of"
ENQUEUED_ATTR = "enqueued_params"
GIVEN_ATTRS = ("baseline", "known_good")  # trials enqueued with the study, not sampled
_MARKS = (STALE_ATTR, INTERRUPTED_ATTR, SURPLUS_ATTR)
# Its retried_trial_number is what reads the heartbeat's mark of a retry.
_HEARTBEAT_RETRY = optuna.storages.RetryHeartbeatStaleTrialCallback


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


def replaced_trials(
    trials: list[optuna.trial.FrozenTrial], study_attrs: Mapping[str, object] | None = None
) -> set[int]:
    """Numbers of the trials that are no results of the search, so do not count: a
    stale or interrupted trial (replaced by its retry, or by a fresh trial), one failed
    by Optuna's heartbeat and retried, and a surplus one (started by a process that
    raced another past the total, stopped before any work). ``study_attrs``: the
    study's user attributes, where a process marks the trials of another it failed."""
    study_attrs = study_attrs or {}
    marked = {
        trial.number
        for trial in trials
        if any(attr in trial.user_attrs for attr in _MARKS)
        or any(_study_mark(attr, trial.number) in study_attrs for attr in _MARKS)
    }
    # Optuna's heartbeat fails a trial before its callback can mark it; the retry it
    # queues names the trial it replaces.
    with warnings.catch_warnings():  # "experimental" since Optuna 2.8
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        retried = {
            number
            for trial in trials
            if (number := _HEARTBEAT_RETRY.retried_trial_number(trial)) is not None
        }
    return marked | retried


def is_replaced(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
    """Whether ``trial`` of ``study`` is among its :func:`replaced_trials`."""
    return trial.number in replaced_trials([trial], study.user_attrs)


def _retry_once(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
    if RETRY_OF_ATTR in trial.user_attrs:
        return
    attrs = {RETRY_OF_ATTR: trial.number}
    for given in GIVEN_ATTRS:  # a retry of a given trial is one too
        if trial.user_attrs.get(given):
            attrs[given] = True
    # The parameters it was queued with (the baseline's) count even where the trial
    # stopped before suggesting them all.
    params = {**trial.user_attrs.get(ENQUEUED_ATTR, {}), **trial.params}
    enqueue(study, params, attrs, skip_if_exists=False)


def enqueue(
    study: optuna.Study,
    params: Mapping[str, object],
    user_attrs: Mapping[str, object],
    *,
    skip_if_exists: bool,
) -> None:
    """``study.enqueue_trial``, the parameters also kept in the trial's user attributes,
    so that a retry of a trial cut off before it suggested them all still has them."""
    attrs = {**user_attrs, ENQUEUED_ATTR: dict(params)}
    study.enqueue_trial(dict(params), user_attrs=attrs, skip_if_exists=skip_if_exists)


def _fail(study: optuna.Study, trial: optuna.trial.FrozenTrial, attr: str, value: str) -> bool:
    """Fail ``trial``, which another process ran, and record why; False if it ended
    meanwhile (another process failed it first, and handles its retry)."""
    try:
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
        return False  # no longer RUNNING when told
    except RuntimeError:
        # tell runs the sampler's after_trial first: a GridSampler whose grid is now
        # done stops the study, which raises outside study.optimize. Optuna stores the
        # trial's state all the same (only an UpdateFinishedTrialError says it did not).
        pass
    # Only a trial's own process can set its user attributes through Optuna's public
    # API: the mark goes on the study, keyed by the trial's number (see marks_of).
    study.set_user_attr(_study_mark(attr, trial.number), value)
    return True


def marks_of(study: optuna.Study, trial: optuna.trial.FrozenTrial) -> dict[str, str]:
    """Why ``trial`` is no result of the search, if it is not: ``{"stale": "worker ...
    vanished"}``, ``{"interrupted": "SIGTERM"}``, ``{"surplus": True}``; marked by its own
    process on the trial, or by the process that failed it on the study."""
    attrs = study.user_attrs
    marks = {attr: trial.user_attrs[attr] for attr in _MARKS if attr in trial.user_attrs}
    for attr in _MARKS:
        if _study_mark(attr, trial.number) in attrs:
            marks.setdefault(attr, attrs[_study_mark(attr, trial.number)])
    return marks


def _study_mark(attr: str, number: int) -> str:
    return f"{attr} trial {number}"


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

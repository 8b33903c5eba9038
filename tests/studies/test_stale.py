"""Stale trials, and the private Optuna APIs ``studies.stale`` relies on: each checked
so that an Optuna release that changes one fails here, loudly."""

import optuna
import pytest

from studies.stale import (
    INTERRUPTED_ATTR,
    RETRY_OF_ATTR,
    STALE_ATTR,
    WORKER_ATTR,
    fail_stale_trials,
    fail_trials_of,
    is_replaced,
    requeue_interrupted,
)


def test_enqueued_parameters_are_kept_as_fixed_params():
    # enqueue_trial stores its parameters in the trial's system_attrs["fixed_params"];
    # a stale trial's retry replays them even where the trial died before using them.
    study = optuna.create_study()
    study.enqueue_trial({"x": 1.5})
    study.ask()
    (trial,) = study.get_trials(deepcopy=False)
    assert trial.system_attrs["fixed_params"] == {"x": 1.5}


def test_storage_state_change_is_reachable_and_refuses_finished_trials():
    # study._storage and FrozenTrial._trial_id: how a stale trial is failed without
    # touching trials that another process finished first.
    study = optuna.create_study()
    trial = study.ask()
    frozen = study.get_trials(deepcopy=False)[0]
    storage = study._storage
    assert isinstance(storage, optuna.storages.BaseStorage)
    assert frozen._trial_id == trial._trial_id
    assert storage.set_trial_state_values(frozen._trial_id, optuna.trial.TrialState.FAIL)
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        storage.set_trial_state_values(frozen._trial_id, optuna.trial.TrialState.FAIL)


def test_failing_the_last_grid_point_of_a_killed_worker_leaves_the_grid_sampler_out():
    # Study.tell(number, state=FAIL) would run GridSampler.after_trial, which stops the
    # study on its last point, and Study.stop raises outside study.optimize: a grid
    # study could not be resumed, nor its killed workers closed.
    study = optuna.create_study(sampler=optuna.samplers.GridSampler({"x": [1, 2]}))
    done = study.ask()
    done.suggest_categorical("x", [1, 2])
    study.tell(done, 1.0)
    cut_off = study.ask()
    cut_off.suggest_categorical("x", [1, 2])
    cut_off.set_user_attr(WORKER_ATTR, "host:101:5.00")
    assert fail_trials_of(study, "host:101:5.00", "SIGTERM") == [cut_off.number]
    assert study.trials[cut_off.number].state == optuna.trial.TrialState.FAIL


def test_a_trial_of_a_vanished_process_is_failed_and_queued_again_once():
    study = optuna.create_study()
    study.enqueue_trial({"x": 2.0}, user_attrs={"baseline": True})
    dead = study.ask()
    dead.suggest_float("x", 0, 10)
    dead.set_user_attr(WORKER_ATTR, "localhost-that-is-not-here:1:0")
    assert fail_stale_trials(study) == []  # another host: this one cannot tell
    study._storage.set_trial_user_attr(dead._trial_id, WORKER_ATTR, _gone_process())
    assert fail_stale_trials(study) == [dead.number]
    trials = study.get_trials(deepcopy=False)
    assert trials[0].state == optuna.trial.TrialState.FAIL and is_replaced(trials[0])
    assert STALE_ATTR in trials[0].user_attrs
    retry = study.ask()
    assert retry.user_attrs[RETRY_OF_ATTR] == dead.number
    assert retry.user_attrs["baseline"] is True
    assert retry.suggest_float("x", 0, 10) == 2.0


def test_the_trials_of_a_killed_worker_are_failed_as_interrupted_and_retried_once():
    study = optuna.create_study()
    killed, other = "host:101:5.00", "host:102:5.00"
    cut_off, got_as_far, elsewhere = study.ask(), study.ask(), study.ask()
    for trial, worker in ((cut_off, killed), (got_as_far, killed), (elsewhere, other)):
        trial.suggest_float("x", 0, 10)
        trial.set_user_attr(WORKER_ATTR, worker)
    # Killed after it had queued its retry, before Optuna recorded the trial's end.
    requeue_interrupted(got_as_far, "SIGTERM")

    assert fail_trials_of(study, killed, "SIGTERM") == [cut_off.number, got_as_far.number]
    trials = study.get_trials(deepcopy=False)
    for number in (cut_off.number, got_as_far.number):
        assert trials[number].state == optuna.trial.TrialState.FAIL
        assert trials[number].user_attrs[INTERRUPTED_ATTR] == "SIGTERM"
        assert is_replaced(trials[number])
    assert trials[elsewhere.number].state == optuna.trial.TrialState.RUNNING
    retries = [t.user_attrs[RETRY_OF_ATTR] for t in trials if RETRY_OF_ATTR in t.user_attrs]
    assert sorted(retries) == [cut_off.number, got_as_far.number]  # one each
    assert fail_trials_of(study, killed, "SIGTERM") == []  # nothing twice


def _gone_process() -> str:
    import subprocess
    import sys

    from bench.runtime.processes import process_identity

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = process_identity(child.pid)
    child.wait()
    return identity

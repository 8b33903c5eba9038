"""Stale and interrupted trials: failed, marked and retried once, through Optuna's
public API only (tell, set_user_attr on the study, enqueue_trial)."""

import optuna

from studies.stale import (
    ENQUEUED_ATTR,
    INTERRUPTED_ATTR,
    RETRY_OF_ATTR,
    STALE_ATTR,
    WORKER_ATTR,
    enqueue,
    fail_stale_trials,
    fail_trials_of,
    is_replaced,
    marks_of,
    requeue_interrupted,
)


def test_enqueued_parameters_are_kept_with_the_trial():
    study = optuna.create_study()
    enqueue(study, {"x": 1.5}, {"baseline": True}, skip_if_exists=False)
    trial = study.ask()
    assert trial.user_attrs[ENQUEUED_ATTR] == {"x": 1.5}
    assert trial.user_attrs["baseline"] is True


def test_a_trial_another_process_finished_first_is_left_as_it_is():
    study = optuna.create_study()
    trial = study.ask()
    trial.set_user_attr(WORKER_ATTR, "host:101:5.00")
    study.tell(trial, 1.0)  # its own process finished it after all
    assert fail_trials_of(study, "host:101:5.00", "SIGTERM") == []
    (frozen,) = study.get_trials(deepcopy=False)
    assert frozen.state == optuna.trial.TrialState.COMPLETE
    assert marks_of(study, frozen) == {} and not is_replaced(study, frozen)


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
    enqueue(study, {"x": 2.0}, {"baseline": True}, skip_if_exists=False)
    dead = study.ask()  # it dies before suggesting x: the retry has x all the same
    dead.set_user_attr(WORKER_ATTR, "localhost-that-is-not-here:1:0")
    assert fail_stale_trials(study) == []  # another host: this one cannot tell
    dead.set_user_attr(WORKER_ATTR, _gone_process())
    assert fail_stale_trials(study) == [dead.number]
    trials = study.get_trials(deepcopy=False)
    assert trials[0].state == optuna.trial.TrialState.FAIL and is_replaced(study, trials[0])
    assert marks_of(study, trials[0])[STALE_ATTR].endswith("vanished")
    assert fail_stale_trials(study) == []  # nothing twice
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
        assert marks_of(study, trials[number])[INTERRUPTED_ATTR] == "SIGTERM"
        assert is_replaced(study, trials[number])
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

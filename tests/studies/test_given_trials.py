"""The trials a study is given (the benchmark's own configuration, the known-good ones)
are its yardstick: reported to the pruner like any trial, but trained in full, on a real
study whose pruner would stop every trial it is asked about."""

import optuna
import pytest

import studies.search
from studies.search import StudySettings, run_study
from studies.stale import RETRY_OF_ATTR
from studies.trials import GIVEN_ATTRS

pytestmark = pytest.mark.slow


class PruneEveryTrial(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return True


def test_given_trials_are_never_pruned_and_sampled_ones_are(mlflow_store, monkeypatch):
    monkeypatch.setattr(studies.search, "make_pruner", lambda name, epochs: PruneEveryTrial())
    settings = StudySettings(trials=4, max_epochs=2, sampler="random", seed=1)
    study = run_study("digits-mlp", settings, refit=False).study
    given = [t for t in study.trials if any(t.user_attrs.get(a) for a in GIVEN_ATTRS)]
    sampled = [t for t in study.trials if t not in given and t.state.is_finished()]
    assert given and sampled, [t.user_attrs for t in study.trials]
    assert {t.state.name for t in given if t.state.is_finished()} == {"COMPLETE"}
    assert all(len(t.intermediate_values) == 2 for t in given)  # reported each epoch
    assert {t.state.name for t in sampled} == {"PRUNED"}


def test_a_retry_of_a_known_good_trial_is_still_a_given_one():
    from studies.stale import _retry_once

    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({"x": 1.0}, user_attrs={"known_good": True})
    trial = study.ask()
    trial.suggest_float("x", 0, 2)
    study.tell(trial, state=optuna.trial.TrialState.FAIL)
    _retry_once(study, study.trials[0])
    retry = study.ask()
    assert retry.user_attrs[RETRY_OF_ATTR] == 0 and retry.user_attrs["known_good"] is True

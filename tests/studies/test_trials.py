"""What the search itself added: sampled trials against the enqueued ones, on a real
Optuna study whose trials carry the CPU time each cost."""

import optuna
import pytest

from studies.trials import CPU_SECONDS_ATTR, search_progress


def _study(trials: list[tuple[str, float | None, float]]) -> optuna.Study:
    """A study of (kind, value or None for pruned, CPU seconds), run in that order;
    kind is "baseline", "known_good" or "sampled"."""
    study = optuna.create_study(direction="maximize")
    for kind, value, seconds in trials:
        trial = study.ask()
        if kind != "sampled":
            trial.set_user_attr(kind, True)
        trial.set_user_attr(CPU_SECONDS_ATTR, seconds)
        if value is None:
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
        else:
            study.tell(trial, value)
    return study


def test_the_minutes_until_a_sampled_trial_beats_every_enqueued_one():
    progress = search_progress(
        _study(
            [
                ("baseline", 0.90, 60),
                ("known_good", 0.93, 120),
                ("sampled", 0.92, 60),
                ("sampled", None, 30),  # pruned: its CPU time counts, it scores nothing
                ("sampled", 0.94, 90),
                ("sampled", 0.91, 60),
            ]
        )
    )
    assert progress.best_given == 0.93 and progress.best_given_trial == 1
    assert progress.cpu_minutes == pytest.approx([1, 3, 4, 4.5, 6, 7])
    assert progress.best_sampled == [None, None, 0.92, 0.92, 0.94, 0.94]
    assert progress.minutes_to_beat_given == pytest.approx(6)


def test_a_search_that_never_beats_what_it_was_given_says_so():
    progress = search_progress(
        _study([("known_good", 0.95, 60), ("sampled", 0.95, 60), ("sampled", 0.90, 60)])
    )
    assert progress.minutes_to_beat_given is None  # a tie is not a gain
    assert progress.best_sampled == [None, 0.95, 0.95]

"""What the search itself added: sampled trials against the enqueued ones, on a real
Optuna study whose trials carry the CPU time each cost."""

import optuna
import pytest

from studies.plots import search_progress_figure
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


def test_the_picture_keeps_every_enqueued_trial_in_view_and_on_top():
    # Twelve sampled trials near the top would zoom the axis past the baseline at 0.80.
    sampled = [("sampled", 0.90 + 0.003 * k, 60) for k in range(12)]
    progress = search_progress(_study([("baseline", 0.80, 60), ("known_good", 0.93, 60), *sampled]))
    ax = search_progress_figure(progress).axes[0]
    low, high = ax.get_ylim()
    assert low < 0.80 and high > 0.933
    crosses = [c for c in ax.collections if c.get_label() == "enqueued trial"]
    assert crosses and crosses[0].get_zorder() > max(line.get_zorder() for line in ax.lines)

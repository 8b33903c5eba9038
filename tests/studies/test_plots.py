"""The study's own figures, on real Optuna studies built trial by trial: the optimisation
history shows pruned trials, and importances need enough complete trials to mean
anything."""

import optuna
import pytest
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState, create_trial

from studies.plots import (
    MIN_TRIALS_FOR_IMPORTANCES,
    history_figure,
    history_table,
    study_figures,
    study_notes,
)

DROPOUT = {"dropout": FloatDistribution(0.0, 0.5)}


def study_of(complete: int, pruned: int = 0) -> optuna.Study:
    """A study of ``complete`` complete trials, then ``pruned`` trials pruned after 2
    epochs at 0.5 (one pruned before reporting anything comes last)."""
    study = optuna.create_study(direction="maximize")
    for k in range(complete):
        dropout = k / (2 * complete)
        study.add_trial(
            create_trial(
                value=0.9 - dropout / 10,
                params={"dropout": dropout},
                distributions=DROPOUT,
                intermediate_values={1: 0.5, 2: 0.8},
            )
        )
    for _ in range(pruned):
        study.add_trial(
            create_trial(
                state=TrialState.PRUNED,
                params={"dropout": 0.45},
                distributions=DROPOUT,
                intermediate_values={1: 0.3, 2: 0.5},
            )
        )
    study.add_trial(
        create_trial(state=TrialState.PRUNED, params={"dropout": 0.1}, distributions=DROPOUT)
    )
    return study


def test_the_history_holds_pruned_trials_at_their_last_reported_value():
    table = history_table(study_of(complete=2, pruned=3))
    assert list(table["state"]) == ["COMPLETE"] * 2 + ["PRUNED"] * 3
    pruned = table[table["state"] == "PRUNED"]
    assert list(pruned["value"]) == [0.5] * 3 and list(pruned["epoch"]) == [2] * 3
    figure = history_figure(table)
    (ax,) = figure.axes
    markers = {line.get_label(): len(line.get_xdata()) for line in ax.lines}
    pruned_label = next(label for label in markers if label.startswith("pruned trial"))
    assert markers["complete trial"] == 2 and markers[pruned_label] == 3
    assert pruned_label in [text.get_text() for text in ax.get_legend().get_texts()]


def test_the_logged_history_is_the_one_with_pruned_trials():
    figures = study_figures(study_of(complete=2, pruned=3))
    (ax,) = figures["optimization_history.png"].axes
    assert any(line.get_label().startswith("pruned trial") for line in ax.lines)


def test_importances_are_left_out_with_a_note_below_the_threshold():
    few = study_of(complete=MIN_TRIALS_FOR_IMPORTANCES - 1, pruned=4)
    assert "param_importances.png" not in study_figures(few)
    (note,) = study_notes(few).values()
    assert note == (
        f"Parameter importances left out: the study has {MIN_TRIALS_FOR_IMPORTANCES - 1} "
        f"complete trials, and fANOVA needs at least {MIN_TRIALS_FOR_IMPORTANCES} to tell a "
        "parameter's effect from chance."
    )


@pytest.mark.filterwarnings("ignore::optuna.exceptions.ExperimentalWarning")
def test_importances_say_how_many_trials_they_rest_on():
    enough = study_of(complete=MIN_TRIALS_FOR_IMPORTANCES, pruned=2)
    assert study_notes(enough) == {}
    figure = study_figures(enough)["param_importances.png"]
    titles = [ax.get_title() for ax in figure.axes]
    assert f"fANOVA over {MIN_TRIALS_FOR_IMPORTANCES} complete trials" in " ".join(titles)

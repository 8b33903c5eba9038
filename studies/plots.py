"""Study figures for the parent run: optimisation history, parameter importances,
parallel coordinates and (multi-objective) the Pareto front.

Optuna draws them with pyplot; whoever logs a figure closes it
(:meth:`bench.tracking.runs.TrackedRun.log_figure` does), so a long-lived process does
not accumulate them. Nothing here prints or writes files.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable

import optuna
from matplotlib.figure import Figure

ACCURACY = "validation accuracy"


def study_figures(study: optuna.Study) -> dict[str, Figure]:
    """``{file name: figure}`` for every figure the study has enough trials to draw.

    A figure that needs more than the study holds (importances need two complete
    trials with a varying parameter) is left out rather than drawn empty.
    """
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return {}
    figures = {}
    for name, draw in _figures(study).items():
        figure = _drawn(draw)
        if figure is not None:
            figures[name] = figure
    return figures


def _figures(study: optuna.Study) -> dict[str, Callable]:
    from optuna.visualization import matplotlib as plots

    def accuracy(trial):
        return trial.values[0]

    # Multi-objective plots need the accuracy objective named as their target.
    target = {} if len(study.directions) == 1 else {"target": accuracy}
    figures = {
        "optimization_history.png": lambda: plots.plot_optimization_history(
            study, target_name=ACCURACY, **target
        ),
        "param_importances.png": lambda: plots.plot_param_importances(
            study, target_name=ACCURACY, **target
        ),
        "parallel_coordinates.png": lambda: plots.plot_parallel_coordinate(
            study, target_name=ACCURACY, **target
        ),
    }
    if len(study.directions) > 1:
        figures["pareto_front.png"] = lambda: plots.plot_pareto_front(
            study, target_names=[ACCURACY, "weights"]
        )
    return figures


def _drawn(draw: Callable) -> Figure | None:
    import matplotlib

    matplotlib.use("Agg", force=False)

    with warnings.catch_warnings():
        # Optuna marks its matplotlib plots experimental; the warning is noise here.
        warnings.simplefilter("ignore")
        try:
            axes = draw()
        except (ValueError, RuntimeError, ZeroDivisionError):
            return None
    figure = _figure_of(axes)
    figure.set_size_inches(9, 6)
    figure.tight_layout()
    return figure


def _figure_of(axes):
    # Parallel coordinates and importances return one Axes; some plots an array.
    first = axes.flat[0] if hasattr(axes, "flat") else axes
    return first.figure

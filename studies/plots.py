"""Study figures for the parent run: optimisation history (pruned trials included),
parameter importances, parallel coordinates and (multi-objective) the Pareto front.

Optuna draws them with pyplot; whoever logs a figure closes it
(:meth:`bench.tracking.runs.TrackedRun.log_figure` does), so a long-lived process does
not accumulate them. Nothing here prints or writes files.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Hashable, Sequence
from typing import Any

import numpy as np
import optuna
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from studies.trials import SearchProgress

ACCURACY = "validation accuracy"
COMPLETE, PRUNED = optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED
MAXIMIZE = optuna.study.StudyDirection.MAXIMIZE
# Parameter importances come from fANOVA (Optuna's default evaluator): a random forest
# fitted to the complete trials' parameters -> accuracy. With fewer trials than ten it
# splits on a handful of points, and the bars rank the luck of a few draws rather than
# the parameters; ten is also how many trials Optuna's TPE samples at random before it
# trusts a model of the space (its n_startup_trials).
MIN_TRIALS_FOR_IMPORTANCES = 10
IMPORTANCES = "param_importances.png"


def study_figures(study: optuna.Study) -> dict[str, Figure]:
    """``{file name: figure}`` for every figure the study has enough trials to draw.

    A figure that needs more than the study holds is left out rather than drawn empty:
    importances need :data:`MIN_TRIALS_FOR_IMPORTANCES` complete trials (see
    :func:`study_notes` for the line that says so).
    """
    complete = study.get_trials(deepcopy=False, states=(COMPLETE,))
    if not complete:
        return {}
    figures = {}
    for name, draw in _figures(study, len(complete)).items():
        figure = _drawn(draw)
        if figure is not None:
            figures[name] = figure
    return figures


def study_notes(study: optuna.Study) -> dict[str, str]:
    """``{file name: one line}`` for each figure left out for too few trials, to be
    shown in its place (``param_importances.txt``)."""
    complete = len(study.get_trials(deepcopy=False, states=(COMPLETE,)))
    if not complete or complete >= MIN_TRIALS_FOR_IMPORTANCES:
        return {}
    trials = f"{complete} complete trial{'s' if complete != 1 else ''}"
    return {
        IMPORTANCES.replace(".png", ".txt"): (
            f"Parameter importances left out: the study has {trials}, and fANOVA needs at "
            f"least {MIN_TRIALS_FOR_IMPORTANCES} to tell a parameter's effect from chance."
        )
    }


def _figures(study: optuna.Study, complete: int) -> dict[str, Callable[[], Any]]:
    from optuna.visualization import matplotlib as plots

    def accuracy(trial: optuna.trial.FrozenTrial) -> float:
        return float(trial.values[0])

    def importances() -> Any:
        ax = plots.plot_param_importances(study, target=target, target_name=ACCURACY)
        ax.set_title(f"Hyperparameter importances (fANOVA over {complete} complete trials)")
        return ax

    # Multi-objective plots need the accuracy objective named as their target.
    target = None if len(study.directions) == 1 else accuracy
    figures: dict[str, Callable[[], Any]] = {
        "optimization_history.png": lambda: history_figure(
            history_table(study), maximize=study.directions[0] == MAXIMIZE
        ),
        "parallel_coordinates.png": lambda: plots.plot_parallel_coordinate(
            study, target=target, target_name=ACCURACY
        ),
    }
    if complete >= MIN_TRIALS_FOR_IMPORTANCES:
        figures[IMPORTANCES] = importances
    if len(study.directions) > 1:
        figures["pareto_front.png"] = lambda: plots.plot_pareto_front(
            study, target_names=[ACCURACY, "weights"]
        )
    return figures


def _drawn(draw: Callable[[], Any]) -> Figure | None:
    import matplotlib

    matplotlib.use("Agg", force=False)

    # Optuna switches pyplot to its "ggplot" style for good; the context restores the
    # settings, so figures drawn later in the process keep theirs.
    with warnings.catch_warnings(), matplotlib.rc_context():
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


def _figure_of(axes: Any) -> Figure:
    # Parallel coordinates and importances return one Axes; some plots an array, ours
    # a Figure.
    if isinstance(axes, Figure):
        return axes
    first = axes.flat[0] if hasattr(axes, "flat") else axes
    figure: Figure = first.figure
    return figure


def history_table(study: optuna.Study) -> pd.DataFrame:
    """One row per complete or pruned trial, in the order they ran: ``trial``, ``state``
    (``COMPLETE`` or ``PRUNED``), ``value`` (the accuracy objective; for a pruned trial
    the last validation accuracy it reported) and ``epoch`` (the last one reported).

    Pruned trials that reported nothing (multi-objective studies are not pruned by
    epoch; a trial stopped before its first epoch) have no value and no row.
    """
    rows = []
    for trial in study.get_trials(deepcopy=False, states=(COMPLETE, PRUNED)):
        last = max(trial.intermediate_values, default=None)
        if trial.state == COMPLETE:
            value = trial.values[0]
        elif last is not None:
            value = trial.intermediate_values[last]
        else:
            continue
        rows.append(
            {"trial": trial.number, "state": trial.state.name, "value": value, "epoch": last}
        )
    return pd.DataFrame(rows, columns=["trial", "state", "value", "epoch"])


def history_figure(table: pd.DataFrame, *, maximize: bool = True) -> Figure:
    """Each trial's validation accuracy in the order the trials ran (a
    :func:`history_table`): complete trials as dots with the best so far as a line,
    pruned trials as crosses at the last value they reported before they were stopped.
    """
    figure = Figure(figsize=(9, 6), dpi=110)  # laid out as Optuna's are, by _drawn
    ax = figure.add_subplot()
    complete = table[table["state"] == COMPLETE.name]
    pruned = table[table["state"] == PRUNED.name]
    ax.plot(complete["trial"], complete["value"], "o", color="tab:blue", label="complete trial")
    if len(pruned):
        ax.plot(
            pruned["trial"],
            pruned["value"],
            "x",
            color="tab:grey",
            label="pruned trial (last value reported, at the epoch it stopped)",
        )
    if len(complete):
        best = complete["value"].cummax() if maximize else complete["value"].cummin()
        # Drawn on to the last trial, pruned or not: the best stood until then.
        trials = [*complete["trial"], table["trial"].iloc[-1]]
        ax.step(trials, [*best, best.iloc[-1]], where="post", color="tab:red", label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(ACCURACY)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title("Optimisation history")
    return figure


def grid_figure(
    study: optuna.Study, grid: Sequence[tuple[str, Sequence[Hashable]]]
) -> Figure | None:
    """One picture comparing the cells of a grid study over one or two parameters:
    final validation accuracy as a heat map (rows: the first parameter, columns: the
    second), and beside it each cell's gradient magnitude per layer at its last epoch
    (one panel per value of the first parameter, one line per value of the second).

    Returns None for grids of more than two parameters, or before any trial completes.
    """
    names = [name for name, _ in grid]
    if not 1 <= len(names) <= 2:
        return None
    rows = list(dict(grid)[names[0]])
    columns: list[Hashable] = list(dict(grid)[names[1]]) if len(names) == 2 else [None]
    cells: dict[tuple[Hashable, Hashable], optuna.trial.FrozenTrial] = {}
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,)):
        key = (trial.params[names[0]], trial.params.get(names[1]) if len(names) == 2 else None)
        cells[key] = trial
    if not cells:
        return None
    figure = Figure(figsize=(4.5 + 3.6 * len(rows), 4.8), dpi=110, layout="constrained")
    axes = figure.subplots(1, 1 + len(rows), squeeze=False)[0]
    _accuracy_heat_map(axes[0], names, rows, columns, cells)
    for ax, row in zip(axes[1:], rows, strict=True):
        _gradient_profiles(ax, names, row, columns, cells)
    figure.suptitle(f"{study.study_name}: every cell of the grid")
    return figure


def _accuracy_heat_map(
    ax: Axes,
    names: list[str],
    rows: list[Hashable],
    columns: list[Hashable],
    cells: dict[tuple[Hashable, Hashable], optuna.trial.FrozenTrial],
) -> None:
    values = np.full((len(rows), len(columns)), np.nan)
    for i, row in enumerate(rows):
        for j, column in enumerate(columns):
            if (row, column) in cells:
                values[i, j] = cells[(row, column)].values[0]
    image = ax.imshow(values, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.grid(False)
    ax.figure.colorbar(image, ax=ax, label=ACCURACY)
    ax.set_yticks(range(len(rows)), labels=[str(row) for row in rows])
    ax.set_ylabel(names[0])
    ax.set_xticks(range(len(columns)), labels=[str(column or "") for column in columns])
    if len(names) == 2:
        ax.set_xlabel(names[1])
        for label in ax.get_xticklabels():
            label.set(rotation=30, ha="right", rotation_mode="anchor")
    for i in range(len(rows)):
        for j in range(len(columns)):
            if not np.isnan(values[i, j]):
                colour = "black" if values[i, j] > 0.6 else "white"
                ax.text(j, i, f"{values[i, j]:.3f}", ha="center", va="center", color=colour)
    ax.set_title(f"final {ACCURACY}")


def _gradient_profiles(
    ax: Axes,
    names: list[str],
    row: Hashable,
    columns: list[Hashable],
    cells: dict[tuple[Hashable, Hashable], optuna.trial.FrozenTrial],
) -> None:
    for column in columns:
        trial = cells.get((row, column))
        profile = trial.user_attrs.get("gradient_profile") if trial else None
        if not profile:
            continue
        layers = np.arange(1, len(profile) + 1)
        label = str(column) if column is not None else str(row)
        ax.plot(layers, np.maximum(profile, 1e-30), marker="o", markersize=2, label=label)
    ax.set_yscale("log")
    ax.set_title(f"{names[0]} = {row}")
    ax.set_xlabel("layer (input side first)")
    ax.set_ylabel("mean |gradient| of the weights, last epoch")
    ax.grid(True, which="both", alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)


def best_so_far_figure(points: Sequence[tuple[float, float]]) -> Figure:
    """The best validation accuracy so far against the minutes the search has run."""
    figure = Figure(figsize=(8, 4.5), dpi=110, layout="constrained")
    ax = figure.add_subplot()
    minutes = [seconds / 60 for seconds, _ in points]
    ax.step(minutes, [value for _, value in points], where="post", marker="o", markersize=3)
    ax.set_xlabel("minutes since the search began")
    ax.set_ylabel(f"best {ACCURACY} so far")
    ax.grid(True, alpha=0.3)
    ax.set_title("Best so far")
    return figure


def search_progress_figure(progress: SearchProgress) -> Figure:
    """The best sampled trial so far against the CPU minutes the search spent, and the
    best enqueued trial as a line: what the search itself added. Each complete trial
    is a point where it ended (enqueued ones as crosses)."""
    figure = Figure(figsize=(8, 4.5), dpi=110, layout="constrained")
    ax = figure.add_subplot()
    ended = list(zip(progress.cpu_minutes, progress.values, progress.given, strict=True))
    # The enqueued crosses are drawn over the lines: the best of them sits on its own
    # dashed line, where a faint cross underneath could not be seen.
    looks: tuple[tuple[bool, dict[str, Any]], ...] = (
        (False, {"marker": "o", "s": 18, "alpha": 0.5, "label": "sampled trial"}),
        (
            True,
            {"marker": "x", "s": 40, "color": "tab:red", "zorder": 3, "label": "enqueued trial"},
        ),
    )
    for given, look in looks:
        xs = [minutes for minutes, value, g in ended if g is given and value is not None]
        ys = [value for _, value, g in ended if g is given and value is not None]
        if xs:
            ax.scatter(xs, ys, **look)
    steps = [
        (minutes, value)
        for minutes, value in zip(progress.cpu_minutes, progress.best_sampled, strict=True)
        if value is not None
    ]
    if steps:
        ax.step(*zip(*steps, strict=True), where="post", label="best sampled trial so far")
    if progress.best_given is not None:
        ax.axhline(
            progress.best_given,
            color="tab:red",
            linestyle="--",
            label=f"best enqueued configuration (trial {progress.best_given_trial})",
        )
    if progress.minutes_to_beat_given is not None:
        ax.axvline(
            progress.minutes_to_beat_given,
            color="tab:green",
            linestyle=":",
            label=f"beaten after {progress.minutes_to_beat_given:.1f} CPU-minutes",
        )
    ax.set_xlim(left=0)
    _zoom_on_the_best(
        ax,
        [v for v in progress.values if v is not None],
        keep=[
            v for v, g in zip(progress.values, progress.given, strict=True) if g and v is not None
        ],
    )
    ax.set_xlabel("CPU-minutes the search spent (every process; pruned trials included)")
    ax.set_ylabel(ACCURACY)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="best", fontsize="small")  # away from the lines, wherever they are
    verdict = (
        "a sampled trial beat every enqueued configuration"
        if progress.minutes_to_beat_given is not None
        else "no sampled trial beat the enqueued configurations"
    )
    ax.set_title(f"What the search added: {verdict}")
    return figure


def _zoom_on_the_best(ax: Axes, values: Sequence[float], keep: Sequence[float] = ()) -> None:
    """Show the top of the range, where the best trials differ, not the hopeless ones,
    but never cut off a value of ``keep`` (the configurations the search was given,
    which it is measured against)."""
    if len(values) < 2:
        return
    top = max(values)
    floor = max(min(values), float(np.quantile(values, 0.25)) - 0.01)
    floor = min([floor, *keep])
    ax.set_ylim(floor - 0.1 * (top - floor) - 1e-3, top + 0.1 * (top - floor) + 1e-3)

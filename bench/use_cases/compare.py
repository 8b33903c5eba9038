"""``bench compare``: scored runs grouped by configuration, their statistics, and a
paired test of two configurations over the seeds they share.

A configuration is a benchmark and its parameters, less those that change with the seed
only; its runs (repeats of one command, seeds run one by one, a study's refits) make
one row. Pure functions of :class:`~bench.tracking.history.RunRecord` lists: nothing
here talks to MLflow or prints.
"""

from __future__ import annotations

import math
import warnings
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from bench.errors import UsageError
from bench.intervals import mean_interval
from bench.tracking import vocabulary as tags
from bench.tracking.history import RunRecord

SCORE = "test_accuracy"
ALPHA = 0.05  # the significance level the paired test is read at
CONFIDENCE = 0.95
FORMATS = ("text", "csv", "markdown", "html")
# Params that change with the seed (the validation split it draws) or say where the data
# lies on one machine, not what was trained.
_SEED_PARAMS = frozenset({"seed", "n_validation", "dataset_source"})
NUMBER_COLUMNS = (
    "n",
    "test_accuracy_mean",
    "test_accuracy_std",
    "test_accuracy_ci95_low",
    "test_accuracy_ci95_high",
    "test_macro_f1_mean",
    "n_weights",
    "fit_seconds_mean",
)
_FIXED_COLUMNS = frozenset({"#", "benchmark", "source", "seeds", "runs", *NUMBER_COLUMNS})
EPOCHS = "epochs"  # the column of the epochs a row's networks trained
# A study's parent logs the epochs of the best trial it refitted (studies/refit.py).
_STUDY_EPOCHS = "best_epochs"


@dataclass(frozen=True)
class Configuration:
    """One row of the comparison: a benchmark, its parameters and the runs made with them.

    Parameters
    ----------
    benchmark : str
    params : tuple of (str, str)
        The parameters, sorted, less those that change with the seed only.
    runs : tuple of RunRecord
        Its scored runs, newest first.
    """

    benchmark: str
    params: tuple[tuple[str, str], ...]
    runs: tuple[RunRecord, ...]

    @property
    def source(self) -> str:
        """Where its runs came from: ``bench run``, ``study NAME``, ``study NAME refit``."""
        return ", ".join(sorted({run_source(run) for run in self.runs}))

    @property
    def is_study(self) -> bool:
        """Whether its runs are study parents (scored by their refit of the best trial)."""
        return any(is_study_parent(run) for run in self.runs)

    def values(self, metric: str = SCORE) -> np.ndarray:
        """The metric's value in each run that logged it."""
        return np.array([run.metrics[metric] for run in self.runs if metric in run.metrics])

    def by_seed(self, metric: str = SCORE) -> dict[str, float]:
        """Seed -> the metric's mean over the runs of that seed."""
        values: dict[str, list[float]] = {}
        for run in self.runs:
            if metric in run.metrics:
                values.setdefault(run_seed(run), []).append(run.metrics[metric])
        return {seed: float(np.mean(scores)) for seed, scores in values.items()}

    @property
    def seeds(self) -> list[str]:
        """Its runs' seeds, in numeric order, each once."""
        return sorted_seeds(run_seed(run) for run in self.runs)

    @property
    def epochs(self) -> str:
        """The epochs its networks trained (see :func:`run_epochs`); ``""`` for a
        scikit-learn baseline, or runs that do not say."""
        return next((run_epochs(run) for run in self.runs if run_epochs(run)), "")


@dataclass(frozen=True)
class Comparison:
    """Scored runs as rows, best first, and what was left out.

    Attributes
    ----------
    configurations : tuple of Configuration
        Best mean test accuracy first.
    table : pandas.DataFrame
        One row per configuration: ``#``, ``benchmark``, ``source`` (when not every
        row is a plain ``bench run``), the parameters that differ, ``seeds``, ``n``, the
        test accuracy's mean, standard deviation and 95% interval, macro F1, weights,
        fit seconds and the run ids. ``epochs`` is among the parameters whenever two rows
        trained different numbers of epochs, whatever their kind (a study's parent logs
        its refit's epochs under another name than a ``bench run``).
    left_out : dict of str to int
        Why runs without a test score are not rows -> how many.
    """

    configurations: tuple[Configuration, ...]
    table: pd.DataFrame
    left_out: dict[str, int]

    @property
    def setting_columns(self) -> list[str]:
        """The table's columns of parameters that differ between rows."""
        return [column for column in self.table.columns if column not in _FIXED_COLUMNS]


@dataclass(frozen=True)
class PairedTest:
    """A paired t-test (``scipy.stats.ttest_rel``) of two rows over their shared seeds.

    ``difference`` is first minus second; ``statistic``, ``p_value`` and the interval
    are ``nan`` where no test could be made (fewer than two shared seeds).
    """

    first: int
    second: int
    seeds: tuple[str, ...]
    difference: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    metric: str = SCORE

    @property
    def significant(self) -> bool:
        """Whether ``p_value`` is below :data:`ALPHA` (never, without a test)."""
        return bool(self.p_value < ALPHA)

    @property
    def text(self) -> str:
        """One line saying what the test found, or why there is none."""
        pair = f"#{self.first} minus #{self.second}"
        seeds = seed_ranges(self.seeds)
        if len(self.seeds) < 2:
            shared = f"only seed {seeds}" if self.seeds else "no seed"
            return (
                f"{pair}: no paired test possible: the two rows share {shared}, and a paired "
                "t-test needs at least 2 seeds run in both; run both with the same seeds "
                "(--seed)"
            )
        words = self.metric.replace("_", " ")
        if not math.isfinite(self.statistic):
            return (
                f"{pair}: {self.difference:+.4f} {words} on every one of the {len(self.seeds)} "
                "shared seeds: the difference does not vary with the seed, so a paired t-test "
                "has nothing to weigh it against"
            )
        verdict = "significant" if self.significant else "not significant"
        return (
            f"{pair}, paired t-test over {len(self.seeds)} shared seeds ({seeds}): "
            f"{self.difference:+.4f} {words} ({CONFIDENCE:.0%} CI {self.ci_low:+.4f} to "
            f"{self.ci_high:+.4f}), t = {self.statistic:.2f}, p = {self.p_value:.3g}, "
            f"{verdict} at {ALPHA}"
        )


def compare_runs(records: Sequence[RunRecord]) -> Comparison:
    """Group the scored runs among ``records`` by configuration, best first."""
    scored = [run for run in records if SCORE in run.metrics]
    left_out = Counter(left_out_reason(run) for run in records if SCORE not in run.metrics)
    configurations = sorted(
        group_runs(scored), key=lambda c: (-float(np.mean(c.values())), -len(c.runs))
    )
    return Comparison(tuple(configurations), comparison_table(configurations), dict(left_out))


def group_runs(records: Sequence[RunRecord]) -> list[Configuration]:
    """One :class:`Configuration` per benchmark and parameters, in order of first run."""
    groups: dict[tuple, list[RunRecord]] = {}
    for run in records:
        key = (run.tags.get(tags.BENCHMARK, ""), tuple(sorted(configuration_params(run).items())))
        groups.setdefault(key, []).append(run)
    return [
        Configuration(benchmark, params, tuple(runs))
        for (benchmark, params), runs in groups.items()
    ]


def configuration_params(run: RunRecord) -> dict[str, str]:
    """The run's parameters less those that change with the seed only: the seed, every
    ``random_state``, the validation split's size, where the data lies and, for a study's
    parent, the digest of its seeded split."""
    seeded = set(_SEED_PARAMS)
    if is_study_parent(run):
        seeded.add("dataset_digest")
    return {
        name: value
        for name, value in run.params.items()
        if name not in seeded and not name.endswith("random_state")
    }


def differing_params(configurations: Sequence[Configuration]) -> list[str]:
    """The parameters whose values (or presence) differ between configurations of one
    benchmark; a study's parent is compared with other study parents only, its
    parameters being the search's rather than a pipeline's."""
    kinds: dict[tuple[str, bool], list[dict[str, str]]] = {}
    for configuration in configurations:
        kind = (configuration.benchmark, configuration.is_study)
        kinds.setdefault(kind, []).append(dict(configuration.params))
    differing: set[str] = set()
    for params in kinds.values():
        names = set().union(*params)
        differing |= {name for name in names if len({p.get(name) for p in params}) > 1}
    # Epochs are compared across every row, as one column (see comparison_table).
    return sorted(name for name in differing if not is_epochs_param(name))


def is_epochs_param(name: str) -> bool:
    """Whether parameter ``name`` holds a run's epochs (see :func:`run_epochs`)."""
    return name.endswith("__epochs") or name == _STUDY_EPOCHS


def run_epochs(run: RunRecord) -> str:
    """The epochs the run's network trained, as text: its classifier's ``clf__epochs``,
    or for a study's parent (scored by its refit) ``best_epochs``; ``""`` for a
    scikit-learn baseline, which has none."""
    return next((value for name, value in run.params.items() if is_epochs_param(name)), "")


def column_names(params: Sequence[str]) -> dict[str, str]:
    """Each parameter -> its column: without the pipeline step (``clf__dropout`` ->
    ``dropout``) unless that name would be taken twice."""
    short = {name: name.split("__", 1)[-1] for name in params}
    counts = Counter(short.values())
    return {
        name: column
        if counts[column] == 1
        and (column == name or column not in params)
        and column not in _FIXED_COLUMNS
        else name
        for name, column in short.items()
    }


def comparison_table(configurations: Sequence[Configuration]) -> pd.DataFrame:
    """The numbers of :class:`Comparison.table`, one row per configuration, in order."""
    params = differing_params(configurations)
    columns = column_names(params)
    show_source = any(c.source != "bench run" for c in configurations)
    # Rows of different epochs are told apart, whatever else differs (a study's refit
    # and `bench run` share no other parameter); networks only: a baseline has none.
    show_epochs = len({c.epochs for c in configurations} - {""}) > 1
    rows = []
    for rank, configuration in enumerate(configurations, start=1):
        values = dict(configuration.params)
        accuracy = configuration.values()
        # The interval `bench run --repeats` logs on its parent, from the same function.
        spread = mean_interval(accuracy) if len(accuracy) > 1 else {}
        row = {"#": rank, "benchmark": configuration.benchmark}
        if show_source:
            row["source"] = configuration.source
        if show_epochs:
            row[EPOCHS] = configuration.epochs
        row |= {columns[name]: values.get(name, "") for name in params}
        row |= {
            "seeds": seed_ranges(configuration.seeds),
            "n": len(accuracy),
            "test_accuracy_mean": float(np.mean(accuracy)),
            "test_accuracy_std": sample_std(accuracy),
            "test_accuracy_ci95_low": spread.get("ci95_low", math.nan),
            "test_accuracy_ci95_high": spread.get("ci95_high", math.nan),
            "test_macro_f1_mean": _mean(configuration.values("test_macro_f1")),
            "n_weights": _mean(configuration.values("n_weights")),
            "fit_seconds_mean": _mean(configuration.values("fit_seconds")),
            "runs": " ".join(run.run_id for run in configuration.runs),
        }
        rows.append(row)
    return pd.DataFrame(rows)


def readable_table(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` as people read it: ``0.9666 ± 0.0031 (n=5)``, ``9,610``, ``7.9 s``."""
    shown = table.drop(columns=[*NUMBER_COLUMNS, "runs"]).astype(str)
    shown["test accuracy"] = [
        _mean_std(mean, std, n)
        for mean, std, n in zip(
            table["test_accuracy_mean"], table["test_accuracy_std"], table["n"], strict=True
        )
    ]
    shown["95% CI"] = [
        "" if math.isnan(low) else f"{low:.4f} to {high:.4f}"
        for low, high in zip(
            table["test_accuracy_ci95_low"], table["test_accuracy_ci95_high"], strict=True
        )
    ]
    shown["macro F1"] = [_number(value, "{:.4f}") for value in table["test_macro_f1_mean"]]
    shown["weights"] = [_number(value, "{:,.0f}") for value in table["n_weights"]]
    shown["fit time"] = [_number(value, "{:.1f} s") for value in table["fit_seconds_mean"]]
    return shown


def render(comparison: Comparison, output_format: str = "text") -> str:
    """The table as ``text``, ``csv`` (the numbers, with run ids), ``markdown`` or an
    HTML ``<table>``."""
    if output_format == "csv":
        return comparison.table.to_csv(index=False)
    shown = readable_table(comparison.table)
    if output_format == "html":
        return shown.to_html(index=False, border=0, classes="comparison")
    if output_format in ("markdown", "text"):
        numbers = {"#", "test accuracy", "95% CI", "macro F1", "weights", "fit time"}
        align = ["right" if column in numbers else "left" for column in shown.columns]
        return shown.to_markdown(
            index=False,
            tablefmt="pipe" if output_format == "markdown" else "simple",
            colalign=align,
            disable_numparse=True,
        )
    raise ValueError(f"unknown format {output_format!r}; valid: {', '.join(FORMATS)}")


def chosen_pair(comparison: Comparison, pair: Sequence[int] | None) -> tuple[int, int] | None:
    """The two rows (numbered from 1) to test: ``pair`` if given, else the only two.

    Raises
    ------
    UsageError
        If ``pair`` names a row the table does not have, or one row twice.
    """
    count = len(comparison.configurations)
    if pair is None:
        return (1, 2) if count == 2 else None
    first, second = pair
    if not (1 <= first <= count and 1 <= second <= count) or first == second:
        raise UsageError(
            f"--pair takes two different row numbers from the # column (1 to {count}), "
            f"got {first} {second}"
        )
    return first, second


def paired_test(comparison: Comparison, first: int, second: int) -> PairedTest:
    """Rows ``first`` and ``second`` (numbered from 1) compared over their shared seeds
    with a paired t-test (:func:`scipy.stats.ttest_rel`); a seed run several times in
    one row counts with its mean."""
    a = comparison.configurations[first - 1].by_seed()
    b = comparison.configurations[second - 1].by_seed()
    seeds = tuple(sorted_seeds(set(a) & set(b)))
    x, y = np.array([a[s] for s in seeds]), np.array([b[s] for s in seeds])
    difference = float(np.mean(x - y)) if seeds else math.nan
    if len(seeds) < 2:
        return PairedTest(first, second, seeds, difference, math.nan, math.nan, math.nan, math.nan)
    with warnings.catch_warnings():
        # Differences that do not vary make scipy warn; the text says it in words.
        warnings.simplefilter("ignore", RuntimeWarning)
        result = stats.ttest_rel(x, y)
        interval = result.confidence_interval(CONFIDENCE)
    return PairedTest(
        first,
        second,
        seeds,
        difference,
        float(interval.low),
        float(interval.high),
        float(result.statistic),
        float(result.pvalue),
    )


def left_out_text(left_out: dict[str, int]) -> str:
    """``left out 4 runs without a test score: 3 study trials (...), 1 failed``, or ``""``."""
    total = sum(left_out.values())
    if not total:
        return ""
    parts = ", ".join(
        f"{count} {_REASONS[reason][count > 1]}{_REASONS[reason][2]}"
        for reason, count in sorted(left_out.items())
    )
    return f"left out {_plural(total, 'run')} without a test score: {parts}"


def left_out_reason(run: RunRecord) -> str:
    """Why a run without a test score is not a row: a key of ``_REASONS``."""
    if tags.is_trial(run.tags):
        return "trial"
    if tags.is_repeats_parent(run.tags) or f"{SCORE}_mean" in run.metrics:
        return "repeats"  # `bench run --repeats`, or a study refitted once per seed
    if is_study_parent(run):
        return "study"
    return run.status if run.status in ("FAILED", "KILLED", "RUNNING") else "other"


# Reason -> (one, several, why): "1 study trial", "3 study trials (validation scores only)".
_REASONS = {
    "trial": ("study trial", "study trials", " (validation scores only)"),
    "repeats": ("parent of repeats", "parents of repeats", " (their seeds are rows)"),
    "study": ("study parent", "study parents", " without a refit (--no-refit)"),
    "FAILED": ("failed run", "failed runs", ""),
    "KILLED": ("killed run", "killed runs", ""),
    "RUNNING": ("run still running", "runs still running", ""),
    "other": ("other run", "other runs", ""),
}


def run_source(run: RunRecord) -> str:
    """``bench run``, ``study NAME`` (a study's parent, scored by its refit) or
    ``study NAME refit``."""
    if is_study_parent(run):
        return f"study {run.tags[tags.STUDY]}"
    if tags.is_refit(run.tags):
        return f"study {run.tags.get(tags.STUDY, '')} refit".replace("  ", " ")
    return "bench run"


def run_seed(run: RunRecord) -> str:
    """The run's seed (its ``seed`` parameter, else tag), as text."""
    return run.params.get("seed", run.tags.get(tags.SEED, "?"))


def sample_std(values: np.ndarray) -> float:
    """The standard deviation with ``n - 1`` (numpy's ``ddof=1``); ``nan`` for one value."""
    return float(np.std(values, ddof=1)) if len(values) > 1 else math.nan


def seed_ranges(seeds: Sequence[str]) -> str:
    """``["0", "1", "2", "3", "7", "8"]`` -> ``"0-3, 7, 8"``: three or more seeds in a row
    as a range."""
    runs: list[list[str]] = []
    for seed in seeds:
        last = runs[-1][-1] if runs else ""
        if seed.isdigit() and last.isdigit() and int(seed) == int(last) + 1:
            runs[-1].append(seed)
        else:
            runs.append([seed])
    parts = [[f"{run[0]}-{run[-1]}"] if len(run) > 2 else run for run in runs]
    return ", ".join(seed for part in parts for seed in part)


def is_study_parent(run: RunRecord) -> bool:
    """Whether ``run`` is a study's parent run (tag ``study``; not a trial, not a child)."""
    return tags.is_study_parent(run.tags)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def sorted_seeds(seeds: Iterable[str]) -> list[str]:
    """Seeds (text) each once, whole numbers in numeric order first."""
    return sorted(set(seeds), key=seed_key)


def seed_key(seed: str) -> tuple[int, int | str]:
    """Sort key putting whole-number seeds first, in numeric order."""
    return (0, int(seed)) if seed.isdigit() else (1, seed)


def _mean(values: np.ndarray) -> float:
    return float(np.mean(values)) if len(values) else math.nan


def _mean_std(mean: float, std: float, n: int) -> str:
    if math.isnan(std):
        return f"{mean:.4f} (n={n})"
    return f"{mean:.4f} ± {std:.4f} (n={n})"


def _number(value: float, pattern: str) -> str:
    return "" if math.isnan(value) else pattern.format(value)


def accuracy_time_figure(comparison: Comparison) -> Figure:
    """Test accuracy against training time, one colour per row: each run a dot, the
    row's mean a larger marker with its 95% interval, labelled ``#1 mnist-cnn``."""
    figure = Figure(figsize=(8, 5), dpi=110, layout="constrained")
    ax = figure.add_subplot()
    for (_, row), configuration in zip(
        comparison.table.iterrows(), comparison.configurations, strict=True
    ):
        scored = [run for run in configuration.runs if SCORE in run.metrics]
        times = [run.metrics.get("fit_seconds", math.nan) for run in scored]
        accuracies = [run.metrics[SCORE] for run in scored]
        (dots,) = ax.plot(times, accuracies, "o", alpha=0.35, markersize=4)
        low, high = row["test_accuracy_ci95_low"], row["test_accuracy_ci95_high"]
        mean, seconds = row["test_accuracy_mean"], row["fit_seconds_mean"]
        error = None if math.isnan(low) else [[mean - low], [high - mean]]
        label = f"#{row['#']} {row['benchmark']} (n={row['n']})"
        ax.errorbar(
            seconds, mean, yerr=error, fmt="D", color=dots.get_color(), capsize=4, label=label
        )
    ax.set_xscale("log")
    ax.set_xlabel("training time per run (s, log scale)")
    ax.set_ylabel("test accuracy")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    ax.set_title("Test accuracy against training time (mean and 95% interval over seeds)")
    return figure

"""The short tables the commands print at the end."""

from __future__ import annotations

import math
import shlex
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from textwrap import shorten
from typing import TYPE_CHECKING

from tabulate import tabulate

if TYPE_CHECKING:
    import pandas as pd


def run_summary(report) -> str:
    """The short table printed at the end of ``bench run``."""
    outcome, test = report.outcome, report.outcome.test
    rows = [
        ("benchmark", f"{report.benchmark.name} on {report.dataset.name}, seed {report.seed}"),
        ("training", _training_row(outcome)),
    ]
    if outcome.val_accuracy is not None:
        when = "last epoch" if outcome.by_epoch else f"{outcome.n_validation:,} held-out images"
        rows.append(("val accuracy", f"{outcome.val_accuracy:.4f} ({when})"))
    rows += [
        ("test accuracy", f"{test.accuracy:.4f}"),
        ("test macro F1", f"{test.macro_f1:.4f}"),
        ("run id", f"{report.run_id} (experiment '{report.experiment}')"),
        *where_to_look(report.tracking_uri, report.experiment_id, report.run_id),
        ("load the model", load_model_code(report.tracking_uri, report.run_id)),
    ]
    return table(rows)


def repeats_summary(report) -> str:
    """Each seed's scores, then each score's mean ± std and 95% interval over seeds."""
    header = ("seed", "val accuracy", "test accuracy", "test macro F1", "test loss", "training")
    rows = [header]
    for run in report.runs:
        outcome, test = run.outcome, run.outcome.test
        rows.append(
            (
                run.seed,
                _score(outcome.val_accuracy),
                _score(test.accuracy),
                _score(test.macro_f1),
                _score(test.loss),
                f"{outcome.fit_seconds:.1f} s",
            )
        )
    lines = [table(rows, right_aligned={1, 2, 3, 4, 5}), ""]
    n = len(report.runs)
    summary = [("benchmark", f"{report.benchmark.name}, {n} seeds")]
    for name, spread in report.spreads.items():
        summary.append(
            (
                name.replace("_", " ").replace("macro f1", "macro F1"),
                f"{spread['mean']:.4f} ± {spread['std']:.4f} (mean ± std); 95% interval "
                f"{spread['ci95_low']:.4f} to {spread['ci95_high']:.4f} (Student t, {n - 1} d.f.)",
            )
        )
    summary += [
        ("parent run", f"{report.parent_run_id} (experiment '{report.experiment}')"),
        *where_to_look(report.tracking_uri, report.experiment_id, report.parent_run_id),
    ]
    return "\n".join(lines) + table(summary)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _training_row(outcome) -> str:
    if not outcome.by_epoch:
        name = type(outcome.pipeline[-1]).__name__
        return (
            f"{name} fitted in one call in {_seconds(outcome.fit_seconds)}, "
            f"{outcome.n_weights:,} numbers stored"
        )
    epochs = len(outcome.history.get("loss", []))
    took = _seconds(outcome.fit_seconds)
    return f"{_count(epochs, 'epoch')} in {took}, {outcome.n_weights:,} weights"


def _seconds(seconds: float) -> str:
    """Tenths of a second, or two significant digits for a fit quicker than that.

    >>> _seconds(12.34), _seconds(0.0471)
    ('12.3 s', '0.047 s')
    """
    return f"{seconds:.1f} s" if seconds >= 1 else f"{seconds:.2g} s"


def trial_counts(states: pd.Series) -> str:
    """``"12 trials (5 pruned, 1 failed, 2 still queued)"``: the trials that ran, and
    what else the study holds (a queued starting point a short study never reached)."""
    counts = states.value_counts()
    ran = int(counts.get("COMPLETE", 0) + counts.get("PRUNED", 0) + counts.get("FAIL", 0))
    others = [
        f"{int(counts[state])} {word}"
        for state, word in (
            ("PRUNED", "pruned"),
            ("FAIL", "failed"),
            ("RUNNING", "running elsewhere"),
            ("WAITING", "still queued"),
        )
        if counts.get(state, 0)
    ]
    return f"{_count(ran, 'trial')}" + (f" ({', '.join(others)})" if others else "")


def study_summary(report) -> str:
    """Top trials, the test score of the refitted best, and how to re-run it."""
    trials = report.table
    value_column = "value" if "value" in trials else "values_0"
    top = trials[trials["state"] == "COMPLETE"].sort_values(value_column, ascending=False)
    lines = [readable(top.head(5)).to_string(index=False), ""]
    rows = [("study", f"{report.study.study_name}: {trial_counts(trials['state'])}")]
    comparison = report.comparison
    if comparison is not None:
        rows.append(("against the baseline", against_baseline(comparison)))
        if comparison.best_enqueued is not None:
            rows.append(("what sampling added", sampling_added(comparison)))
    refit = report.refit
    if refit is not None and refit.spreads is None:
        rows.append(("best refit, test accuracy", f"{refit.first.test.accuracy:.4f}"))
    elif refit is not None:
        spread, n = refit.spreads["test_accuracy"], len(refit.outcomes)
        rows.append(
            (
                "best refit, test accuracy",
                f"{spread['mean']:.4f} ± {spread['std']:.4f} (mean ± std of {n} seeds); "
                f"95% interval {spread['ci95_low']:.4f} to {spread['ci95_high']:.4f}",
            )
        )
    if refit is not None:
        rows.append(("re-run the best", refit.rerun_command))
    rows += [
        ("parent run", f"{report.parent_run_id} (experiment '{report.experiment}')"),
        *where_to_look(report.tracking_uri, report.experiment_id, report.parent_run_id),
    ]
    return "\n".join(lines) + table(rows)


def against_baseline(comparison) -> str:
    cost = (
        f"{comparison.cpu_seconds / 60:.1f} CPU-minutes, "
        f"{comparison.elapsed_seconds / 60:.1f} minutes of searching"
    )
    if comparison.gain is None:
        return (
            f"best {comparison.best_value:.4f} (trial {comparison.best_trial}); no baseline; {cost}"
        )
    if comparison.best_trial == comparison.baseline_trial:
        return (
            f"not better: the baseline (trial {comparison.baseline_trial}, "
            f"{comparison.baseline_value:.4f}) is still the best of {comparison.trials} "
            f"finished trials; {cost}"
        )
    verdict = "better" if comparison.gain > 0 else "not better"
    return (
        f"{verdict}: {comparison.gain:+.4f} validation accuracy (best {comparison.best_value:.4f}, "
        f"trial {comparison.best_trial}; baseline {comparison.baseline_value:.4f}); {cost}"
    )


def sampling_added(comparison) -> str:
    """Whether a sampled trial beat every configuration the study was given."""
    given = f"trial {comparison.best_enqueued_trial}, {comparison.best_enqueued:.4f}"
    if comparison.minutes_to_beat_enqueued is None:
        return f"no sampled trial beat the best enqueued configuration ({given})"
    return (
        f"a sampled trial beat the best enqueued configuration ({given}) after "
        f"{comparison.minutes_to_beat_enqueued:.1f} CPU-minutes"
    )


def where_to_look(uri: str, experiment_id: str, run_id: str) -> list[tuple[str, str]]:
    """Rows with the run's page, the experiment's runs view and the UI they are on:
    a tracking server's, a UI found showing the run (``bench ui``'s, on whatever port),
    or else the ``bench ui`` command that serves them at the addresses printed.

    MLflow opens an experiment on a GenAI overview page that stays empty for bench;
    these addresses lead past it.
    """
    from bench.tracking.ui import (
        absolute_uri,
        is_server,
        run_address,
        runs_view_address,
        ui_address,
        ui_port_to_start,
        ui_showing,
    )

    showing = None if is_server(uri) else ui_showing(uri, run_id)
    if is_server(uri):
        base = ui_address(uri)
        opened = f"open {base}"
    elif showing is not None:
        base = showing
        opened = f"running at {base}"
    else:
        port = ui_port_to_start()
        base = ui_address(uri, port)
        opened = (
            f"not running; to serve these addresses: python -m bench ui --port {port}  "
            f"(store {absolute_uri(uri)})"
        )
    return [
        ("run page", run_address(base, experiment_id, run_id)),
        ("runs view", runs_view_address(base, experiment_id)),
        ("MLflow UI", opened),
    ]


def ui_addresses(uri: str, servers) -> str:
    """What ``bench ui`` prints: each server's address, each experiment's runs view and
    the page of the run started last (of those not inside a study or repeats)."""
    from bench.tracking.ui import experiments_and_latest_runs, run_address, runs_view_address

    ui, *others = servers
    rows = [("MLflow UI", ui.address)]
    experiments = experiments_and_latest_runs(uri)
    for name, experiment_id, _ in experiments:
        rows.append((f"  {name}", runs_view_address(ui.address, experiment_id)))
    if experiments:
        name, experiment_id, latest = experiments[0]
        page = run_address(ui.address, experiment_id, latest.info.run_id)
        rows.append(("latest run", f"{page}  ({latest.info.run_name}, in '{name}')"))
    rows += [(server.name, f"{server.address}/dashboard") for server in others]
    return table(rows)


def server_addresses(server, storage: str | None) -> str:
    """What ``bench server`` prints: its address, what each worker machine runs, and
    how a SLURM cluster runs the study as a job array with the refit after it."""
    storage = storage or "postgresql://USER@DB_HOST/DB"
    script = shlex.quote(str(slurm_job_script()))
    study = "NAME --trials N"
    rows = [
        ("MLflow tracking server", f"{server.address}  (UI, runs and artifacts)"),
        (
            "on each machine",
            f"MLFLOW_TRACKING_URI={server.address} python -m bench study {study} "
            f"--storage {storage}",
        ),
        (
            "on a SLURM cluster",
            f"export MLFLOW_TRACKING_URI={server.address} BENCH_STORAGE={storage}",
        ),
        ("", f"array=$(sbatch --parsable --array=1-4 {script} {study})"),
        ("", f"sbatch --dependency=afterany:$array {script} {study}  # the refit, once"),
    ]
    return table(rows)


def slurm_job_script() -> Path:
    """The job script shipped with bench that runs a study as a SLURM job array."""
    return Path(str(resources.files("bench.cli") / "bench-study.sbatch"))


def load_model_code(uri: str, run_id: str) -> str:
    """Python that loads the run's logged pipeline, from any folder."""
    from bench.tracking.ui import absolute_uri

    return (
        f'import mlflow; mlflow.set_tracking_uri("{absolute_uri(uri)}"); '
        f'model = mlflow.sklearn.load_model("runs:/{run_id}/model")'
    )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def network_description(benchmark, pipeline, classifier, dataset=None) -> str:
    """``bench describe``: the data (the benchmark's dataset, or the user's ``dataset``),
    the steps before the network, and the network's layers with their output shapes and
    weights, as the course reports tabulate them."""
    from bench.figures import model_summary_text

    lines = [
        f"{benchmark.name}: {benchmark.summary}",
        f"data      {_data_line(benchmark, dataset)}",
    ]
    for name, step in pipeline.steps[:-1]:
        lines.append(f"step      {name}: {step!r}")
    lines.append(f"network   {type(classifier).__name__}, {classifier.n_features_in_:,} inputs")
    lines += ["", model_summary_text(classifier.model_).rstrip()]
    return "\n".join(lines)


def _data_line(benchmark, dataset) -> str:
    from bench.data.catalog import dataset_geometry

    if dataset is None:
        shape, n_classes = dataset_geometry(benchmark.dataset)
        return f"{benchmark.dataset}, {'x'.join(map(str, shape))} images, {n_classes} classes"
    sizes = dataset.sizes
    names = ", ".join(dataset.class_names)
    return (
        f"{dataset.name} ({dataset.source}): {sizes['train']:,} training and "
        f"{sizes['test']:,} test images as {'x'.join(map(str, dataset.image_shape))}, "
        f"{dataset.n_classes} classes ({shorten(names, 60, placeholder=' ...')})"
    )


def predictions_text(predictions) -> str:
    """One line per picture: its file, then the three most probable classes with their
    probabilities; for a classifier without probabilities its class, then ``scores``
    and the three highest decision scores, if it has them."""
    rows = []
    for p in predictions:
        if p.probabilities is not None:
            rows.append((p.image, *(f"{name} {value:.3f}" for name, value in p.top(3))))
        elif p.scores is not None:
            ranked = (f"{name} {value:.2f}" for name, value in p.top(3))
            rows.append((p.image, p.prediction, "scores", *ranked))
        else:
            rows.append((p.image, p.prediction))
    width = max(len(row) for row in rows)
    return table([row + ("",) * (width - len(row)) for row in rows])


def predictions_json(predictions) -> str:
    """The predictions as a JSON list of ``{"image", "prediction", "probabilities",
    "scores"}``; ``probabilities`` is null for a classifier that gives none, ``scores``
    (decision scores) null unless it gives them instead."""
    import json

    return json.dumps(
        [
            {
                "image": p.image,
                "prediction": p.prediction,
                "probabilities": p.probabilities,
                "scores": p.scores,
            }
            for p in predictions
        ],
        indent=2,
    )


def readable(trials):
    """The trials table as text people read: whole numbers as whole numbers (pandas
    stores a column with gaps as floats: ``units_2 16.0``), and a parameter a trial did
    not use left blank rather than ``NaN``."""

    def text(value) -> str:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if isinstance(value, float):
            return str(int(value)) if value.is_integer() else f"{value:.6g}"
        return str(value)

    return trials.astype(object).map(text)


def perf_summary(figures) -> str:
    """One row per figure: value, target, pass or miss, and how it was measured."""
    rows = [("check", "figure", "value", "target", "", "measured")]
    for figure in figures:
        rows.append(
            (
                figure.check,
                figure.name,
                f"{figure.value:.3g}{figure.unit}",
                figure.target_text,
                "ok" if figure.passed else "MISS",
                figure.detail,
            )
        )
    return table(rows, right_aligned={2})


def table(rows: Sequence[Sequence[object]], right_aligned: Iterable[int] = ()) -> str:
    """Rows as aligned text columns, two spaces apart; every cell as written (no number
    parsing: ``0.9700`` keeps its digits)."""
    return tabulate(
        rows, tablefmt="plain", disable_numparse=True, colalign=_alignment(rows, right_aligned)
    )


def markdown_table(
    rows: Sequence[Sequence[object]],
    right_aligned: Iterable[int] = (),
    code_columns: Iterable[int] = (),
) -> str:
    """Rows as a GitHub Markdown table; the first row is the header."""
    code_columns = set(code_columns)
    header, *body = rows
    body = [[f"`{v}`" if i in code_columns else v for i, v in enumerate(row)] for row in body]
    return tabulate(
        body,
        headers=[str(name) for name in header],
        tablefmt="pipe",  # marks each column's alignment in its rule
        disable_numparse=True,
        colalign=_alignment(rows, right_aligned),
    )


def _alignment(rows: Sequence[Sequence[object]], right_aligned: Iterable[int]) -> list[str]:
    right = set(right_aligned)
    return ["right" if i in right else "left" for i in range(len(rows[0]))]

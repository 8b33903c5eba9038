"""The short tables the commands print at the end."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bench.tracking.store import ui_command


def run_summary(report) -> str:
    """The short table printed at the end of ``bench run``."""
    outcome, test = report.outcome, report.outcome.test
    epochs = len(outcome.history.get("loss", []))
    rows = [
        ("benchmark", f"{report.benchmark.name} on {report.dataset.name}, seed {report.seed}"),
        (
            "training",
            f"{epochs} epochs in {outcome.fit_seconds:.1f} s, {outcome.n_weights:,} weights",
        ),
    ]
    if "val_accuracy" in outcome.history:
        rows.append(("val accuracy", f"{outcome.history['val_accuracy'][-1]:.4f} (last epoch)"))
    rows += [
        ("test accuracy", f"{test.accuracy:.4f}"),
        ("test macro F1", f"{test.macro_f1:.4f}"),
        ("run id", f"{report.run_id} (experiment '{report.experiment}')"),
        ("MLflow UI", ui_command(report.tracking_uri)),
    ]
    return table(rows)


def study_summary(report) -> str:
    """Top trials, the test score of the refitted best, and how to re-run it."""
    trials = report.table
    value_column = "value" if "value" in trials else "values_0"
    top = trials[trials["state"] == "COMPLETE"].sort_values(value_column, ascending=False)
    lines = [top.head(5).to_string(index=False), ""]
    rows = [("study", f"{report.study.study_name}: {len(trials)} trials")]
    if report.refit is not None:
        rows.append(("best refit, test accuracy", f"{report.refit.test.accuracy:.4f}"))
        rows.append(("re-run the best", report.rerun_command))
    rows += [
        ("parent run", f"{report.parent_run_id} (experiment '{report.experiment}')"),
        ("MLflow UI", ui_command(report.tracking_uri)),
    ]
    return "\n".join(lines) + table(rows)


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
    """Rows as aligned text columns, two spaces apart."""
    right_aligned = set(right_aligned)
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            str(cell).rjust(width) if i in right_aligned else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def markdown_table(
    rows: Sequence[Sequence[object]],
    right_aligned: Iterable[int] = (),
    code_columns: Iterable[int] = (),
) -> str:
    """Rows as a GitHub Markdown table; the first row is the header."""
    right_aligned, code_columns = set(right_aligned), set(code_columns)
    header, *body = rows
    rule = ["---:" if i in right_aligned else "---" for i in range(len(header))]

    def line(cells) -> str:
        return "| " + " | ".join(str(cell) for cell in cells) + " |"

    def cell(i: int, value: object) -> str:
        return f"`{value}`" if i in code_columns else str(value)

    lines = [line(header), line(rule)]
    lines += [line(cell(i, value) for i, value in enumerate(row)) for row in body]
    return "\n".join(lines)

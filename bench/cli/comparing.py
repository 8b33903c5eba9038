"""``bench compare`` and ``bench report``: what the store holds, as a table or a page.

Neither needs Keras: they read MLflow (quietly, unless ``--verbose``) and draw with
matplotlib.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from bench.errors import BenchError, UsageError


def command_compare(args: argparse.Namespace) -> int:
    from bench.cli.orphans import close_orphans
    from bench.tracking.history import RunRecord, experiment_runs, open_store, runs_and_children
    from bench.use_cases.compare import (
        SCORE,
        accuracy_time_figure,
        chosen_pair,
        compare_runs,
        left_out_text,
        paired_test,
        render,
    )

    _quiet(args.verbose)
    client = open_store()
    close_orphans(client)  # else a run whose process was killed is "still running"
    records: dict[str, RunRecord] = {}
    empty = []
    if args.experiments or not args.runs:
        for name, runs in experiment_runs(client, args.experiments or None).items():
            # MLflow's own empty "Default" experiment is noise unless it was named.
            if not any(SCORE in run.metrics for run in runs) and (runs or args.experiments):
                empty.append(name)
            records.update((run.run_id, run) for run in runs)
    records.update((run.run_id, run) for run in runs_and_children(client, args.runs))
    comparison = compare_runs(list(records.values()))
    left_out = left_out_text(comparison.left_out)
    if not comparison.configurations:
        where = ", ".join(f"'{name}'" for name in empty) or "the runs given"
        raise BenchError(
            f"nothing to compare: no scored run in {where}"
            + (f" ({left_out})" if left_out else "")
            + "; `python -m bench run NAME` makes one"
        )
    pair = chosen_pair(comparison, args.pair)  # a wrong row number fails before the table
    if args.plot:
        _save_plot(accuracy_time_figure(comparison), args.plot)
    for name in empty:
        _note(f"experiment '{name}' has no scored runs (none with a test accuracy)")
    print(render(comparison, args.format))
    if left_out:
        _note(left_out)
    if pair is not None:
        verdict = paired_test(comparison, *pair).text
        if args.format == "csv":
            _note(verdict)  # stdout stays a CSV file
        elif args.format == "html":
            print(f"<p>{_escaped(verdict)}</p>")
        else:
            print(f"\n{verdict}")
    return 0


def _save_plot(figure, path: str) -> None:
    target = Path(path)
    if target.suffix.lower() != ".png":
        raise UsageError(f"--plot {path}: give a .png file name")
    if not target.parent.is_dir():
        raise UsageError(f"--plot {path}: no folder {target.parent.resolve()}")
    figure.savefig(target)
    _note(f"wrote {target}")


def command_report(args: argparse.Namespace) -> int:
    from bench.cli.orphans import close_orphans
    from bench.tracking.history import open_store
    from bench.use_cases.report import experiment_report

    _quiet(args.verbose)
    path = Path(args.output or default_report_name(args.experiment))
    if not path.parent.is_dir():  # said before the work, not after it
        raise UsageError(f"cannot write the report to {path}: no folder {path.parent}")
    close_orphans(open_store())  # else a run whose process was killed is "still running"
    handout = experiment_report(args.experiment)
    try:
        path.write_text(handout.html, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write the report to {path}: {error.strerror}") from None
    print(f"report written to {path.resolve()}")
    if handout.logged_on:
        print(f"also logged as report.html on the study's parent run {handout.logged_on}")
    return 0


def default_report_name(experiment: str) -> str:
    """``digits-mlp study`` -> ``digits-mlp-study-report.html``."""
    return re.sub(r"[^\w.-]+", "-", experiment).strip("-.") + "-report.html"


def _quiet(verbose: bool) -> None:
    if not verbose:
        from bench.tracking.store import quiet_mlflow

        quiet_mlflow()


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def _escaped(text: str) -> str:
    import html

    return html.escape(text)

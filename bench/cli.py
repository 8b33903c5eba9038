"""Command line: argument parsing and messages only.

Heavy imports (Keras, MLflow) happen after parsing, so ``--help`` and usage errors
are instant, and after the libraries have been told to keep quiet.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from bench.errors import BenchError, RunInterrupted, UsageError
from bench.interrupts import exit_code_for, sigterm_as_interrupt


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake as one line and exit code 2."""

    def error(self, message: str):
        raise UsageError(f"{message} (see '{self.prog} --help')")


def positive_int(text: str) -> int:
    """argparse type for counts that must be at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def seed_int(text: str) -> int:
    """argparse type for seeds: whole numbers from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got '{text}'") from None
    if not 0 <= value < 2**32:
        raise argparse.ArgumentTypeError(f"must be between 0 and 4294967295, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bench", description="Neural-network benchmarks with MLflow tracking.")
    parser.add_argument("--verbose", action="store_true", help="show the libraries' own logs")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    commands.add_parser("list", help="list the benchmarks")

    run = commands.add_parser("run", help="train a benchmark and log it to MLflow")
    run.add_argument("name", help="benchmark name (see 'bench list')")
    run.add_argument("--epochs", type=positive_int, help="override the benchmark's epochs")
    run.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    run.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="override a pipeline parameter, e.g. --set dropout=0.3 "
        "--set optimizer__learning_rate=1e-3 (repeatable)",
    )
    run.add_argument("--experiment", help="MLflow experiment (default: the benchmark name)")
    run.add_argument("--verbose", action="store_true", help="show the libraries' own logs")
    _add_study_parser(commands)
    _add_perf_parser(commands)
    return parser


def _add_perf_parser(commands) -> None:
    from bench.perf import CHECK_NAMES

    perf = commands.add_parser(
        "perf", help="measure the performance figures, each as a side-by-side ratio"
    )
    perf.add_argument(
        "names", nargs="*", metavar="NAME", help=f"checks (default: all): {', '.join(CHECK_NAMES)}"
    )
    perf.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures")
    perf.add_argument("--verbose", action="store_true", help="show the libraries' own logs")


def _add_study_parser(commands) -> None:
    from studies.options import PRUNERS, SAMPLERS

    study = commands.add_parser("study", help="search topology and optimizer with Optuna")
    study.add_argument("name", help="benchmark name (see 'bench list')")
    study.add_argument("--trials", type=positive_int, required=True, help="total trials wanted")
    study.add_argument("--timeout", type=positive_int, help="stop starting trials after S s")
    study.add_argument("--study-name", help="Optuna study (default: the benchmark name)")
    study.add_argument("--storage", help="Optuna storage URL (default: ./mlruns/optuna.journal)")
    study.add_argument("--sampler", choices=SAMPLERS, default="tpe")
    study.add_argument("--pruner", choices=PRUNERS, default="median")
    study.add_argument("--jobs", type=positive_int, default=1, help="trials run at once")
    study.add_argument(
        "--objectives", default="accuracy", help="'accuracy' or 'accuracy,weights' (Pareto)"
    )
    study.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    study.add_argument(
        "--max-epochs", type=positive_int, default=15, help="epoch budget per trial (default 15)"
    )
    study.add_argument(
        "--train-size",
        type=positive_int,
        default=None,
        help="training images per trial (default: the whole training split, which is "
        "the training set less its 10%% validation split)",
    )
    study.add_argument(
        "--no-refit",
        action="store_true",
        help="do not refit the best configuration and score it on the test set",
    )
    study.add_argument("--verbose", action="store_true", help="show the libraries' own logs")
    # How `--jobs K` starts its K-1 worker processes; not for users.
    study.add_argument("--worker-index", type=positive_int, help=argparse.SUPPRESS)
    study.add_argument("--worker-of", help=argparse.SUPPRESS)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m bench``; returns the process exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        with sigterm_as_interrupt():
            return _dispatch(argv)
    except RunInterrupted as stop:
        code, word = exit_code_for(stop)
        _say(
            f"{word}: run {stop.run_id} closed as KILLED after {stop.epochs_done} "
            f"epoch(s); its metrics so far are in MLflow"
        )
        return code
    except KeyboardInterrupt as stop:
        code, word = exit_code_for(stop)
        _say(word)
        return code
    except BenchError as error:
        _say(f"bench: error: {error}")
        return error.exit_code


def _dispatch(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.command in ("run", "study"):
        from bench.registry import get_benchmark

        get_benchmark(args.name)  # a typo is answered before the slow imports
    if args.command == "study":
        return _study_with_workers(args, argv)
    _start_libraries(verbose=args.verbose)
    if args.command == "list":
        return command_list()
    if args.command == "perf":
        return command_perf(args)
    return command_run(args, argv)


def _study_with_workers(args: argparse.Namespace, argv: list[str]) -> int:
    from bench.backend import share_cores

    jobs = 1 if args.worker_of else args.jobs
    share_cores(jobs)  # before Keras starts its thread pools; workers inherit it
    if jobs == 1:
        _start_libraries(verbose=args.verbose)
        return command_study(args)
    from bench.study_workers import WorkerPool

    # Started first, so their imports overlap this process's own.
    workers = WorkerPool(argv[argv.index("study") + 1 :], jobs - 1)
    try:
        _start_libraries(verbose=args.verbose)
        return command_study(args, workers)
    finally:
        workers.close()


def command_list() -> int:
    from bench.experiment import count_weights
    from bench.registry import benchmark_names, get_benchmark

    rows = [("benchmark", "dataset", "weights", "network")]
    for name in benchmark_names():
        benchmark = get_benchmark(name)
        weights = f"{count_weights(benchmark):,}"
        rows.append((name, benchmark.dataset, weights, benchmark.summary))
    print(_table(rows, right_aligned={2}))
    return 0


def command_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from bench.experiment import run_benchmark
    from bench.progress import EpochProgress, download_progress

    report = run_benchmark(
        args.name,
        seed=args.seed,
        epochs=args.epochs,
        assignments=args.assignments,
        experiment=args.experiment,
        callbacks=[EpochProgress()],
        download_progress=download_progress(),
        command=shlex.join(["python", "-m", "bench", *argv]),
    )
    print(run_summary(report))
    return 0


def command_study(args: argparse.Namespace, workers=None) -> int:
    from bench.progress import TrialProgress
    from bench.study import parse_objectives, run_study

    objectives = parse_objectives(args.objectives)
    if not args.verbose:
        import optuna  # configures its own handler at INFO on import, so set it after

        optuna.logging.set_verbosity(optuna.logging.ERROR)
    settings = dict(
        trials=args.trials,
        timeout=args.timeout,
        study_name=args.study_name,
        storage=args.storage,
        sampler=args.sampler,
        pruner=args.pruner,
        objectives=objectives,
        seed=args.seed,
        max_epochs=args.max_epochs,
        train_size=args.train_size,
    )
    if args.worker_of:
        run_study(args.name, **settings, worker_index=args.worker_index, worker_of=args.worker_of)
        return 0
    with TrialProgress(args.trials) as progress:
        report = run_study(
            args.name,
            **settings,
            workers=workers,
            refit=not args.no_refit,
            trial_callbacks=[progress],
        )
    for failure in report.worker_failures:
        _say(f"bench: {failure}")
    print(study_summary(report))
    return 0


def command_perf(args: argparse.Namespace) -> int:
    from bench.perf import CHECK_NAMES, checks

    names = args.names or list(CHECK_NAMES)
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"unknown perf check '{unknown[0]}'; valid: {', '.join(CHECK_NAMES)}")
    available = checks()
    figures = []
    for name in names:
        _say(f"perf: measuring {name}{' (quick)' if args.quick else ''} ...")
        figures += available[name](quick=args.quick)
    print(perf_summary(figures))
    missed = [figure for figure in figures if not figure.passed]
    if missed:
        _say(f"perf: {len(missed)} of {len(figures)} figures missed their target")
        return 1
    return 0


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
    return _table(rows, right_aligned={2})


def study_summary(report) -> str:
    """Top trials, the test score of the refitted best, and how to re-run it."""
    from bench.tracking import ui_command

    table = report.table
    value_column = "value" if "value" in table else "values_0"
    top = table[table["state"] == "COMPLETE"].sort_values(value_column, ascending=False)
    lines = [top.head(5).to_string(index=False), ""]
    rows = [("study", f"{report.study.study_name}: {len(table)} trials")]
    if report.refit is not None:
        rows.append(("best refit, test accuracy", f"{report.refit.test.accuracy:.4f}"))
        rows.append(("re-run the best", report.rerun_command))
    rows += [
        ("parent run", f"{report.parent_run_id} (experiment '{report.experiment}')"),
        ("MLflow UI", ui_command(report.tracking_uri)),
    ]
    return "\n".join(lines) + _table(rows)


def run_summary(report) -> str:
    """The short table printed at the end of ``bench run``."""
    from bench.tracking import ui_command

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
    return _table(rows)


def _start_libraries(*, verbose: bool) -> None:
    from bench.backend import import_keras

    import_keras(quiet=not verbose)
    if not verbose:
        from bench.tracking import quiet_mlflow

        quiet_mlflow()


def _table(rows, right_aligned=frozenset()) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [
            str(cell).rjust(width) if i in right_aligned else str(cell).ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def _say(message: str) -> None:
    print(message, file=sys.stderr)

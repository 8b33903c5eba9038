"""What each sub-command does: call the layers below, then print what they return.

Heavy imports (Keras, MLflow, Optuna) happen inside the commands, after parsing, so
``--help`` and usage errors are instant, and after the libraries have been told to
keep quiet.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Sequence

from bench.errors import UsageError


def dispatch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the parsed command; returns the exit code."""
    if args.command in ("run", "study"):
        from bench.benchmarks import get_benchmark

        get_benchmark(args.name)  # a typo is answered before the slow imports
    if args.command == "study":
        return _study_with_workers(args, argv)
    start_libraries(verbose=args.verbose)
    if args.command == "list":
        return command_list(args.format)
    if args.command == "perf":
        return command_perf(args)
    return command_run(args, argv)


def command_list(output_format: str = "text") -> int:
    from bench.benchmarks import benchmark_names, get_benchmark
    from bench.benchmarks.configure import count_weights
    from bench.cli.summaries import markdown_table, table

    rows = [("benchmark", "dataset", "weights", "network")]
    for name in benchmark_names():
        benchmark = get_benchmark(name)
        weights = f"{count_weights(benchmark):,}"
        rows.append((name, benchmark.dataset, weights, benchmark.summary))
    if output_format == "markdown":
        print(markdown_table(rows, right_aligned={2}, code_columns={0}))
    else:
        print(table(rows, right_aligned={2}))
    return 0


def command_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from bench.cli.progress import EpochProgress, download_progress
    from bench.cli.summaries import run_summary
    from bench.run import run_benchmark

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


def _study_with_workers(args: argparse.Namespace, argv: list[str]) -> int:
    from bench.backend import share_cores

    jobs = 1 if args.worker_of else args.jobs
    share_cores(jobs)  # before Keras starts its thread pools; workers inherit it
    if jobs == 1:
        start_libraries(verbose=args.verbose)
        return command_study(args)
    from studies.worker_pool import WorkerPool

    # Started first, so their imports overlap this process's own.
    workers = WorkerPool(argv[argv.index("study") + 1 :], jobs - 1)
    try:
        start_libraries(verbose=args.verbose)
        return command_study(args, workers)
    finally:
        workers.close()


def command_study(args: argparse.Namespace, workers=None) -> int:
    from bench.cli.progress import TrialProgress
    from bench.cli.summaries import study_summary
    from studies.algorithms import parse_objectives
    from studies.search import StudySettings, run_study, run_worker

    settings = StudySettings(
        trials=args.trials,
        timeout=args.timeout,
        study_name=args.study_name,
        storage=args.storage,
        sampler=args.sampler,
        pruner=args.pruner,
        objectives=parse_objectives(args.objectives),
        seed=args.seed,
        max_epochs=args.max_epochs,
        train_size=args.train_size,
    )
    if not args.verbose:
        import optuna  # configures its own handler at INFO on import, so set it after

        optuna.logging.set_verbosity(optuna.logging.ERROR)
    if args.worker_of:
        run_worker(args.name, settings, worker_index=args.worker_index, worker_of=args.worker_of)
        return 0
    with TrialProgress(args.trials) as progress:
        report = run_study(
            args.name,
            settings,
            workers=workers,
            refit=not args.no_refit,
            trial_callbacks=[progress],
        )
    for failure in report.worker_failures:
        say(f"bench: {failure}")
    print(study_summary(report))
    return 0


def command_perf(args: argparse.Namespace) -> int:
    from bench.cli.summaries import perf_summary
    from bench.perf import CHECK_NAMES, checks

    names = args.names or list(CHECK_NAMES)
    unknown = [name for name in names if name not in CHECK_NAMES]
    if unknown:
        raise UsageError(f"unknown perf check '{unknown[0]}'; valid: {', '.join(CHECK_NAMES)}")
    available = checks()
    figures = []
    for name in names:
        say(f"perf: measuring {name}{' (quick)' if args.quick else ''} ...")
        figures += available[name](quick=args.quick)
    print(perf_summary(figures))
    missed = [figure for figure in figures if not figure.passed]
    if missed:
        say(f"perf: {len(missed)} of {len(figures)} figures missed their target")
        return 1
    return 0


def start_libraries(*, verbose: bool) -> None:
    """Import Keras (its backend's start-up lines hidden) and quiet MLflow's logging."""
    from bench.backend import import_keras

    import_keras(quiet=not verbose)
    if not verbose:
        from bench.tracking.store import quiet_mlflow

        quiet_mlflow()


def say(message: str) -> None:
    """A message for the user, on stderr."""
    print(message, file=sys.stderr)

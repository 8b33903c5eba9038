"""What each sub-command does: call the layers below, then print what they return.

Heavy imports (Keras, MLflow, Optuna) happen inside the commands, after parsing, so
``--help`` and usage errors are instant, and after the libraries have been told to
keep quiet.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from collections.abc import Sequence

from bench.errors import BenchError, UsageError


def dispatch(args: argparse.Namespace, argv: list[str]) -> int:
    """Run the parsed command; returns the exit code."""
    if args.command not in ("ui", "server", "perf"):  # those never look a benchmark up
        _load_benchmark_files(args)
    if args.command in ("run", "study", "describe"):
        from bench.benchmarks import get_benchmark

        benchmark = get_benchmark(args.name)  # a typo is answered before the slow imports
        if args.command == "study" and not args.grid:
            from studies.spaces import check_searchable

            check_searchable(benchmark)
    if args.command == "list":
        return command_list(args.format)  # from the declarations: no Keras, no MLflow
    if args.command == "ui":
        return command_ui(args)  # no Keras either
    if args.command == "server":
        return command_server(args)
    if args.command in ("compare", "report"):
        from bench.cli.comparing import command_compare, command_report

        return command_compare(args) if args.command == "compare" else command_report(args)
    if args.command == "study":
        return _study_with_workers(args, argv)
    start_libraries(verbose=args.verbose)
    if args.command == "perf":
        return command_perf(args)
    if args.command == "describe":
        return command_describe(args)
    if args.command == "predict":
        return command_predict(args)
    return command_run(args, argv)


def _load_benchmark_files(args: argparse.Namespace) -> None:
    """Register the benchmarks of $BENCH_BENCHMARKS's and --benchmarks' files."""
    from bench.benchmarks.user import benchmark_files, load_benchmark_files

    files = benchmark_files(getattr(args, "benchmarks", None))
    if files:
        if not args.verbose:  # before a file imports Keras, as start_libraries does
            from bench.runtime.backend import quiet_libraries

            quiet_libraries()
        load_benchmark_files(files)


def command_list(output_format: str = "text") -> int:
    from bench.benchmarks import benchmark_names, benchmark_origin, get_benchmark
    from bench.benchmarks.weights import declared_weights
    from bench.cli.summaries import markdown_table, table

    rows = [("benchmark", "from", "dataset", "epochs x batch", "weights", "network")]
    for name in benchmark_names():
        benchmark = get_benchmark(name)
        counted = declared_weights(benchmark)
        weights = "after fit" if counted is None else f"{counted:,}"
        # A baseline is fitted in one call: no epochs, no batches.
        epochs = f"{benchmark.epochs} x {benchmark.batch_size}" if benchmark.epochs else "one fit"
        origin = benchmark_origin(name)
        data = benchmark.dataset if benchmark.data is None else str(benchmark.data)  # the user's
        rows.append((name, origin, data, epochs, weights, benchmark.summary))
    if output_format == "markdown":
        print(markdown_table(rows, right_aligned={3, 4}, code_columns={0}))
    else:
        print(table(rows, right_aligned={3, 4}))
    return 0


def command_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from bench.cli.progress import EpochProgress, baseline_notice, download_progress, seed_notice
    from bench.cli.summaries import repeats_summary, run_summary
    from bench.use_cases.run import run_benchmark, run_repeats

    options = {
        "epochs": args.epochs,
        "assignments": args.assignments,
        "experiment": args.experiment,
        "callbacks": [EpochProgress()],
        "download_progress": download_progress(),
        "command": shlex.join(["python", "-m", "bench", *argv]),
        "on_fit": baseline_notice,
        "data": args.data,
        "label_column": args.label_column,
        "on_note": lambda note: say(f"data: {note}"),
    }
    if args.repeats is None:
        print(run_summary(run_benchmark(args.name, seed=args.seed, **options)))
    else:
        report = run_repeats(
            args.name, repeats=args.repeats, seed=args.seed, on_seed=seed_notice, **options
        )
        print(repeats_summary(report))
    return 0


def command_describe(args: argparse.Namespace) -> int:
    from bench.benchmarks import get_benchmark
    from bench.benchmarks.configure import built_network, configured_pipeline
    from bench.cli.summaries import network_description

    benchmark = get_benchmark(args.name)
    pipeline, _ = configured_pipeline(
        benchmark, pixel_max=255.0, seed=0, epochs=None, assignments=args.assignments
    )
    dataset = None
    if args.data is not None or benchmark.data is not None:  # the user's: its classes count
        from bench.use_cases.run import load_run_data

        dataset, params = load_run_data(benchmark, data=args.data, label_column=args.label_column)
        for note in params.get("notes", ()):
            say(f"data: {note}")
    n_classes = dataset.n_classes if dataset is not None else None
    classifier = built_network(pipeline, benchmark, n_classes=n_classes)
    print(network_description(benchmark, pipeline, classifier, dataset))
    return 0


def command_predict(args: argparse.Namespace) -> int:
    from bench.cli.summaries import predictions_json, predictions_text
    from bench.use_cases.predict import predict_images

    answer = predict_images(args.run_id, args.images, save_preprocessed=args.save_preprocessed)
    if answer.notice:
        say(f"note: {answer.notice}")
    show = predictions_json if args.format == "json" else predictions_text
    print(show(answer.pictures))
    return 0


def _study_with_workers(args: argparse.Namespace, argv: list[str]) -> int:
    from bench.runtime.backend import share_cores

    jobs = 1 if args.worker_of else args.jobs or _default_jobs(args)
    share_cores(jobs)  # before Keras starts its thread pools; workers inherit it
    if jobs == 1:
        start_libraries(verbose=args.verbose)
        return command_study(args, argv)
    from bench.runtime.interrupts import on_signal
    from studies.worker_pool import WorkerPool

    # Started first, so their imports overlap this process's own.
    workers = WorkerPool(argv[argv.index("study") + 1 :], jobs - 1)
    try:
        with on_signal(workers.terminate):  # they stop while this process unwinds
            start_libraries(verbose=args.verbose)
            return command_study(args, argv, workers)
    finally:
        workers.close()


def _default_jobs(args: argparse.Namespace) -> int:
    """Trials at once when --jobs is not given: the machine's (see
    :func:`~bench.runtime.backend.machine_jobs`), no more than the trials asked for."""
    from bench.runtime.backend import machine_jobs

    jobs = machine_jobs()
    trials = _trials_asked(args)
    if trials is not None:
        jobs = min(jobs, trials)
    if jobs > 1:
        say(f"study: {jobs} trials at once, each on its share of the cores (--jobs 1: one by one)")
    return jobs


def _trials_asked(args: argparse.Namespace) -> int | None:
    grid = parse_grid(args.grid)
    return args.trials or (math.prod(len(values) for _, values in grid) if grid else None)


def command_study(args: argparse.Namespace, argv: Sequence[str], workers=None) -> int:
    from bench.cli.progress import EpochProgress, TrialProgress, refit_notice
    from bench.cli.summaries import study_summary
    from studies.algorithms import parse_objectives
    from studies.search import StudySettings, run_study, run_worker

    grid = parse_grid(args.grid)
    trials = _trials_asked(args)
    if trials is None and args.timeout is None:
        raise UsageError(
            "say how long to search: --trials N, --timeout SECONDS (trials until then), "
            "or --grid (every cell once)"
        )
    settings = StudySettings(
        trials=trials,
        timeout=args.timeout,
        study_name=args.study_name,
        storage=args.storage,
        sampler=args.sampler,
        pruner=args.pruner,
        objectives=parse_objectives(args.objectives),
        seed=args.seed,
        max_epochs=args.max_epochs,
        train_size=args.train_size,
        grid=grid,
        data=args.data,
        label_column=args.label_column,
    )
    if not args.verbose:
        import optuna  # configures its own handler at INFO on import, so set it after

        optuna.logging.set_verbosity(optuna.logging.ERROR)
    command = shlex.join(["python", "-m", "bench", *argv])
    if args.worker_of:
        run_worker(
            args.name,
            settings,
            worker_index=args.worker_index,
            worker_of=args.worker_of,
            command=command,
        )
        return 0
    with TrialProgress(trials) as progress:
        report = run_study(
            args.name,
            settings,
            workers=workers,
            refit=not args.no_refit,
            refit_repeats=args.refit_repeats,
            trial_callbacks=[progress],
            refit_callbacks=[EpochProgress()],
            on_refit=refit_notice,
            command=command,
        )
    for failure in report.worker_failures:
        say(f"bench: {failure}")
    print(study_summary(report))
    return 0


def parse_grid(texts: Sequence[str]) -> tuple[tuple[str, tuple], ...]:
    """``["depth=5,20", "activation=relu,tanh"]`` -> ``(("depth", (5, 20)), ...)``."""
    from bench.benchmarks.overrides import parse_value

    grid = []
    for text in texts:
        name, sep, raw = text.partition("=")
        values = tuple(parse_value(value.strip()) for value in raw.split(",") if value.strip())
        if not sep or not name.strip() or not values:
            raise UsageError(f"--grid expects name=v1,v2,..., got '{text}'; e.g. --grid depth=5,20")
        if len(set(map(repr, values))) != len(values):
            raise UsageError(f"--grid {name.strip()} repeats a value: {raw}")
        grid.append((name.strip(), values))
    if len({name for name, _ in grid}) != len(grid):
        raise UsageError("--grid names a parameter twice; give each once with all its values")
    return tuple(grid)


def command_perf(args: argparse.Namespace) -> int:
    from bench.cli.summaries import perf_summary
    from bench.perf import CHECK_NAMES, LONG_CHECKS, checks

    names = args.names or [name for name in CHECK_NAMES if name not in LONG_CHECKS]
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


def command_ui(args: argparse.Namespace) -> int:
    from bench.cli.orphans import close_orphans
    from bench.cli.summaries import ui_addresses
    from bench.tracking.store import open_client, quiet_mlflow, tracking_uri
    from bench.tracking.ui import (
        DEFAULT_UI_PORT,
        forget_ui,
        is_server,
        record_ui,
        start_ui,
        store_file,
    )
    from bench.tracking.views import update_runs_views

    if not args.verbose:
        quiet_mlflow()
    uri = tracking_uri()
    if is_server(uri):
        raise UsageError(f"MLFLOW_TRACKING_URI is a tracking server with its own UI: open {uri}")
    if not store_file(uri).exists():
        raise UsageError(
            f"no MLflow store at {store_file(uri)}; run `python -m bench run ...` here first, "
            "or start `bench ui` in the folder where you ran bench"
        )
    client = open_client(uri)
    close_orphans(client)
    update_runs_views(client)  # stores written before bench kept its columns there
    servers = []
    try:
        servers.append(start_ui(uri, args.port))
        record_ui(uri, servers[0])  # `bench run` meanwhile prints addresses on this port
        if args.study:
            from studies.dashboard import start_dashboard

            servers.append(start_dashboard(args.storage))
        if args.port is None and servers[0].port != DEFAULT_UI_PORT:
            say(f"port {DEFAULT_UI_PORT} is in use: the MLflow UI is on {servers[0].port}")
        print(ui_addresses(uri, servers), flush=True)
        say(
            "MLflow's own experiment list opens an experiment on its GenAI overview: "
            'click "Model training" at its top left once, and it opens the runs'
        )
        say("Ctrl-C stops the servers")
        # A run killed while the UI is open would otherwise show RUNNING until the next
        # command: the UI is where one watches runs.
        _wait_for_any(servers, every_minute=lambda: close_orphans(client))
    except KeyboardInterrupt:
        pass
    finally:
        forget_ui(uri)
        for server in servers:
            server.stop()
    say("stopped")
    return 0


def command_server(args: argparse.Namespace) -> int:
    from bench.cli.summaries import server_addresses
    from bench.tracking.store import quiet_mlflow
    from bench.tracking.ui import DEFAULT_UI_PORT, start_tracking_server

    if not args.verbose:
        quiet_mlflow()
    server = start_tracking_server(args.database, args.artifacts, host=args.host, port=args.port)
    try:
        if args.port is None and server.port != DEFAULT_UI_PORT:
            say(f"port {DEFAULT_UI_PORT} is in use: the tracking server is on {server.port}")
        print(server_addresses(server, args.storage), flush=True)
        say("Ctrl-C stops the server")
        _wait_for_any([server])
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    say("stopped")
    return 0


def _wait_for_any(servers, every_minute=None) -> None:
    """Until Ctrl-C, or until a server exits on its own (an error: it says why);
    calling ``every_minute()``, if given, once a minute meanwhile."""
    import time

    next_call = time.monotonic() + 60
    while True:
        for server in servers:
            if server.process.poll() is not None:
                raise BenchError(
                    f"{server.name} stopped with code {server.process.returncode}: "
                    f"{server.last_lines()}"
                )
        if every_minute is not None and time.monotonic() >= next_call:
            every_minute()
            next_call = time.monotonic() + 60
        time.sleep(0.5)


def start_libraries(*, verbose: bool) -> None:
    """Import Keras (its backend's start-up lines hidden) and quiet MLflow's logging."""
    from bench.runtime.backend import import_keras, share_cores

    share_cores(1)  # a SLURM task's cores, not the node's (`bench study` shared them first)
    import_keras(quiet=not verbose)
    if not verbose:
        from bench.tracking.store import quiet_mlflow

        quiet_mlflow()


def say(message: str) -> None:
    """A message for the user, on stderr."""
    print(message, file=sys.stderr)

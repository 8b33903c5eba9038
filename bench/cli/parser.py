"""The command line's arguments. Imports nothing heavy, so ``--help`` is instant."""

from __future__ import annotations

import argparse

from bench.errors import UsageError
from bench.perf import CHECK_NAMES, LONG_CHECKS
from studies.options import DEFAULT_MAX_EPOCHS, DEFAULT_PRUNER, PRUNERS, SAMPLERS


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


def _shared_options() -> _Parser:
    """The options every sub-command takes, given to each through argparse's ``parents``."""
    shared = _Parser(add_help=False)
    shared.add_argument("--verbose", action="store_true", help="show the libraries' own logs")
    return shared


SHARED_OPTIONS = _shared_options()


def _benchmark_options() -> _Parser:
    """The options of the sub-commands that find benchmarks by name (and ``list``)."""
    options = _Parser(add_help=False)
    options.add_argument(
        "--benchmarks",
        action="append",
        default=[],
        metavar="FILE",
        help="a Python file declaring your own benchmarks (repeatable; $BENCH_BENCHMARKS "
        "names files for every command)",
    )
    return options


BENCHMARK_OPTIONS = _benchmark_options()


def build_parser() -> argparse.ArgumentParser:
    """The ``bench`` parser with its sub-commands."""
    parser = _Parser(prog="bench", description="Neural-network benchmarks with MLflow tracking.")
    parser.add_argument("--verbose", action="store_true", help="show the libraries' own logs")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    listing = commands.add_parser(
        "list", parents=[SHARED_OPTIONS, BENCHMARK_OPTIONS], help="list the benchmarks"
    )
    listing.add_argument(
        "--format",
        choices=("text", "markdown"),
        default="text",
        help="a text table, or the Markdown table the README shows",
    )
    _add_run_parser(commands)
    _add_describe_parser(commands)
    _add_predict_parser(commands)
    _add_study_parser(commands)
    _add_perf_parser(commands)
    _add_ui_parser(commands)
    _add_server_parser(commands)
    _add_compare_parser(commands)
    _add_report_parser(commands)
    return parser


def _add_compare_parser(commands) -> None:
    compare = commands.add_parser(
        "compare",
        parents=[SHARED_OPTIONS],
        help="compare scored runs: one row per configuration, seeds grouped, best first",
    )
    compare.add_argument(
        "experiments",
        nargs="*",
        metavar="EXPERIMENT",
        help="MLflow experiments (default: every experiment in the store)",
    )
    compare.add_argument(
        "--runs", nargs="+", default=[], metavar="ID", help="these runs (and their children)"
    )
    compare.add_argument(
        "--format",
        choices=("text", "csv", "markdown", "html"),
        default="text",
        help="a text table (default), CSV with every number, Markdown, or an HTML table",
    )
    compare.add_argument(
        "--pair",
        nargs=2,
        type=positive_int,
        metavar=("ROW", "ROW"),
        help="test the difference of these two rows (numbers from the # column) with a "
        "paired t-test over their shared seeds; with only two rows they are tested anyway",
    )
    compare.add_argument(
        "--plot",
        metavar="FILE.png",
        help="also draw test accuracy against training time, a point per run and each "
        "row's mean with its 95%% interval, into this picture",
    )


def _add_report_parser(commands) -> None:
    report = commands.add_parser(
        "report",
        parents=[SHARED_OPTIONS],
        help="one experiment as a single HTML file to share (tables, curves, plots)",
    )
    report.add_argument("experiment", metavar="EXPERIMENT", help="an MLflow experiment")
    report.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write it (default: EXPERIMENT-report.html here)",
    )


def _add_server_parser(commands) -> None:
    server = commands.add_parser(
        "server",
        parents=[SHARED_OPTIONS],
        help="start MLflow's tracking server on a database, for studies on several machines",
    )
    server.add_argument(
        "database", metavar="DATABASE_URL", help="its store, e.g. postgresql://bench@db-host/mlflow"
    )
    server.add_argument(
        "--artifacts", required=True, metavar="DIR", help="where it keeps the runs' artifacts"
    )
    server.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this machine only; give this "
        "machine's address for others to reach it)",
    )
    server.add_argument(
        "--port",
        type=positive_int,
        help="port, refused if in use (default 5000, or a free one if 5000 is in use)",
    )
    server.add_argument(
        "--storage",
        metavar="URL",
        help="the Optuna storage the workers will share, shown in the command it prints",
    )


def _add_ui_parser(commands) -> None:
    ui = commands.add_parser(
        "ui",
        parents=[SHARED_OPTIONS],
        help="open the MLflow UI on bench's store (and Optuna's dashboard on a study)",
    )
    ui.add_argument(
        "--port",
        type=positive_int,
        help="MLflow UI port, refused if in use (default 5000, or a free one if 5000 is in use)",
    )
    ui.add_argument(
        "--study",
        action="store_true",
        help="also start optuna-dashboard on the study storage (the 'dashboard' extra)",
    )
    ui.add_argument("--storage", help="Optuna storage URL (default: ./mlruns/optuna.journal)")


def _add_data_options(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--data",
        metavar="PATH",
        help="train on your own images instead of the benchmark's dataset: a folder of "
        "class folders (optionally inside train/ and test/), a CSV of a label and pixels "
        "a row, or an .npz with X_train, y_train, X_test, y_test",
    )
    command.add_argument(
        "--label-column", metavar="NAME", help="the CSV's label column, if not label or class"
    )


def _add_run_parser(commands) -> None:
    run = commands.add_parser(
        "run",
        parents=[SHARED_OPTIONS, BENCHMARK_OPTIONS],
        help="train a benchmark and log it to MLflow",
    )
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
    run.add_argument(
        "--repeats",
        type=positive_int,
        metavar="K",
        help="train K times, seeds --seed, --seed+1, ...: one parent run with the mean, "
        "standard deviation and 95%% interval of the test scores, a child run per seed",
    )
    run.add_argument("--experiment", help="MLflow experiment (default: the benchmark name)")
    _add_data_options(run)


def _add_describe_parser(commands) -> None:
    describe = commands.add_parser(
        "describe",
        parents=[SHARED_OPTIONS, BENCHMARK_OPTIONS],
        help="a benchmark's network, layer by layer, without data or training",
    )
    describe.add_argument("name", help="benchmark name (see 'bench list')")
    describe.add_argument(
        "--set",
        dest="assignments",
        action="append",
        default=[],
        metavar="PARAM=VALUE",
        help="override a pipeline parameter, as for 'bench run' (repeatable)",
    )
    _add_data_options(describe)


def _add_predict_parser(commands) -> None:
    predict = commands.add_parser(
        "predict",
        parents=[SHARED_OPTIONS, BENCHMARK_OPTIONS],
        help="classify your own pictures with a run's logged model",
    )
    predict.add_argument(
        "run_id",
        metavar="RUN_ID",
        help="the id of a run with a model: a `bench run`, one seed of --repeats, "
        "or a study's parent (its refit)",
    )
    predict.add_argument("images", nargs="+", metavar="IMAGE", help="PNG, JPEG, ... files")
    predict.add_argument("--format", choices=("text", "json"), default="text")
    predict.add_argument(
        "--save-preprocessed",
        metavar="DIR",
        help="also write what the model saw, one PNG per picture, into DIR",
    )


def _add_study_parser(commands) -> None:
    study = commands.add_parser(
        "study",
        parents=[SHARED_OPTIONS, BENCHMARK_OPTIONS],
        help="search topology and optimizer with Optuna",
    )
    study.add_argument("name", help="benchmark name (see 'bench list')")
    study.add_argument(
        "--trials",
        type=positive_int,
        help="total trials wanted (with --grid: default one per cell of the grid; with "
        "--timeout: default as many as fit)",
    )
    study.add_argument(
        "--grid",
        action="append",
        default=[],
        metavar="PARAM=V1,V2,...",
        help="run every combination of these values once, all else at the benchmark's "
        "settings (Optuna's GridSampler); repeatable, e.g. --grid depth=5,20,40",
    )
    study.add_argument(
        "--timeout",
        type=positive_int,
        metavar="S",
        help="a budget of S seconds: the last trials stop at it (counted as pruned); the "
        "refit comes after",
    )
    study.add_argument("--study-name", help="Optuna study (default: the benchmark name)")
    study.add_argument("--storage", help="Optuna storage URL (default: ./mlruns/optuna.journal)")
    study.add_argument("--sampler", choices=SAMPLERS, default="tpe")
    study.add_argument(
        "--pruner",
        choices=PRUNERS,
        help=f"stops hopeless trials early, by epochs (default {DEFAULT_PRUNER}; networks only)",
    )
    study.add_argument(
        "--jobs",
        type=positive_int,
        help="trials run at once, each with its share of the cores (default: one per core, "
        "as memory allows, no more than --trials; $BENCH_JOBS sets another default)",
    )
    study.add_argument(
        "--objectives", default="accuracy", help="'accuracy' or 'accuracy,weights' (Pareto)"
    )
    study.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    study.add_argument(
        "--max-epochs",
        type=positive_int,
        help=f"epoch budget per trial (default: the benchmark's epochs, at least "
        f"{DEFAULT_MAX_EPOCHS}; networks only)",
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
    study.add_argument(
        "--refit-repeats",
        type=positive_int,
        default=1,
        metavar="K",
        help="refit the best configuration K times (seeds --seed, --seed+1, ...) and "
        "report the test scores' mean, standard deviation and 95%% interval (default 1)",
    )
    _add_data_options(study)
    # How `--jobs K` starts its K-1 worker processes; not for users.
    study.add_argument("--worker-index", type=positive_int, help=argparse.SUPPRESS)
    study.add_argument("--worker-of", help=argparse.SUPPRESS)


def _add_perf_parser(commands) -> None:
    perf = commands.add_parser(
        "perf",
        parents=[SHARED_OPTIONS],
        help="measure the performance figures, each as a side-by-side ratio",
    )
    perf.add_argument(
        "names",
        nargs="*",
        metavar="NAME",
        help=f"checks (default: all but {', '.join(LONG_CHECKS)}): {', '.join(CHECK_NAMES)}",
    )
    perf.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not figures")

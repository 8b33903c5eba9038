"""``bench study``: an Optuna search whose trials are MLflow child runs. No printing.

:func:`run_study` runs (or resumes) a study in this process, with the parent run, the
table, the plots and the refit of the best configuration. :func:`run_worker` is what a
``--jobs`` worker process runs: trials only, as children of the main process's parent
run. Both open the study the same way (:func:`_open_study`).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import psutil
from optuna.distributions import BaseDistribution

from bench.benchmarks import Benchmark, benchmark_origin, get_benchmark
from bench.benchmarks.configure import check_trains_by_epoch
from bench.benchmarks.overrides import resolve_overrides
from bench.data import Dataset
from bench.errors import UsageError
from bench.runtime.processes import slurm_job
from bench.tracking import vocabulary
from bench.tracking.runs import (
    TrackedRun,
    close_orphaned_runs,
    close_runs_of,
    provenance_tags,
    tracked_run,
)
from bench.tracking.store import Client, open_client
from bench.use_cases.run import load_run_data
from studies.algorithms import make_pruner, make_sampler
from studies.feature_cache import FeatureCache
from studies.objective import TrialObjective, search_split
from studies.options import DEFAULT_MAX_EPOCHS, DEFAULT_PRUNER, DIRECTIONS
from studies.plots import (
    best_so_far_figure,
    grid_figure,
    search_progress_figure,
    study_figures,
    study_notes,
)
from studies.refit import Refit, refit_best
from studies.spaces import baseline_params, changed_distributions, known_good
from studies.stale import enqueue, fail_stale_trials, fail_trials_of
from studies.storage import default_storage, open_storage
from studies.trials import (
    BestSoFar,
    StopAtTotal,
    baseline_trial,
    best_trial,
    count_claimed,
    count_finished,
    search_progress,
    trials_table,
)
from studies.worker_pool import (
    STOP_WAIT_VARIABLE,
    WorkerPool,
    parent_run_attr,
    wait_for_parent_run,
)

# What study.optimize calls after each trial.
TrialCallback = Callable[[optuna.Study, optuna.trial.FrozenTrial], None]


@dataclass(frozen=True)
class StudySettings:
    """What ``bench study`` is asked for; the same in the main process and its workers.

    Parameters
    ----------
    trials : int or None
        Total trials wanted in the study (finished ones count; a resumed study adds
        only the missing ones); ``None``: as many as ``timeout`` allows.
    timeout : float or None
        Stop starting trials after this many seconds.
    study_name : str or None
        Default: the benchmark's name (``-pareto`` added for two objectives).
    storage : str or None
        Optuna storage URL or journal path; default ``./mlruns/optuna.journal``.
    sampler : str
        A name from :mod:`studies.options`.
    pruner : str or None
        A name from :mod:`studies.options`; default ``DEFAULT_PRUNER`` for a network.
        A baseline is fitted in one call: nothing to prune.
    objectives : tuple of str
        ``("accuracy",)`` or ``("accuracy", "weights")``.
    seed : int
        Seeds the sampler and the validation split.
    max_epochs : int or None
        Epoch budget of one trial; default the benchmark's own epochs, and at least
        ``DEFAULT_MAX_EPOCHS``, for a network; none for a baseline.
    train_size : int or None
        Training images per trial; default the whole training split.
    grid : tuple of (str, tuple) pairs
        Parameter name -> values: instead of searching, run every combination once,
        all other settings at the benchmark's (Optuna's ``GridSampler``, no pruning).
    data : str or None
        The user's images to search on instead of the benchmark's dataset (see
        :func:`bench.use_cases.run.load_run_data`); the default study name then says so.
    label_column : str or None
        The label column of a CSV ``data``.
    """

    trials: int | None
    timeout: float | None = None
    study_name: str | None = None
    storage: str | None = None
    sampler: str = "tpe"
    pruner: str | None = None
    objectives: tuple[str, ...] = ("accuracy",)
    seed: int = 0
    max_epochs: int | None = None
    train_size: int | None = None
    grid: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    data: str | None = None
    label_column: str | None = None


@dataclass(frozen=True, kw_only=True)
class StudyReport:
    """What ``bench study`` shows at the end."""

    study: optuna.Study
    parent_run_id: str
    experiment: str
    tracking_uri: str
    table: pd.DataFrame
    refit: Refit | None
    worker_failures: tuple[str, ...] = ()
    experiment_id: str = ""
    comparison: SearchComparison | None = None


@dataclass(frozen=True, kw_only=True)
class SearchComparison:
    """How the best trial compares with the baseline, and what the search cost."""

    best_value: float
    best_trial: int
    baseline_value: float | None
    cpu_seconds: float
    elapsed_seconds: float
    baseline_trial: int | None = None
    trials: int = 0  # finished trials
    # What sampling added: the best enqueued trial (baseline or known-good) and the
    # CPU-minutes until a sampled trial beat it (None: none did).
    best_enqueued: float | None = None
    best_enqueued_trial: int | None = None
    minutes_to_beat_enqueued: float | None = None

    @property
    def gain(self) -> float | None:
        """Validation accuracy gained over the baseline (None without a baseline)."""
        return None if self.baseline_value is None else self.best_value - self.baseline_value


@dataclass(frozen=True, kw_only=True)
class _OpenStudy:
    """What the main process and its workers prepare alike (kept in this module: the
    refit is handed the values it needs by keyword)."""

    benchmark: Benchmark
    settings: StudySettings
    study: optuna.Study
    client: Client
    experiment: str
    dataset: Dataset
    split: Dataset  # its "test" split is the validation split every trial is scored on
    feature_cache: FeatureCache
    command: str | None = None


def run_study(
    benchmark: Benchmark | str,
    settings: StudySettings,
    *,
    refit: bool = True,
    refit_repeats: int = 1,
    trial_callbacks: Sequence[TrialCallback] = (),
    refit_callbacks: Sequence[Any] = (),
    on_refit: Callable[[int, int, int], None] | None = None,
    workers: WorkerPool | None = None,
    command: str | None = None,
) -> StudyReport:
    """Run (or resume) a study until it holds ``settings.trials`` finished trials.

    ``workers`` (started by the command line for ``--jobs``) run trials alongside
    this process, as children of its parent run. ``command`` is the command line,
    recorded on every run as ``bench run`` records it. The best configuration is then
    refitted ``refit_repeats`` times (seeds from ``settings.seed``) and scored on the
    test set (see :func:`studies.refit.refit_best`); ``refit_callbacks`` (Keras) and
    ``on_refit(k, repeats, seed)`` show its progress.

    Raises
    ------
    UsageError, DataError, TrackingError
        As for :func:`bench.use_cases.run.run_benchmark`.
    """
    opened = _open_study(benchmark, settings, worker_index=0, command=command)
    if not opened.study.trials and not settings.grid:
        _enqueue_starting_points(opened)
    # Optuna 5 changed defaults (TPE became multivariate): say which one ran.
    opened.study.set_user_attr("optuna_version", optuna.__version__)
    tags = _parent_tags(opened, jobs=1 + (len(workers.processes) if workers else 0))
    name = opened.study.study_name
    progress = BestSoFar()
    # A SLURM array's tasks each open a parent run of the one study: named apart.
    task = slurm_job()[1]
    run_name = f"study {name}" + (f" task {task}" if task else "")
    with tracked_run(opened.experiment, run_name, tags, client=opened.client) as parent:
        parent.log_params(_parent_params(opened))
        worker_failures = _search(opened, parent, workers, [*trial_callbacks, progress])
        cpu_seconds = _cpu_seconds()
        table = trials_table(opened.study)
        _log_search(parent, opened, table, progress, cpu_seconds)
        refitted = (
            refit_best(
                parent,
                study=opened.study,
                benchmark=opened.benchmark,
                dataset=opened.dataset,
                seed=opened.settings.seed,
                experiment=opened.experiment,
                client=opened.client,
                repeats=refit_repeats,
                callbacks=refit_callbacks,
                on_seed=on_refit,
                data_options=_data_options(opened.settings),
            )
            if refit
            else None
        )
    return StudyReport(
        study=opened.study,
        parent_run_id=parent.run_id,
        experiment=opened.experiment,
        tracking_uri=opened.client.tracking_uri,
        table=table,
        refit=refitted,
        worker_failures=tuple(worker_failures),
        experiment_id=parent.experiment_id,
        comparison=_comparison(opened.study, cpu_seconds, progress),
    )


def run_worker(
    benchmark: Benchmark | str,
    settings: StudySettings,
    *,
    worker_index: int,
    worker_of: str,
    command: str | None = None,
) -> None:
    """Run trials of the study as worker ``worker_index`` of the main process
    ``worker_of`` ("pid:token"), as children of the parent run it opens."""
    opened = _open_study(benchmark, settings, worker_index=worker_index, command=command)
    parent_run_id = wait_for_parent_run(lambda key: opened.study.user_attrs.get(key), worker_of)
    try:
        _optimize(opened, parent_run_id, callbacks=())
    finally:
        opened.feature_cache.clear()


def _open_study(
    benchmark: Benchmark | str,
    settings: StudySettings,
    *,
    worker_index: int,
    command: str | None = None,
) -> _OpenStudy:
    benchmark = get_benchmark(benchmark) if isinstance(benchmark, str) else benchmark
    settings = settled(settings, benchmark)
    feature_cache = FeatureCache()  # first: a bad BENCH_FEATURE_CACHE_MB changes nothing
    assert settings.pruner is not None  # settled() fills it in
    study = optuna.create_study(
        study_name=settings.study_name or _default_study_name(benchmark, settings),
        storage=open_storage(settings.storage),
        sampler=_sampler(settings, settings.seed),
        pruner=make_pruner("none" if settings.grid else settings.pruner, settings.max_epochs),
        directions=[DIRECTIONS[objective] for objective in settings.objectives],
        load_if_exists=True,
    )
    # A resumed study must not replay the first run's samples, nor a worker another
    # worker's: offset the sampler's seed by the trials stored and the worker.
    study.sampler = _sampler(settings, settings.seed + len(study.trials) + 7919 * worker_index)
    client = open_client()  # a dead tracking server is reported before any work
    experiment = f"{benchmark.name} study"
    # What a killed earlier invocation left RUNNING: its trials fail and are queued
    # again once; its MLflow runs are closed as FAILED.
    fail_stale_trials(study)
    # On a database, other hosts' dead workers too, by their heartbeat. (Marked
    # experimental since Optuna 2.9, and stable in use since; its warning is noise.)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)
    close_orphaned_runs(client, experiment)
    dataset, _ = load_run_data(benchmark, data=settings.data, label_column=settings.label_column)
    if not settings.grid:
        _check_space_unchanged(study, benchmark, dataset)
    split = search_split(
        dataset,
        train_size=settings.train_size,
        val_fraction=benchmark.validation_split,
        seed=settings.seed,
    )
    return _OpenStudy(
        benchmark=benchmark,
        settings=settings,
        study=study,
        client=client,
        experiment=experiment,
        dataset=dataset,
        split=split,
        feature_cache=feature_cache,
        command=command,
    )


def _check_space_unchanged(study: optuna.Study, benchmark: Benchmark, dataset: Dataset) -> None:
    """Refuse, before any work, to resume a study whose trials sampled choices this
    space no longer offers: Optuna would fail every new trial."""
    stored: dict[str, BaseDistribution] = {}
    for trial in study.get_trials(deepcopy=False):
        for name, found in trial.distributions.items():
            stored.setdefault(name, found)
    changed = changed_distributions(
        stored,
        benchmark.build(pixel_max=dataset.pixel_max, seed=None),
        image_shape=dataset.image_shape,
        space=benchmark.search_space,
        flip_safe=dataset.flip_safe,
    )
    if changed:
        raise UsageError(
            f"study '{study.study_name}' was searched over other choices than this version "
            f"of bench offers ({'; '.join(changed)}): its trials stay as they are; start "
            "a new study with --study-name NAME"
        )


def settled(settings: StudySettings, benchmark: Benchmark) -> StudySettings:
    """``settings`` with the epoch options' defaults filled in for a network: the
    default budget is never below the benchmark's own epochs, so that trial 0 trains
    the benchmark exactly as ``bench run`` does.

    Raises
    ------
    UsageError
        If ``--pruner`` or ``--max-epochs`` was given for a baseline, which is fitted in
        one call.
    """
    if benchmark.epochs is not None:  # a network: benchmark.trains_by_epoch
        return replace(
            settings,
            pruner=settings.pruner or DEFAULT_PRUNER,
            max_epochs=settings.max_epochs or max(DEFAULT_MAX_EPOCHS, benchmark.epochs),
        )
    for option, value in (("--pruner", settings.pruner), ("--max-epochs", settings.max_epochs)):
        if value is not None:
            check_trains_by_epoch(benchmark, option)
    return replace(settings, pruner="none")


def _sampler(settings: StudySettings, seed: int) -> optuna.samplers.BaseSampler:
    if settings.grid:
        space = {name: list(values) for name, values in settings.grid}
        return optuna.samplers.GridSampler(space, seed=seed)
    return make_sampler(settings.sampler, seed, settings.trials or 40)


def _search(
    opened: _OpenStudy,
    parent: TrackedRun,
    workers: WorkerPool | None,
    trial_callbacks: Sequence[TrialCallback],
) -> list[str]:
    """Run this process's trials (and wait for the workers'); lines for failed workers."""
    failures: list[str] = []
    try:
        if workers is not None:
            opened.study.set_user_attr(parent_run_attr(workers.token), parent.run_id)
        _optimize(opened, parent.run_id, trial_callbacks)
        if workers is not None:
            failures = workers.wait()  # their last trials belong in the table
    except BaseException:
        # Ctrl-C, SIGTERM or an error here: the workers stop too, and what they leave
        # open is closed before the parent run (and before this process exits).
        if workers is not None:
            _stop_workers(opened, workers)
        raise
    finally:
        # Features are only for this study's trials; free them before the refit.
        opened.feature_cache.clear()
    return failures


def _stop_workers(opened: _OpenStudy, workers: WorkerPool) -> None:
    """Stop the workers; close the runs and trials of those killed after the stop
    wait as cut off by SIGTERM: runs KILLED, trials failed, interrupted, retried once."""
    for worker in workers.stop():
        message = (
            f"worker process {worker} did not stop within {workers.stop_wait} s of SIGTERM "
            f"(${STOP_WAIT_VARIABLE}) and was killed; the main process closed this run"
        )
        close_runs_of(opened.client, opened.experiment, worker, message)
        fail_trials_of(opened.study, worker, "SIGTERM")


def _optimize(opened: _OpenStudy, parent_run_id: str, callbacks: Sequence[TrialCallback]) -> None:
    settings = opened.settings
    objective = TrialObjective(
        benchmark=opened.benchmark,
        data=opened.split,
        seed=settings.seed,
        max_epochs=settings.max_epochs,
        objectives=settings.objectives,
        experiment=opened.experiment,
        parent_run_id=parent_run_id,
        client=opened.client,
        feature_cache=opened.feature_cache,
        provenance=provenance_tags(opened.command),
        grid=grid_parameters(opened.benchmark, settings.grid),
        total=settings.trials,
        deadline=time.monotonic() + settings.timeout if settings.timeout else None,
    )
    # Trials other processes are running count: they will finish (or fail) there. No
    # n_trials: trials that are no results (interrupted, stale) are replaced, so the
    # study runs until StopAtTotal sees the total reached.
    if settings.trials is None or count_claimed(opened.study) < settings.trials:
        stop = [StopAtTotal(settings.trials)] if settings.trials is not None else []
        opened.study.optimize(
            objective,
            timeout=settings.timeout,
            # A trial that raises is recorded as failed (with its error in its run)
            # and the study goes on.
            catch=(Exception,),
            callbacks=[*callbacks, *stop],
        )


def _log_search(
    parent: TrackedRun,
    opened: _OpenStudy,
    table: pd.DataFrame,
    progress: BestSoFar,
    cpu_seconds: float,
) -> None:
    cache = opened.feature_cache
    parent.log_metrics({"feature_cache_hits": cache.hits, "feature_cache_misses": cache.misses})
    parent.log_metrics({"cpu_seconds": cpu_seconds})
    for seconds, value in progress.points:  # the best so far against elapsed seconds
        parent.log_metrics({"best_so_far": value}, step=round(seconds))
    if progress.points:
        parent.log_figure(best_so_far_figure(progress.points), "plots/best_so_far.png")
    if len(opened.study.directions) == 1 and not opened.settings.grid:
        _log_search_progress(parent, opened.study)
    parent.log_text(table.to_csv(index=False), "trials.csv")
    for file_name, figure in study_figures(opened.study).items():
        parent.log_figure(figure, f"plots/{file_name}")
    for file_name, note in study_notes(opened.study).items():  # a figure left out, and why
        parent.log_text(note + "\n", f"plots/{file_name}")
    if opened.settings.grid:
        grid = grid_figure(opened.study, opened.settings.grid)
        if grid is not None:
            parent.log_figure(grid, "grid.png")


def _log_search_progress(parent: TrackedRun, study: optuna.Study) -> None:
    """What sampling added over the enqueued configurations, against CPU time."""
    added = search_progress(study)
    if not added.cpu_minutes:
        return
    parent.log_figure(search_progress_figure(added), "plots/search_vs_enqueued.png")
    if added.minutes_to_beat_given is not None:
        parent.log_metrics({"cpu_minutes_to_beat_enqueued": added.minutes_to_beat_given})
    parent.set_tags(
        {
            "sampled_beat_enqueued": "no"
            if added.minutes_to_beat_given is None
            else f"after {added.minutes_to_beat_given:.1f} CPU-minutes"
        }
    )


def _enqueue_starting_points(opened: _OpenStudy) -> None:
    """A new study's first trial is the benchmark's own configuration (the baseline
    every trial is compared against); the next ones, configurations known to train
    well, so that even a short study tries them."""
    pipeline = opened.benchmark.build(pixel_max=opened.dataset.pixel_max, seed=None)
    space = opened.benchmark.search_space  # the benchmark's own, if it declares one
    where = {
        "factory": opened.benchmark.pipeline,
        "image_shape": opened.dataset.image_shape,
        "space": space,
        "flip_safe": opened.dataset.flip_safe,
    }
    params = baseline_params(pipeline, **where)
    # skip_if_exists: processes starting a new study together enqueue each once.
    enqueue(opened.study, params, {"baseline": True}, skip_if_exists=True)
    for configuration in known_good(pipeline, **where):
        enqueue(opened.study, configuration, {"known_good": True}, skip_if_exists=True)


def _parent_tags(opened: _OpenStudy, *, jobs: int) -> dict[str, object]:
    settings = opened.settings
    tags: dict[str, object] = {
        vocabulary.STUDY: opened.study.study_name,
        "storage": settings.storage or default_storage(),
        vocabulary.SAMPLER: settings.sampler,
        vocabulary.PRUNER: settings.pruner,
        "objectives": ",".join(settings.objectives),
        vocabulary.OBJECTIVE: objective_name(settings.objectives),
        vocabulary.BENCHMARK: opened.benchmark.name,
        vocabulary.DECLARED_IN: benchmark_origin(opened.benchmark.name),
        vocabulary.DATASET: opened.dataset.name,  # the benchmark's, or the user's
        "jobs": jobs,
    }
    return tags | provenance_tags(opened.command)


def objective_name(objectives: Sequence[str]) -> str:
    """What the study optimises, in words: ``validation accuracy (maximize)``."""
    words = {"accuracy": "validation accuracy", "weights": "weights"}
    return ", ".join(f"{words[name]} ({DIRECTIONS[name]})" for name in objectives)


def _parent_params(opened: _OpenStudy) -> dict[str, object]:
    settings, split = opened.settings, opened.split
    return {
        "objective": objective_name(settings.objectives),
        "seed": settings.seed,
        "max_epochs": settings.max_epochs,
        "train_size": len(split.y_train),
        "train_size_limit": settings.train_size,
        "n_validation": len(split.y_test),
        "dataset_digest": split.digest,
        "trials_requested": settings.trials or f"as many as fit in {settings.timeout} s",
    }


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (``--jobs`` workers)."""
    times = psutil.Process().cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def _comparison(
    study: optuna.Study, cpu_seconds: float, progress: BestSoFar
) -> SearchComparison | None:
    best = best_trial(study)
    if best is None or len(study.directions) != 1:
        return None
    baseline = baseline_trial(study)
    added = search_progress(study)
    return SearchComparison(
        best_enqueued=added.best_given,
        best_enqueued_trial=added.best_given_trial,
        minutes_to_beat_enqueued=added.minutes_to_beat_given,
        best_value=best.values[0],
        best_trial=best.number,
        baseline_value=baseline.values[0] if baseline else None,
        cpu_seconds=cpu_seconds,
        elapsed_seconds=progress.points[-1][0] if progress.points else 0.0,
        baseline_trial=baseline.number if baseline else None,
        trials=count_finished(study),
    )


def _data_options(settings: StudySettings) -> tuple[str, ...]:
    """The command-line options that name the study's data, for its re-run command."""
    options: tuple[str, ...] = ("--data", settings.data) if settings.data else ()
    if settings.label_column:
        options += ("--label-column", settings.label_column)
    return options


def _default_study_name(benchmark: Benchmark, settings: StudySettings) -> str:
    # Trials on the user's data are no results for a search on the benchmark's own.
    name = benchmark.name + (f"-on-{Path(settings.data).stem}" if settings.data else "")
    if settings.grid:
        return f"{name}-grid-" + "-".join(grid_name for grid_name, _ in settings.grid)
    return name if settings.objectives == ("accuracy",) else f"{name}-pareto"


def grid_parameters(
    benchmark: Benchmark, grid: Sequence[tuple[str, Sequence[Any]]]
) -> dict[str, tuple[str, tuple[Any, ...]]]:
    """Each grid name as the user wrote it (``depth``) -> its full pipeline parameter
    (``clf__depth``) and its values, every value checked as ``--set`` checks it.

    Raises
    ------
    UsageError
        For an unknown name or a value of the wrong type.
    """
    pipeline = benchmark.build(pixel_max=255.0, seed=None)
    checked: dict[str, tuple[str, tuple[Any, ...]]] = {}
    for name, values in grid:
        full = [list(resolve_overrides(pipeline, [f"{name}={value!r}"]))[0] for value in values]
        checked[name] = (full[0], tuple(values))
    return checked

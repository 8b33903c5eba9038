"""``bench study``: an Optuna search whose trials are MLflow child runs. No printing."""

from __future__ import annotations

import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import optuna
import pandas as pd

from bench import tracking
from bench.data import Dataset, load_dataset
from bench.errors import UsageError
from bench.registry import Benchmark, get_benchmark
from bench.runner import RunOutcome, fit_and_score
from bench.study_plots import study_pngs
from bench.study_workers import WorkerPool, parent_run_attr, wait_for_parent_run
from studies.feature_cache import FeatureCache
from studies.objective import TrialObjective, search_split
from studies.options import DIRECTIONS, OBJECTIVES, PRUNERS, SAMPLERS
from studies.spaces import baseline_params
from studies.stale import fail_stale_trials, is_replaced

FINISHED = (
    optuna.trial.TrialState.COMPLETE,
    optuna.trial.TrialState.PRUNED,
    optuna.trial.TrialState.FAIL,
)


@dataclass(frozen=True)
class StudyReport:
    """What ``bench study`` shows at the end."""

    study: optuna.Study
    parent_run_id: str
    experiment: str
    tracking_uri: str
    table: pd.DataFrame
    rerun_command: str | None
    refit: RunOutcome | None
    worker_failures: tuple[str, ...] = ()


def default_storage() -> str:
    """The embedded study store next to the MLflow store (a journal file, which Optuna
    recommends for several processes on one machine)."""
    return str(Path(tracking.DEFAULT_STORE_DIR) / "optuna.journal")


def open_storage(url: str | None):
    """An Optuna storage: the journal file by default, else an RDB URL as given.

    On RDB storage a worker that dies (SIGKILL, lost machine) stops its heartbeat:
    after the grace period its trial is failed and queued again once.
    """
    if url is None or not url.partition("://")[1]:
        path = Path(url or default_storage())
        path.parent.mkdir(parents=True, exist_ok=True)
        # Absolute: Optuna's lock is a symlink to this path, and a relative target
        # resolves from the lock's folder; a lock left by a killed process is then
        # never seen as stale and the next process spins on it for ever.
        backend = optuna.storages.journal.JournalFileBackend(str(path.resolve()))
        return optuna.storages.JournalStorage(backend)
    return optuna.storages.RDBStorage(
        url,
        heartbeat_interval=60,
        grace_period=180,
        failed_trial_callback=optuna.storages.RetryFailedTrialCallback(max_retry=1),
    )


def make_sampler(name: str, seed: int, trials: int = 40) -> optuna.samplers.BaseSampler:
    """The sampler called ``name``, seeded, for a study of ``trials`` trials."""
    # TPE samples at random until it has this many trials to model; Optuna's 10 would
    # spend half of a 20-trial study blind.
    startup = max(3, min(10, trials // 4))
    samplers = {
        # Independent TPE: with the baseline as trial 0 it searches around the known
        # good configuration. Multivariate TPE (group=True) was tried on mnist-mlp and
        # drifted into SGD, never beating the baseline in 20 trials; the constant liar
        # keeps --jobs workers apart.
        "tpe": lambda: optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, constant_liar=True
        ),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }
    if name not in samplers:
        raise UsageError(f"unknown sampler '{name}'; valid: {', '.join(SAMPLERS)}")
    return samplers[name]()


def make_pruner(name: str, max_epochs: int) -> optuna.pruners.BasePruner:
    """The pruner called ``name``; pruning decisions are made per epoch."""
    pruners = {
        # Two epochs before judging: after one, a slow but better learning rate still
        # trails the fast starters and would be pruned.
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        "hyperband": lambda: optuna.pruners.HyperbandPruner(1, max(max_epochs, 1)),
        "none": optuna.pruners.NopPruner,
    }
    if name not in pruners:
        raise UsageError(f"unknown pruner '{name}'; valid: {', '.join(PRUNERS)}")
    return pruners[name]()


def parse_objectives(text: str) -> tuple[str, ...]:
    """``"accuracy"`` or ``"accuracy,weights"``."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = [name for name in names if name not in OBJECTIVES]
    if not names or unknown or names[0] != "accuracy" or len(set(names)) != len(names):
        raise UsageError(
            f"--objectives '{text}' is not valid; use 'accuracy' or 'accuracy,weights'"
        )
    return names


def run_study(
    name: str,
    *,
    trials: int,
    timeout: float | None = None,
    study_name: str | None = None,
    storage: str | None = None,
    sampler: str = "tpe",
    pruner: str = "median",
    objectives: Sequence[str] = ("accuracy",),
    seed: int = 0,
    max_epochs: int = 15,
    train_size: int | None = None,
    refit: bool = True,
    trial_callbacks: Sequence[Callable] = (),
    workers: WorkerPool | None = None,
    worker_index: int = 0,
    worker_of: str | None = None,
) -> StudyReport | None:
    """Run (or resume) a study until it holds ``trials`` finished trials.

    ``workers`` (started by the CLI for ``--jobs``) run trials alongside this
    process. A worker (``worker_index`` > 0) runs trials as children of the parent
    run that the main process ``worker_of`` ("pid:token") opens, and returns None;
    only the main process logs the table, plots and refit.

    Raises
    ------
    UsageError, DataError, TrackingError
        As for :func:`bench.experiment.run_benchmark`.
    """
    benchmark = get_benchmark(name)
    objectives = tuple(objectives)
    feature_cache = FeatureCache()  # first: a bad BENCH_FEATURE_CACHE_MB changes nothing
    study_name = study_name or _default_study_name(benchmark, objectives)
    study = optuna.create_study(
        study_name=study_name,
        storage=open_storage(storage),
        sampler=make_sampler(sampler, seed, trials),
        pruner=make_pruner(pruner, max_epochs),
        directions=[DIRECTIONS[o] for o in objectives],
        load_if_exists=True,
    )
    # A resumed study must not replay the first run's samples, nor a worker another
    # worker's: offset the sampler's seed by the trials stored and the worker.
    study.sampler = make_sampler(sampler, seed + len(study.trials) + 7919 * worker_index, trials)
    client = tracking.open_client()  # a dead tracking server is reported before any work
    experiment = f"{benchmark.name} study"
    # What a killed earlier invocation left RUNNING: its trials fail and are queued
    # again once; its MLflow runs are closed as FAILED.
    fail_stale_trials(study)
    tracking.close_orphaned_runs(client, experiment)
    dataset = load_dataset(benchmark.dataset)
    if not study.trials and worker_of is None:
        _enqueue_baseline(study, benchmark, dataset, max_epochs)
    data = search_split(
        dataset, train_size=train_size, val_fraction=benchmark.validation_split, seed=seed
    )

    def optimize(parent_run_id: str) -> None:
        objective = TrialObjective(
            benchmark,
            data,
            seed,
            max_epochs,
            objectives,
            experiment,
            parent_run_id,
            client,
            feature_cache=feature_cache,
        )
        _optimize(study, objective, trials, timeout, [*trial_callbacks, _StopAtTotal(trials)])

    if worker_of is not None:
        optimize(wait_for_parent_run(lambda key: study.user_attrs.get(key), worker_of))
        return None
    tags = {
        "study": study_name,
        "storage": storage or default_storage(),
        "sampler": sampler,
        "pruner": pruner,
        "objectives": ",".join(objectives),
        "benchmark": benchmark.name,
        "jobs": 1 + (len(workers.processes) if workers else 0),
    }
    worker_failures: list[str] = []
    with tracking.tracked_run(experiment, f"study {study_name}", tags, client=client) as parent:
        parent.log_params(_study_params(data, seed, max_epochs, train_size, trials))
        # On an exception the caller, who started the workers, stops them.
        try:
            if workers is not None:
                study.set_user_attr(parent_run_attr(workers.token), parent.run_id)
            optimize(parent.run_id)
            if workers is not None:
                worker_failures = workers.wait()  # their last trials belong in the table
        finally:
            # Features are only for this study's trials; free them before the refit.
            feature_cache.clear()
        parent.log_metrics(
            {"feature_cache_hits": feature_cache.hits, "feature_cache_misses": feature_cache.misses}
        )
        table = trials_table(study)
        parent.log_text(table.to_csv(index=False), "trials.csv")
        for file_name, png in study_pngs(study).items():
            parent.log_bytes(png, f"plots/{file_name}")
        best, command = (None, None)
        if refit:
            best, command = _refit_best(parent, study, benchmark, dataset, seed)
    return StudyReport(
        study,
        parent.run_id,
        experiment,
        client.tracking_uri,
        table,
        command,
        best,
        tuple(worker_failures),
    )


def _optimize(study, objective, trials: int, timeout, callbacks) -> None:
    # Trials other processes are running count: they will finish (or fail) there.
    remaining = trials - count_claimed(study)
    if remaining > 0:
        study.optimize(
            objective,
            n_trials=remaining,
            timeout=timeout,
            # A trial that raises is recorded as failed (with its error in its run)
            # and the study goes on, as the issue asks.
            catch=(Exception,),
            callbacks=callbacks,
        )


def count_finished(study: optuna.Study) -> int:
    """Trials that are complete, pruned or failed: what ``--trials`` counts.

    A trial failed because its worker vanished does not count: its retry does.
    """
    finished = study.get_trials(deepcopy=False, states=FINISHED)
    return sum(not is_replaced(trial) for trial in finished)


class _StopAtTotal:
    """Stops this process once the finished trials, plus those other processes on
    the same study are still running, reach the requested total."""

    def __init__(self, total: int):
        self.total = total

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if count_claimed(study) >= self.total:
            study.stop()


def count_claimed(study: optuna.Study) -> int:
    """Finished trials (as :func:`count_finished`) plus trials running right now."""
    running = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,))
    return count_finished(study) + len(running)


def trials_table(study: optuna.Study) -> pd.DataFrame:
    """One row per trial: number, state, value(s), parameters."""
    values = "value" if len(study.directions) == 1 else "values"
    table = study.trials_dataframe(attrs=("number", "state", values, "params"))
    return table.rename(columns=lambda column: column.removeprefix("params_"))


def best_trial(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best complete trial; for a Pareto front, its most accurate member."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    if not complete:
        return None
    if len(study.directions) == 1:
        return study.best_trial
    return max(study.best_trials, key=lambda trial: trial.values[0])


def rerun_command(benchmark: Benchmark, trial: optuna.trial.FrozenTrial) -> str:
    """``python -m bench run NAME --set ...`` reproducing the trial's configuration."""
    settings = trial.user_attrs.get("pipeline_params", {})
    args = ["python", "-m", "bench", "run", benchmark.name]
    for key, value in settings.items():
        args += ["--set", f"{key}={value!r}" if not isinstance(value, str) else f"{key}={value}"]
    return shlex.join(args)


def _refit_best(parent, study, benchmark: Benchmark, dataset: Dataset, seed: int):
    trial = best_trial(study)
    if trial is None:
        return None, None
    settings = trial.user_attrs.get("pipeline_params", {})
    pipeline = benchmark.build(pixel_max=dataset.pixel_max, seed=seed)
    pipeline.set_params(**settings)
    outcome = fit_and_score(pipeline, dataset)
    parent.log_params({f"best_{key}": value for key, value in trial.params.items()})
    parent.log_metrics(
        {"best_value": trial.values[0], "best_trial": trial.number}
        | tracking.final_metrics(outcome)
    )
    tracking.log_outcome(parent, outcome, dataset)
    return outcome, rerun_command(benchmark, trial)


def _enqueue_baseline(study, benchmark: Benchmark, dataset: Dataset, max_epochs: int):
    """A new study's first trial is the benchmark's own configuration."""
    pipeline = benchmark.build(pixel_max=dataset.pixel_max, seed=None)
    params = baseline_params(pipeline, max_epochs=max_epochs)
    study.enqueue_trial(params, user_attrs={"baseline": True})


def _default_study_name(benchmark: Benchmark, objectives: tuple[str, ...]) -> str:
    return benchmark.name if objectives == ("accuracy",) else f"{benchmark.name}-pareto"


def _study_params(data: Dataset, seed: int, max_epochs: int, train_size, trials: int) -> dict:
    return {
        "seed": seed,
        "max_epochs": max_epochs,
        "train_size": len(data.y_train),
        "train_size_limit": train_size,
        "n_validation": len(data.y_test),
        "dataset_digest": data.digest,
        "trials_requested": trials,
    }

"""Memory of a long study: thirty ``digits-mlp`` trials in one process.

Each trial builds, compiles and traces a new Keras model. Whatever a finished trial
leaves reachable (its Keras session, its traced training step) stays for the rest of
the study, so a long study grows until it is killed. The trials run through
:func:`studies.search.run_study`, as ``bench study`` runs them, with a throw-away MLflow
store and Optuna journal. An Optuna callback samples, after each trial, the process's
resident memory (RSS), whether Keras' session was cleared, and how many traced
TensorFlow graphs are still alive.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from bench.perf import Figure, scratch_tracking_store

CHECK = "memory"
BENCHMARK = "digits-mlp"
TRIALS = 30
QUICK_TRIALS = 12
# The first trials load data, import the samplers and trace Keras' first functions;
# those one-off costs are not growth, so the figure counts from after the fifth trial.
BASELINE_TRIAL = 5
MAX_EPOCHS = 3
# 100 MB over 25 trials is 4 MB a trial. A trial that leaks its traced training step
# keeps about 10 MB (measured: 245 MB over trials 5-30 on Keras 3.15 / TensorFlow
# 2.21), so a leak misses this bound by more than twice; with nothing leaked the
# growth was 59 MB, most of it one step when a large (4 x 1024 units) trial raised
# the allocator's high-water mark, which the bound must allow for.
GROWTH_TARGET_MB = 100.0
# A name Keras' uid counter has never seen; the counter lives in the Keras session,
# so the first call after a clear_session() always answers 1.
PROBE = "bench_perf_memory_probe"


@dataclass
class TrialSamples:
    """Optuna callback: memory and leak probes sampled after each finished trial.

    Attributes
    ----------
    rss_mb : list of float
        Resident memory in MB after each trial, in the order the trials finished.
    session_uids : list of int
        ``keras.backend.get_uid(PROBE)`` after each trial: 1 when Keras' session was
        cleared since the previous sample, else how many samples it has lived through.
    traced_graphs : list of int
        TensorFlow ``FuncGraph`` objects (traced functions) alive after each trial;
        always 0 on the JAX and torch backends.
    """

    rss_mb: list[float] = field(default_factory=list)
    session_uids: list[int] = field(default_factory=list)
    traced_graphs: list[int] = field(default_factory=list)

    def __call__(self, study, trial) -> None:
        import keras

        self.rss_mb.append(rss_mb())  # first: counting graphs allocates a large list
        self.session_uids.append(keras.backend.get_uid(PROBE))
        self.traced_graphs.append(count_traced_graphs())

    def growth_mb(self, baseline_trial: int = BASELINE_TRIAL) -> float:
        """RSS after the last trial less RSS after trial ``baseline_trial`` (1-based)."""
        self._check_enough(baseline_trial)
        return self.rss_mb[-1] - self.rss_mb[baseline_trial - 1]

    def graphs_kept_per_trial(self, baseline_trial: int = BASELINE_TRIAL) -> float:
        """Traced graphs gained per trial after trial ``baseline_trial`` (1-based)."""
        self._check_enough(baseline_trial)
        gained = self.traced_graphs[-1] - self.traced_graphs[baseline_trial - 1]
        return gained / (len(self.traced_graphs) - baseline_trial)

    @property
    def cleared_fraction(self) -> float:
        """Share of trials after which Keras' session had been cleared."""
        return sum(uid == 1 for uid in self.session_uids) / len(self.session_uids)

    def _check_enough(self, baseline_trial: int) -> None:
        if len(self.rss_mb) <= baseline_trial:
            raise ValueError(
                f"{len(self.rss_mb)} trial(s) sampled; growth needs more than {baseline_trial}"
            )


def measure(quick: bool = False) -> list[Figure]:
    """RSS growth over thirty study trials in one process, whether Keras' session was
    cleared after each, and whether traced graphs were freed.

    Parameters
    ----------
    quick : bool
        12 trials instead of 30: a smoke run of the code path, not the figure.

    Returns
    -------
    list of Figure
        RSS growth in MB from trial 5 to the last, the share of trials after which
        the Keras session had been cleared, and traced graphs kept per trial.
    """
    trials = QUICK_TRIALS if quick else TRIALS
    samples = run_trials(trials)
    growth = samples.growth_mb()
    start = samples.rss_mb[BASELINE_TRIAL - 1]
    return [
        Figure(
            CHECK,
            f"RSS growth, trial {BASELINE_TRIAL} to {trials}",
            growth,
            GROWTH_TARGET_MB,
            " MB",
            False,
            f"{BENCHMARK} study, {MAX_EPOCHS} max epochs, one process; RSS "
            f"{start:.0f} -> {samples.rss_mb[-1]:.0f} MB (peak {max(samples.rss_mb):.0f}), "
            f"{growth / (trials - BASELINE_TRIAL):+.2f} MB/trial",
        ),
        Figure(
            CHECK,
            "Keras session cleared after each trial",
            samples.cleared_fraction,
            1.0,
            "",
            True,
            f"keras.backend.get_uid probe, {trials} trials: at most "
            f"{max(samples.session_uids)} (1 means cleared)",
        ),
        Figure(
            CHECK,
            "traced graphs kept per trial",
            samples.graphs_kept_per_trial(),
            0.0,
            "",
            False,
            f"TensorFlow FuncGraphs alive after gc: {samples.traced_graphs[BASELINE_TRIAL - 1]}"
            f" after trial {BASELINE_TRIAL}, {samples.traced_graphs[-1]} after trial {trials}",
        ),
    ]


def run_trials(trials: int, *, max_epochs: int = MAX_EPOCHS, seed: int = 0) -> TrialSamples:
    """Run a fresh ``digits-mlp`` study of ``trials`` trials in this process.

    The study is that of ``bench study digits-mlp --trials N --max-epochs E``, with its
    MLflow store and Optuna journal in a temporary folder removed afterwards.

    Parameters
    ----------
    trials : int
        Trials to run.
    max_epochs : int, default=3
        The epoch budget of one trial.
    seed : int, default=0
        The study's seed.

    Returns
    -------
    TrialSamples
        The samples, one per trial.
    """
    import optuna

    from studies.search import StudySettings, run_study

    samples = TrialSamples()
    verbosity = optuna.logging.get_verbosity()
    # One INFO line per trial is noise in a perf report.
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        with scratch_tracking_store("bench-perf-memory-") as folder:
            settings = StudySettings(
                trials=trials,
                storage=str(folder / "optuna.journal"),
                seed=seed,
                max_epochs=max_epochs,
            )
            run_study(BENCHMARK, settings, trial_callbacks=[samples])
    finally:
        optuna.logging.set_verbosity(verbosity)
    return samples


def rss_mb() -> float:
    """This process's resident memory now, in MB (10**6 bytes)."""
    import psutil

    return psutil.Process().memory_info().rss / 1e6


def count_traced_graphs() -> int:
    """TensorFlow ``FuncGraph`` objects that survive a full garbage collection.

    Matched by type name, so this neither imports TensorFlow nor depends on the
    backend; a graph outliving its model is the leak this check looks for.
    """
    gc.collect()
    return sum(type(thing).__name__ == "FuncGraph" for thing in gc.get_objects())

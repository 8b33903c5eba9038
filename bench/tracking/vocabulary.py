"""The words bench writes on its MLflow runs and reads back: tag names, and which kind
of run a run is.

Declared once, so that what writes a tag (``bench run``, ``--repeats``, a study's
trials and refits) and what reads it (``bench compare``, ``bench report``, ``bench
predict``, the runs view) cannot drift apart. The predicates take a run's tags (an
MLflow ``Run``'s ``data.tags``, or :attr:`bench.tracking.history.RunRecord.tags`).

>>> is_trial({STUDY: "digits-mlp", TRIAL_NUMBER: "3", PARENT: "f00"})
True
>>> is_study_parent({STUDY: "digits-mlp"}), is_study_parent({STUDY: "s", PARENT: "f00"})
(True, False)
"""

from __future__ import annotations

from collections.abc import Mapping

from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

# Every run bench opens.
BENCHMARK = "benchmark"  # the benchmark's name
DECLARED_IN = "declared_in"  # where: "bench", the user's file, or a package's name
DATASET = "dataset"
SEED = "seed"  # the seed, or the range "0-4" on a parent of several seeds
COMMAND = "command"  # the command line that ran it
WORKER = "bench.worker"  # host:pid:start of the process that opened the run
ERROR = "error"  # why a run FAILED or was KILLED, in one line
SLURM_JOB = "slurm_job"  # the SLURM job that ran it (an array's own id for its tasks)
SLURM_TASK = "slurm_task"  # the array task that ran it

# `bench run --repeats K`: on the parent run, K.
REPEATS = "repeats"

# A study: the Optuna study's name on its parent run, its trials and its refits.
STUDY = "study"
TRIAL_NUMBER = "trial_number"  # on a trial's run
TRIAL_STATE = "trial_state"  # COMPLETE or PRUNED, on a trial's run
PRUNED = "pruned"  # why the pruner stopped the trial
BASELINE = "baseline"  # on the trial that ran the benchmark's own configuration
REFIT = "refit"  # "true" on each seed's run of a refit over several seeds
BEST_TRIAL = "best_trial"  # the trial a refit trained again
SAMPLER = "sampler"  # on a study's parent: how it searched
PRUNER = "pruner"
OBJECTIVE = "objective"  # what it optimised, in words

# MLflow's own.
PARENT = MLFLOW_PARENT_RUN_ID  # the parent run's id: nests the run under it in the UI
RUN_NAME = MLFLOW_RUN_NAME  # the name the UI shows; set to rename a run


def is_trial(tags: Mapping[str, str]) -> bool:
    """A study's trial."""
    return TRIAL_NUMBER in tags


def is_study_parent(tags: Mapping[str, str]) -> bool:
    """A study's parent run: tagged with its study, neither a trial nor a child."""
    return STUDY in tags and TRIAL_NUMBER not in tags and PARENT not in tags


def is_repeats_parent(tags: Mapping[str, str]) -> bool:
    """The parent of ``bench run --repeats``."""
    return REPEATS in tags


def is_refit(tags: Mapping[str, str]) -> bool:
    """One seed's run of a study's refit over several seeds."""
    return tags.get(REFIT) == "true"


def is_nested(tags: Mapping[str, str]) -> bool:
    """A child run: a trial, one seed of ``--repeats``, one seed of a refit."""
    return PARENT in tags

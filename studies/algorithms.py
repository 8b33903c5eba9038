"""Optuna's samplers and pruners by the names ``bench study`` accepts."""

from __future__ import annotations

from collections.abc import Callable

import optuna

from bench.errors import UsageError
from studies.options import OBJECTIVES, PRUNERS, SAMPLERS


def make_sampler(name: str, seed: int, trials: int = 40) -> optuna.samplers.BaseSampler:
    """The sampler called ``name``, seeded, for a study of ``trials`` trials."""
    # TPE samples at random until it has this many trials to model; Optuna's 10 would
    # spend half of a 20-trial study blind.
    startup = max(3, min(10, trials // 4))
    samplers: dict[str, Callable[[], optuna.samplers.BaseSampler]] = {
        # Independent TPE (Optuna 5's default is multivariate): with the baseline as
        # trial 0 it searches around the known good configuration. Multivariate TPE was
        # tried on mnist-mlp and drifted into SGD, never beating the baseline in 20
        # trials; the constant liar keeps --jobs workers apart.
        "tpe": lambda: optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=startup, constant_liar=True, multivariate=False
        ),
        "random": lambda: optuna.samplers.RandomSampler(seed=seed),
        "cmaes": lambda: optuna.samplers.CmaEsSampler(seed=seed),
        "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
    }
    if name not in samplers:
        raise UsageError(f"unknown sampler '{name}'; valid: {', '.join(SAMPLERS)}")
    return samplers[name]()


def make_pruner(name: str, max_epochs: int | None) -> optuna.pruners.BasePruner:
    """The pruner called ``name``; pruning decisions are made per epoch."""
    first_rung = max(1, (max_epochs or 1) // 5)  # no epochs: a baseline, not pruned
    pruners: dict[str, Callable[[], optuna.pruners.BasePruner]] = {
        # Two epochs before judging: after one, a slow but better learning rate still
        # trails the fast starters and would be pruned.
        "median": lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        # Epochs are the resource: a trial reaches the next rung (x3 epochs) only if it
        # is among the best third at this one; Hyperband hedges with several brackets
        # of different first rungs, successive halving ("sha") uses one. The first rung
        # is a fifth of the budget (3 of 15 epochs): a one-cycle schedule is still
        # warming up after one epoch, and would be judged at its slowest.
        "hyperband": lambda: optuna.pruners.HyperbandPruner(
            min_resource=first_rung, max_resource=max(max_epochs or 1, 1), reduction_factor=3
        ),
        "sha": lambda: optuna.pruners.SuccessiveHalvingPruner(
            min_resource=first_rung, reduction_factor=3
        ),
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

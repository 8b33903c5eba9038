"""Names the study command accepts; a light module so the CLI can list them without
importing Optuna or Keras."""

from typing import Literal

SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("hyperband", "sha", "median", "none")
# Measured with `bench perf search` (the README's "Which pruner"): as accurate as the
# best of the three on mnist-mlp and fashion-cnn, with less CPU than the median pruner.
DEFAULT_PRUNER = "hyperband"
DEFAULT_MAX_EPOCHS = 15
OBJECTIVES = ("accuracy", "weights")
DIRECTIONS: dict[str, Literal["maximize", "minimize"]] = {
    "accuracy": "maximize",
    "weights": "minimize",
}

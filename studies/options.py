"""Names the study command accepts; a light module so the CLI can list them without
importing Optuna or Keras."""

SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("hyperband", "sha", "median", "none")
DEFAULT_PRUNER = "hyperband"  # measured: see the README's "More accuracy per CPU-hour"
DEFAULT_MAX_EPOCHS = 15
OBJECTIVES = ("accuracy", "weights")
DIRECTIONS = {"accuracy": "maximize", "weights": "minimize"}

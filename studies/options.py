"""Names the study command accepts; a light module so the CLI can list them without
importing Optuna or Keras."""

SAMPLERS = ("tpe", "random", "cmaes", "nsga2")
PRUNERS = ("median", "hyperband", "none")
OBJECTIVES = ("accuracy", "weights")
DIRECTIONS = {"accuracy": "maximize", "weights": "minimize"}

"""One side of ``bench perf jobs``: a study of identical trials with K workers.

Run as ``python -m bench.perf.jobs_worker JOBS TRIALS FOLDER``; prints the trials
per minute between the first trial's start and the last one's end, so start-up and
data loading do not count. The thread pools are sized for JOBS before Keras starts,
as ``bench study --jobs`` does.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.backend import import_keras, share_cores

BENCHMARK = "mnist-mlp"
TRAIN_SIZE = None
# The benchmark's own configuration for 2 epochs on the whole training split (54,000
# images), as a default study trains, shortened so the whole check takes minutes.
EPOCHS = 2


def main(jobs: int, trials: int, folder: Path) -> dict:
    share_cores(jobs)
    import_keras(quiet=True)
    import optuna

    from bench import tracking
    from bench.data import load_dataset
    from bench.registry import get_benchmark
    from bench.study import open_storage
    from studies.objective import TrialObjective, search_split
    from studies.spaces import baseline_params

    tracking.quiet_mlflow()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    benchmark = get_benchmark(BENCHMARK)
    data = search_split(
        load_dataset(benchmark.dataset), train_size=TRAIN_SIZE, val_fraction=0.1, seed=0
    )
    study = optuna.create_study(
        study_name=f"jobs-{jobs}",
        storage=open_storage(str(folder / f"jobs-{jobs}.journal")),
        pruner=optuna.pruners.NopPruner(),
    )
    trial = baseline_params(benchmark.build(pixel_max=data.pixel_max, seed=0), max_epochs=EPOCHS)
    for _ in range(trials):
        study.enqueue_trial(trial)
    client = tracking.open_client(f"sqlite:///{folder / f'jobs-{jobs}.db'}")
    with tracking.tracked_run("perf jobs", f"jobs {jobs}", {}, client=client) as parent:
        objective = TrialObjective(
            benchmark, data, 0, EPOCHS, ("accuracy",), "perf jobs", parent.run_id, client
        )
        study.optimize(objective, n_trials=trials, n_jobs=jobs)
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    start = min(trial.datetime_start for trial in done)
    end = max(trial.datetime_complete for trial in done)
    seconds = (end - start).total_seconds()
    return {"jobs": jobs, "complete": len(done), "seconds": seconds}


if __name__ == "__main__":
    result = main(int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]))
    print(json.dumps(result))

"""A real MLflow store holding what ``bench compare`` and ``bench report`` read: seeds of
two configurations, a classic baseline, a failed run, a study (parent, trials, refits)
and a repeats parent with its seeds, logged the way bench logs them."""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
from matplotlib.figure import Figure

from bench.figures import confusion_matrix_figure
from bench.tracking.runs import tracked_run
from bench.tracking.store import open_client

SEEDS_A = (0, 1, 2, 3, 4)
SEEDS_B = (1, 2, 3, 4, 5)  # shares 1-4 with A
DATA = {"dataset": "digits", "dataset_digest": "d1g1t5", "n_train": 1347, "n_test": 450}


@dataclass
class ComparedStore:
    """The store's folder and what was logged in it."""

    folder: Path
    accuracy: dict[str, dict[int, float]] = field(default_factory=dict)  # config -> seed -> acc
    macro_f1: dict[str, dict[int, float]] = field(default_factory=dict)
    run_ids: dict[str, list[str]] = field(default_factory=dict)  # role -> run ids


def _pipeline_params(dropout: float, seed: int) -> dict:
    return {
        "scale__max_value": 16.0,
        "clf__dropout": dropout,
        "clf__hidden_layer_sizes": (128,),
        "clf__random_state": seed,
        "seed": seed,
        "n_validation": 135,
        "dataset_source": "scikit-learn load_digits",
        **DATA,
    }


def _scored_run(client, experiment, store, role, params, metrics, *, tags=None, parent=None):
    seed = params.get("seed", 0)
    tags = {"benchmark": "digits-mlp", "dataset": "digits", "seed": seed, **(tags or {})}
    with tracked_run(
        experiment, f"{role} seed={seed}", tags, client=client, parent_run_id=parent
    ) as run:
        run.log_params(params)
        run.log_metrics(metrics)
        for epoch in (1, 2, 3):
            run.log_metrics({"val_accuracy": metrics["test_accuracy"] - 0.1 / epoch}, step=epoch)
    store.run_ids.setdefault(role, []).append(run.run_id)
    return run


@pytest.fixture(scope="session")
def compared_store(tmp_path_factory) -> ComparedStore:
    """A store in its own folder (``monkeypatch.chdir`` there to use it as ./mlruns).

    Experiments: ``seeds`` (configuration ``a``: dropout 0.1, seeds 0-4; ``b``: dropout
    0.3, seeds 1-5; ``svc``: one run without a loss or curves; one failed run),
    ``digits-mlp study`` (a parent scored by its refit, with plots; three trials; two
    refits of dropout 0.1, seeds 0-1), ``repeats`` (a parent of three seeds of ``a``),
    ``trials only`` (a study without a refit) and ``failed only``.
    """
    folder = tmp_path_factory.mktemp("compared")
    client = open_client(f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")
    store = ComparedStore(folder)
    rng = np.random.default_rng(17)
    for config, dropout, seeds, base in (("a", 0.1, SEEDS_A, 0.96), ("b", 0.3, SEEDS_B, 0.95)):
        store.accuracy[config], store.macro_f1[config] = {}, {}
        for seed in seeds:
            accuracy, f1 = base + rng.normal(0, 0.004), base + rng.normal(0, 0.004)
            store.accuracy[config][seed], store.macro_f1[config][seed] = accuracy, f1
            metrics = {
                "test_accuracy": accuracy,
                "test_macro_f1": f1,
                "test_loss": 0.1,
                "n_weights": 9610,
                "fit_seconds": 7.5 + seed,
            }
            _scored_run(client, "seeds", store, config, _pipeline_params(dropout, seed), metrics)
    # The best run of configuration a has a confusion matrix; the others have none.
    best = max(SEEDS_A, key=store.accuracy["a"].get)
    store.run_ids["matrix"] = [store.run_ids["a"][SEEDS_A.index(best)]]
    matrix = confusion_matrix_figure([0, 1, 1], [0, 1, 0], ["0", "1"])
    client.log_figure(store.run_ids["matrix"][0], matrix, "confusion_matrix.png")
    with tracked_run("seeds", "svc", {"benchmark": "digits-svc", "seed": 0}, client=client) as svc:
        svc.log_params({"clf__C": 10.0, "seed": 0, **DATA})
        svc.log_metrics({"test_accuracy": 0.9, "test_macro_f1": 0.89, "n_weights": 500})
    store.run_ids["svc"] = [svc.run_id]
    with (
        pytest.raises(ZeroDivisionError),
        tracked_run("seeds", "failed", {}, client=client) as failed,
    ):
        raise ZeroDivisionError
    store.run_ids["failed"] = [failed.run_id]
    with pytest.raises(ZeroDivisionError), tracked_run("failed only", "f", {}, client=client):
        raise ZeroDivisionError

    study_tags = {"study": "digits-mlp", "benchmark": "digits-mlp", "objective": "accuracy"}
    with tracked_run("digits-mlp study", "study", study_tags, client=client) as parent:
        parent.log_params(
            {"seed": 0, "max_epochs": 2, "dataset_digest": "split0", "best_dropout": 0.4}
        )
        parent.log_metrics({"test_accuracy": 0.97, "test_macro_f1": 0.97, "best_val_accuracy": 0.9})
        for name in ("optimization_history", "param_importances"):
            figure = Figure(figsize=(2, 2))
            figure.add_subplot().plot([0, 1], [0, 1])
            parent.log_figure(figure, f"plots/{name}.png")
        for number in range(3):
            trial_tags = {**study_tags, "trial_number": number}
            with tracked_run(
                "digits-mlp study",
                f"trial {number}",
                trial_tags,
                client=client,
                parent_run_id=parent.run_id,
            ) as trial:
                trial.log_metrics({"val_accuracy": 0.8})
        for seed in (0, 1):
            _scored_run(
                client,
                "digits-mlp study",
                store,
                "refit",
                _pipeline_params(0.1, seed),
                {"test_accuracy": 0.95 + seed / 100, "test_macro_f1": 0.95},
                tags={"refit": "true", "study": "digits-mlp"},
                parent=parent.run_id,
            )
    store.run_ids["study"] = [parent.run_id]

    with tracked_run(
        "repeats", "repeats", {"benchmark": "digits-mlp", "repeats": 3}, client=client
    ) as repeats:
        repeats.log_metrics({"test_accuracy_mean": 0.96})
        for seed in (0, 1, 2):
            _scored_run(
                client,
                "repeats",
                store,
                "repeated",
                _pipeline_params(0.1, seed),
                {"test_accuracy": 0.96},
                parent=repeats.run_id,
            )
    store.run_ids["repeats"] = [repeats.run_id]

    with tracked_run("trials only", "study", study_tags, client=client) as lonely:
        lonely.log_params({"seed": 0})
    store.run_ids["trials only"] = [lonely.run_id]
    return store


@pytest.fixture
def in_compared_store(compared_store, monkeypatch) -> ComparedStore:
    """:func:`compared_store` as the current folder's ./mlruns."""
    monkeypatch.chdir(compared_store.folder)
    # Named absolutely, as in the mlflow_store fixture (MLflow keeps a store per URI text).
    store = compared_store.folder / "mlruns" / "mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{store}")
    return compared_store

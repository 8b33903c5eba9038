"""A study on a scikit-learn baseline searches its own space with the benchmark as
trial 0, and ``--refit-repeats`` refits the best once per seed, as child runs whose
spread the study's parent run holds."""

from dataclasses import replace

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench.errors import UsageError
from bench.use_cases.run import run_benchmark
from studies.search import StudySettings, run_study
from studies.storage import open_storage


def runs_of(client: MlflowClient, parent_id: str, tag: str) -> list:
    parent = client.get_run(parent_id)
    found = client.search_runs(
        [parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent_id}'"
    )
    return sorted(
        (run for run in found if tag in run.data.tags), key=lambda run: run.data.params["seed"]
    )


@pytest.mark.slow
def test_a_baseline_study_refitted_on_three_seeds(mlflow_store):
    report = run_study(
        "digits-svc", StudySettings(trials=3, sampler="random", seed=2), refit_repeats=3
    )
    client = MlflowClient(report.tracking_uri)
    study = optuna.load_study(study_name="digits-svc", storage=open_storage(None))
    # Trial 0 is the benchmark exactly: the same SVC settings as `bench run`.
    baseline_run = client.get_run(study.trials[0].user_attrs["mlflow_run_id"])
    published = client.get_run(run_benchmark("digits-svc").run_id).data.params
    for key in ("clf__C", "clf__gamma", "clf__kernel"):
        assert baseline_run.data.params[key] == published[key]
    assert study.trials[0].params == {"C": 10.0}  # gamma "scale" is no number
    assert all(set(trial.params) == {"C", "gamma"} for trial in study.trials[1:])
    parent = client.get_run(report.parent_run_id)
    assert parent.data.tags["pruner"] == "none"
    refits = runs_of(client, report.parent_run_id, "refit")
    assert [run.data.params["seed"] for run in refits] == ["2", "3", "4"]
    accuracies = [run.data.metrics["test_accuracy"] for run in refits]
    assert parent.data.metrics["test_accuracy_mean"] == pytest.approx(np.mean(accuracies))
    assert parent.data.metrics["test_accuracy_std"] == pytest.approx(np.std(accuracies, ddof=1))
    best = {f"clf__{key}": value for key, value in report.refit.trial.params.items()}
    for run in refits:  # the best trial's configuration, each with its own seed
        assert {key: run.data.params[key] for key in best} == {
            key: str(value) for key, value in best.items()
        }
    assert sorted(report.refit.outcomes) == [2, 3, 4]


@pytest.mark.parametrize("option", [{"pruner": "median"}, {"max_epochs": 3}])
def test_epoch_options_are_refused_for_a_baseline_study(mlflow_store, option):
    with pytest.raises(UsageError, match="fitted in one call"):
        run_study("digits-svc", StudySettings(trials=2, **option))
    assert not (mlflow_store.parent / "optuna.journal").exists()


def test_the_rerun_command_sets_only_what_differs_from_the_benchmark():
    from bench.benchmarks import get_benchmark
    from studies.trials import rerun_command

    def trial_with(settings: dict) -> optuna.trial.FrozenTrial:
        return optuna.trial.create_trial(value=0.9, user_attrs={"pipeline_params": settings})

    benchmark = get_benchmark("digits-mlp")
    own = {"clf__epochs": benchmark.epochs, "clf__dropout": 0.1}  # the benchmark's values
    assert rerun_command(benchmark, trial_with(own)) == "python -m bench run digits-mlp"
    changed = own | {"clf__dropout": 0.3, "clf__hidden_layer_sizes": (64, 32)}
    assert rerun_command(benchmark, trial_with(changed)) == (
        "python -m bench run digits-mlp --set clf__dropout=0.3 "
        "--set 'clf__hidden_layer_sizes=(64, 32)'"
    )


def test_the_rerun_command_writes_stored_tuples_as_a_user_types_them(tmp_path):
    from bench.benchmarks import get_benchmark
    from studies.trials import rerun_command

    # Through a real journal, which stores the settings as JSON (a tuple comes back a list).
    storage = open_storage(str(tmp_path / "optuna.journal"))
    study = optuna.create_study(study_name="s", storage=storage, direction="maximize")
    settings = {"clf__hidden_layer_sizes": (64, 32), "clf__dropout": 0.1}
    study.add_trial(optuna.trial.create_trial(value=0.9, user_attrs={"pipeline_params": settings}))
    stored = optuna.load_study(study_name="s", storage=storage).trials[0]
    assert stored.user_attrs["pipeline_params"]["clf__hidden_layer_sizes"] == [64, 32]
    benchmark = get_benchmark("digits-mlp")
    assert rerun_command(benchmark, stored) == (
        "python -m bench run digits-mlp --set 'clf__hidden_layer_sizes=(64, 32)'"
    )
    own = optuna.trial.create_trial(
        value=0.9, user_attrs={"pipeline_params": {"clf__hidden_layer_sizes": [128]}}
    )
    assert rerun_command(benchmark, own) == "python -m bench run digits-mlp"  # the default


def test_the_rerun_command_of_a_per_block_benchmark_runs_as_written():
    # cifar10-cnn pools per block, (1, 2, 1, 2); a sampled trial pools after every
    # block, 2. The re-run command writes that 2, and `bench run --set` must read it
    # back (it refused an int where the benchmark's pool is a tuple).
    import shlex

    from bench.benchmarks import get_benchmark
    from bench.benchmarks.overrides import resolve_overrides
    from studies.spaces import SpaceContext, suggest_cnn
    from studies.trials import rerun_command

    chosen = {"n_blocks": 2, "downsample": "pool", "filters_1": 32, "filters_2": 64}
    chosen |= {"kernel_1": 3, "kernel_2": 5, "batch_norm": True, "n_dense": 1}
    chosen |= {"dense_units_1": 128, "dropout": 0.4, "augment": "flip", "conv_dropout": 0.2}
    context = SpaceContext((32, 32, 3), flip_safe=True)
    settings = suggest_cnn(optuna.trial.FixedTrial(chosen), context)
    benchmark = get_benchmark("cifar10-cnn")
    trial = optuna.trial.create_trial(value=0.9, user_attrs={"pipeline_params": settings})
    args = shlex.split(rerun_command(benchmark, trial))
    assignments = [args[k + 1] for k, arg in enumerate(args) if arg == "--set"]
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    defaults = pipeline.get_params()
    resolved = resolve_overrides(pipeline, assignments)
    assert resolved == {key: value for key, value in settings.items() if defaults[key] != value}
    assert (resolved["clf__pool"], resolved["clf__padding"]) == (2, "same")
    assert resolved["clf__conv_dropout"] == 0.2  # one rate where cifar10-cnn has four


def test_the_rerun_command_names_the_user_s_benchmark_file(monkeypatch):
    from bench.benchmarks import get_benchmark, registry
    from studies.trials import rerun_command

    monkeypatch.setattr(registry, "_BENCHMARKS", dict(registry._BENCHMARKS))
    monkeypatch.setattr(registry, "_ORIGINS", dict(registry._ORIGINS))
    theirs = replace(get_benchmark("digits-mlp"), name="digits-theirs")
    with registry.declaring("my_benchmarks.py"):
        registry.register(theirs)
    trial = optuna.trial.create_trial(value=0.9, user_attrs={"pipeline_params": {}})
    assert rerun_command(theirs, trial) == (
        "python -m bench run digits-theirs --benchmarks my_benchmarks.py"
    )

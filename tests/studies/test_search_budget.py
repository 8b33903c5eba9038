"""The mechanics of a search that pays off: trial 0 is the benchmark's own network,
known-good configurations run next, trials stop at their pruner's rungs, and
``--timeout`` is a budget the study keeps."""

import time

import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench.benchmarks import Benchmark
from bench.benchmarks.configure import built_network
from bench.benchmarks.pipelines import cnn_pipeline
from bench.figures import model_summary_text
from studies.search import StudySettings, run_study

pytestmark = pytest.mark.slow

# The seed CNN's shape on digits: 9 filters and two dense layers, which the search
# space cannot express (its filters are 8, 16, 32, ...).
SEED_LIKE = Benchmark(
    name="digits-seed-cnn-test",
    dataset="digits",
    summary="a seed-like CNN on digits, for this test",
    pipeline=cnn_pipeline,
    params={
        "filters": (9, 9),
        "kernel_sizes": (3, 3),
        "pool": 2,
        "dense_layers": (300, 30),
        "dropout": 0.4,
        "optimizer": "adam",
    },
    epochs=2,
    batch_size=64,
)


def test_the_baseline_trial_trains_exactly_the_benchmarks_network(mlflow_store):
    report = run_study(
        SEED_LIKE, StudySettings(trials=3, max_epochs=2, sampler="random"), refit=False
    )
    first, *others = report.study.trials
    assert first.user_attrs["baseline"] is True
    assert [t.user_attrs.get("known_good", False) for t in others] == [True, True]
    client = MlflowClient(report.tracking_uri)
    logged = client.download_artifacts(first.user_attrs["mlflow_run_id"], "model_summary.txt")
    own = built_network(SEED_LIKE.build(pixel_max=16.0, seed=0), SEED_LIKE)
    with open(logged) as summary:
        assert summary.read() == model_summary_text(own.model_)  # same layers and weights
    # What the space can hold was recorded for the sampler; the rest stayed the seed's.
    assert first.params["n_dense"] == 2 and first.params["dense_units_1"] == 300
    assert "filters_1" not in first.params  # 9 filters: not in the space, not sampled


def test_trials_stop_at_their_rungs(mlflow_store):
    # Successive halving, first rung at a fifth of the 10-epoch budget: 2 epochs, then 6.
    settings = StudySettings(
        trials=8, max_epochs=10, sampler="random", pruner="sha", seed=3, train_size=400
    )
    report = run_study("digits-mlp", settings, refit=False)
    pruned = [t for t in report.study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned, "no trial was pruned"
    for trial in pruned:
        assert max(trial.intermediate_values) in (2, 6)  # stopped at a rung, not between
    complete = [t for t in report.study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    assert all(
        max(t.intermediate_values) == 10 for t in complete if not t.user_attrs.get("baseline")
    )


def test_timeout_is_a_budget_the_study_keeps(mlflow_store):
    started = time.monotonic()
    # No trial count: as many as the budget allows (`bench study NAME --timeout S`).
    settings = StudySettings(trials=None, timeout=25, max_epochs=200, sampler="random")
    report = run_study("digits-mlp", settings, refit=False)
    elapsed = time.monotonic() - started
    assert elapsed < 25 + 20  # the budget, one epoch and the study's own start and end
    started = [t for t in report.study.trials if t.state != optuna.trial.TrialState.WAITING]
    last = started[-1]  # the trial the budget ran out on
    assert last.state == optuna.trial.TrialState.PRUNED
    client = MlflowClient(report.tracking_uri)
    assert (
        "time budget reached"
        in client.get_run(last.user_attrs["mlflow_run_id"]).data.tags["pruned"]
    )

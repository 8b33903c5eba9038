"""`bench study --grid`: every cell of a grid once, all other settings at the
benchmark's, and one picture on the parent comparing the cells."""

import pytest
from mlflow.tracking import MlflowClient

from bench.benchmarks import Benchmark
from bench.benchmarks.pipelines import deep_mlp_pipeline
from bench.cli import main
from bench.errors import UsageError
from studies.search import StudySettings, run_study

# The course's deep-MLP experiment, small enough for a test: digits, two epochs.
DEEP_DIGITS = Benchmark(
    name="digits-deep-mlp-test",
    dataset="digits",
    summary="deep MLP on digits, for this test",
    pipeline=deep_mlp_pipeline,
    params={"depth": 3, "units": 16, "optimizer": "sgd", "log_gradients": True},
    epochs=2,
    batch_size=64,
)
GRID = (("depth", (2, 6)), ("activation", ("relu", "sigmoid")))


@pytest.mark.slow
def test_grid_runs_every_cell_once_and_compares_them(mlflow_store):
    report = run_study(DEEP_DIGITS, StudySettings(trials=4, grid=GRID, seed=0), refit=False)
    trials = report.study.trials
    assert [trial.state.name for trial in trials] == ["COMPLETE"] * 4
    cells = sorted((trial.params["depth"], trial.params["activation"]) for trial in trials)
    assert cells == [(2, "relu"), (2, "sigmoid"), (6, "relu"), (6, "sigmoid")]
    for trial in trials:  # all else at the benchmark's settings: its 2 epochs, its units
        settings = trial.user_attrs["pipeline_params"]
        assert settings == {
            "clf__depth": trial.params["depth"],
            "clf__activation": trial.params["activation"],
        }
        assert len(trial.user_attrs["gradient_profile"]) == trial.params["depth"]
    client = MlflowClient(report.tracking_uri)
    children = client.search_runs(
        [report.experiment_id], f"tags.mlflow.parentRunId = '{report.parent_run_id}'"
    )
    assert {int(child.data.params["clf__epochs"]) for child in children} == {2}
    names = {artifact.path for artifact in client.list_artifacts(report.parent_run_id)}
    assert "grid.png" in names
    assert all(
        "gradients.png" in {a.path for a in client.list_artifacts(child.info.run_id)}
        for child in children
    )
    # The same command again adds nothing: every cell has run.
    again = run_study(DEEP_DIGITS, StudySettings(trials=4, grid=GRID, seed=0), refit=False)
    assert len(again.study.trials) == 4


def test_a_grid_name_or_value_the_pipeline_rejects_is_a_usage_error(mlflow_store):
    with pytest.raises(UsageError, match="unknown parameter 'dept'"):
        run_study(DEEP_DIGITS, StudySettings(trials=1, grid=(("dept", (2,)),)))
    with pytest.raises(UsageError, match="expected int"):
        run_study(DEEP_DIGITS, StudySettings(trials=1, grid=(("depth", ("deep",)),)))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--grid", "depth"], "--grid expects name=v1,v2,..."),
        (["--grid", "depth=5,5"], "--grid depth repeats a value"),
        (["--grid", "depth=5", "--grid", "depth=20"], "--grid names a parameter twice"),
        ([], "say how long to search: --trials N, --timeout SECONDS"),
    ],
)
def test_grid_mistakes_on_the_command_line_are_one_line(argv, message, capsys, mlflow_store):
    assert main(["study", "mnist-deep-mlp", *argv]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0]

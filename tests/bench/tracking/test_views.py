"""The runs view bench's addresses open: written to the experiment as MLflow's Share
button would, with the scores and what differs between runs as columns.
(The browser test in tests/bench/cli/test_ui_browser.py looks at the page itself.)"""

import json

from bench.tracking.runs import tracked_run
from bench.tracking.store import open_client
from bench.tracking.views import MAX_PARAM_COLUMNS, VIEW_TAG, differing_params


def closed_run(client, experiment, name, params, *, tags=None, parent=None):
    with tracked_run(experiment, name, tags or {}, client=client, parent_run_id=parent) as run:
        run.log_params(params)
        run.log_metrics({"val_accuracy": 0.9})
    return run


def view_of(client, experiment) -> dict:
    found = client.get_experiment_by_name(experiment)
    return json.loads(found.tags[VIEW_TAG])


def test_closing_a_run_writes_a_view_with_the_scores_sorted_by_validation_accuracy(
    mlflow_store,
):
    client = open_client()
    closed_run(client, "views", "only", {"clf__dropout": 0.1, "seed": 0})
    state = view_of(client, "views")
    assert state["selectedColumns"][:5] == [
        "metrics.`val_accuracy`",
        "metrics.`test_accuracy`",
        "metrics.`test_macro_f1`",
        "metrics.`fit_seconds`",
        "metrics.`n_weights`",
    ]
    assert state["orderByKey"] == "metrics.`val_accuracy`"
    assert state["orderByAsc"] is False
    assert not any(column.startswith("params.") for column in state["selectedColumns"])
    assert state["columnOrder"] == state["selectedColumns"]
    assert state["selectedColumns"][-1] == "attributes.`Dataset`"


def test_a_repeats_parent_adds_the_mean_and_spread_over_seeds(mlflow_store):
    client = open_client()
    with tracked_run("repeats view", "seeds 0-1", {}, client=client) as parent:
        parent.log_metrics({"test_accuracy_mean": 0.9, "test_accuracy_std": 0.01})
    columns = view_of(client, "repeats view")["selectedColumns"]
    assert columns[5:7] == ["metrics.`test_accuracy_mean`", "metrics.`test_accuracy_std`"]


def test_the_view_gains_the_parameters_that_differ_but_not_the_seed(mlflow_store):
    client = open_client()
    closed_run(client, "views", "a", {"clf__dropout": 0.1, "clf__epochs": 5, "seed": 0})
    closed_run(client, "views", "b", {"clf__dropout": 0.3, "clf__epochs": 5, "seed": 1})
    columns = view_of(client, "views")["selectedColumns"]
    assert "params.`clf__dropout`" in columns
    assert "params.`clf__epochs`" not in columns
    assert "params.`seed`" not in columns


def test_a_study_view_shows_the_searched_names_and_each_trial_s_state(mlflow_store):
    client = open_client()
    parent = closed_run(client, "study views", "study", {"sampler": "tpe", "trials": 2})
    for number, (rate, state) in enumerate([(0.01, "COMPLETE"), (0.001, "PRUNED")]):
        closed_run(
            client,
            "study views",
            f"trial {number}",
            {"learning_rate": rate, "clf__optimizer__learning_rate": rate, "trial_number": number},
            tags={"trial_state": state},
            parent=parent.run_id,
        )
    columns = view_of(client, "study views")["selectedColumns"]
    assert "params.`learning_rate`" in columns
    assert "params.`clf__optimizer__learning_rate`" not in columns  # the same, twice
    assert "params.`trial_number`" not in columns
    assert columns[5] == "tags.`trial_state`"  # beside the scores
    # MLflow's table folds trials under their study only when sorted by start time.
    assert view_of(client, "study views")["orderByKey"] == "attributes.start_time"


def test_at_most_a_screen_of_parameter_columns(mlflow_store):
    client = open_client()
    for value in (1, 2):
        closed_run(client, "wide", str(value), {f"p{i:02d}": value for i in range(20)})
    runs = client.search_runs([client.get_experiment_by_name("wide").experiment_id])
    assert differing_params(runs) == [f"p{i:02d}" for i in range(MAX_PARAM_COLUMNS)]

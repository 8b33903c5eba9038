"""Reading the store back: runs as records, histories, artifacts; a report logged on a run;
and a folder without a store left without one."""

import pytest
from mlflow.tracking import MlflowClient

from bench.errors import UsageError
from bench.tracking.history import (
    artifact_bytes,
    experiment_names,
    experiment_runs,
    log_report,
    metric_history,
    open_store,
    runs_and_children,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_records_hold_each_run_s_tags_params_and_last_metrics(in_compared_store):
    client = open_store()
    records = experiment_runs(client, ["seeds"])["seeds"]
    direct = MlflowClient(client.tracking_uri)
    assert {record.run_id for record in records} == {
        run.info.run_id
        for run in direct.search_runs([direct.get_experiment_by_name("seeds").experiment_id])
    }
    for record in records:
        stored = direct.get_run(record.run_id).data
        assert (record.tags, record.params, record.metrics) == (
            stored.tags,
            stored.params,
            stored.metrics,
        )
        assert record.experiment == "seeds"
    assert [r.start_time for r in records] == sorted((r.start_time for r in records), reverse=True)


def test_without_names_every_experiment_is_read(in_compared_store):
    client = open_store()
    assert set(experiment_runs(client)) == set(experiment_names(client))
    assert {"seeds", "digits-mlp study", "repeats", "trials only"} <= set(experiment_names(client))


def test_an_unknown_experiment_is_a_usage_error_naming_those_there_are(in_compared_store):
    with pytest.raises(UsageError, match="no experiment 'seedz'.*'seeds'.*'repeats'"):
        experiment_runs(open_store(), ["seeds", "seedz"])


def test_a_run_id_brings_its_children_once(in_compared_store):
    store = in_compared_store
    parent = store.run_ids["repeats"][0]
    records = runs_and_children(open_store(), [parent, parent, store.run_ids["repeated"][0]])
    ids = [record.run_id for record in records]
    assert sorted(ids) == sorted([parent, *store.run_ids["repeated"]])
    assert all(record.parent_id == parent for record in records if record.run_id != parent)


def test_an_unknown_run_id_is_a_usage_error(in_compared_store):
    with pytest.raises(UsageError, match="no run 0123abc in the MLflow store"):
        runs_and_children(open_store(), ["0123abc"])


def test_metric_history_is_every_epoch_in_order(in_compared_store):
    run_id = in_compared_store.run_ids["a"][0]
    accuracy = in_compared_store.accuracy["a"][0]
    history = metric_history(open_store(), run_id, "val_accuracy")
    assert history == [(epoch, pytest.approx(accuracy - 0.1 / epoch)) for epoch in (1, 2, 3)]
    assert metric_history(open_store(), run_id, "no_such_metric") == []


def test_artifact_bytes_are_the_file_or_none(in_compared_store):
    client = open_store()
    parent = in_compared_store.run_ids["study"][0]
    assert artifact_bytes(client, parent, "plots/param_importances.png").startswith(PNG_SIGNATURE)
    assert artifact_bytes(client, parent, "plots/best_so_far.png") is None
    assert artifact_bytes(client, parent, "confusion_matrix.png") is None


def test_a_logged_report_is_the_run_s_artifact(in_compared_store):
    client = open_store()
    run_id = in_compared_store.run_ids["svc"][0]
    log_report(client, run_id, "<!DOCTYPE html><title>x</title>", path="reports/test.html")
    assert artifact_bytes(client, run_id, "reports/test.html") == b"<!DOCTYPE html><title>x</title>"


def test_a_folder_without_a_store_is_a_usage_error_and_gets_none(mlflow_store):
    with pytest.raises(UsageError, match="no MLflow store at .*mlflow.db; run `python -m bench"):
        open_store()
    assert not mlflow_store.parent.exists()

"""Runs grouped by configuration, their statistics, the paired test and the formats,
on records as the store hands them out (and on the real store of ``compared_store``)."""

import io
import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bench.errors import UsageError
from bench.tracking.history import RunRecord, experiment_runs, open_store
from bench.use_cases.compare import (
    accuracy_time_figure,
    chosen_pair,
    column_names,
    compare_runs,
    configuration_params,
    left_out_text,
    paired_test,
    readable_table,
    render,
    seed_ranges,
)

_ids = itertools.count()


def record(seed=0, accuracy=0.9, benchmark="digits-mlp", tags=None, metrics=None, **params):
    """A scored run as `bench run` logs it: ``params`` are pipeline parameters."""
    all_params = {
        "seed": str(seed),
        "clf__random_state": str(seed),
        "n_validation": "135",
        "dataset_digest": "d1g1t5",
        **{name: str(value) for name, value in params.items()},
    }
    scores = {"test_accuracy": accuracy, "test_macro_f1": accuracy - 0.01} if accuracy else {}
    return RunRecord(
        run_id=f"run{next(_ids):04d}",
        name="",
        experiment="e",
        status="FINISHED",
        start_time=0,
        tags={"benchmark": benchmark, "seed": str(seed), **(tags or {})},
        params=all_params,
        metrics={**scores, "n_weights": 9610.0, "fit_seconds": 2.0 + seed, **(metrics or {})},
    )


def test_seeds_of_one_configuration_are_one_row_and_configurations_are_split():
    runs = [record(seed, clf__dropout=0.1) for seed in range(3)]
    runs += [record(seed, clf__dropout=0.3) for seed in range(2)]
    runs.append(record(0, clf__dropout=0.1, benchmark="other"))
    comparison = compare_runs(runs)
    groups = sorted(
        (c.benchmark, dict(c.params)["clf__dropout"], len(c.runs))
        for c in comparison.configurations
    )
    assert groups == [("digits-mlp", "0.1", 3), ("digits-mlp", "0.3", 2), ("other", "0.1", 1)]


def test_what_changes_with_the_seed_is_not_configuration():
    a, b = record(1, clf__dropout=0.1), record(2, clf__dropout=0.1)
    b.params.update({"n_validation": "140", "scale__random_state": "9", "dataset_source": "/x"})
    assert (
        configuration_params(a)
        == configuration_params(b)
        == {
            "clf__dropout": "0.1",
            "dataset_digest": "d1g1t5",
        }
    )


def test_mean_std_n_and_interval_are_numpy_s_and_scipy_s_over_the_grouped_runs():
    scores = [0.91, 0.935, 0.928, 0.92]
    runs = [record(seed, score, clf__dropout=0.2) for seed, score in enumerate(scores)]
    runs.append(record(0, 0.5, clf__dropout=0.9))
    row = compare_runs(runs).table.iloc[0]
    assert row["n"] == 4
    assert row["test_accuracy_mean"] == pytest.approx(np.mean(scores))
    assert row["test_accuracy_std"] == pytest.approx(np.std(scores, ddof=1))
    low, high = stats.t.interval(0.95, 3, loc=np.mean(scores), scale=np.std(scores, ddof=1) / 2)
    assert (row["test_accuracy_ci95_low"], row["test_accuracy_ci95_high"]) == (
        pytest.approx(low),
        pytest.approx(high),
    )
    assert row["test_macro_f1_mean"] == pytest.approx(np.mean(scores) - 0.01)
    assert row["fit_seconds_mean"] == pytest.approx(np.mean([2, 3, 4, 5]))
    assert readable_table(compare_runs(runs).table)["test accuracy"][0] == (
        f"{np.mean(scores):.4f} ± {np.std(scores, ddof=1):.4f} (n=4)"
    )


def test_rows_are_sorted_best_mean_first():
    runs = [record(0, 0.80, units=1), record(0, 0.95, units=2), record(0, 0.90, units=3)]
    table = compare_runs(runs).table
    assert list(table["units"]) == ["2", "3", "1"]
    assert list(table["#"]) == [1, 2, 3]


def test_columns_are_exactly_the_parameters_that_differ_without_their_step():
    runs = [
        record(0, 0.9, clf__dropout=0.1, clf__epochs=20, scale__max_value=16),
        record(0, 0.8, clf__dropout=0.3, clf__epochs=20, scale__max_value=16),
        record(0, 0.7, clf__dropout=0.3, clf__epochs=20, scale__max_value=255),
        record(0, 0.6, clf__dropout=0.3, clf__epochs=20, scale__max_value=16, clf__rho=0.9),
    ]
    comparison = compare_runs(runs)
    table = comparison.table
    assert comparison.setting_columns == ["dropout", "rho", "max_value"]
    assert list(table.columns[:5]) == ["#", "benchmark", "dropout", "rho", "max_value"]
    assert list(table["rho"]) == ["", "", "", "0.9"]


def test_a_short_name_taken_twice_keeps_its_step():
    assert column_names(["hog__size", "clf__size", "clf__dropout"]) == {
        "hog__size": "hog__size",
        "clf__size": "clf__size",
        "clf__dropout": "dropout",
    }
    assert column_names(["clf__seeds", "dropout", "clf__dropout"])["clf__seeds"] == "clf__seeds"


def test_a_study_parent_is_a_row_of_its_own_and_trials_are_left_out():
    study = {"study": "s", "benchmark": "digits-mlp"}
    parent = RunRecord(
        "parent",
        "study s",
        "e",
        "FINISHED",
        0,
        tags=study,
        params={"seed": "0", "max_epochs": "2", "dataset_digest": "split-of-seed-0"},
        metrics={"test_accuracy": 0.97},
    )
    trials = [
        RunRecord(f"t{n}", "", "e", "FINISHED", 0, {**study, "trial_number": str(n)}, {}, {})
        for n in range(3)
    ]
    failed = RunRecord("f", "", "e", "FAILED", 0, {}, {}, {})
    comparison = compare_runs([parent, *trials, failed, record(0, 0.9), record(1, 0.92)])
    assert [c.source for c in comparison.configurations] == ["study s", "bench run"]
    assert configuration_params(parent) == {"max_epochs": "2"}
    assert comparison.left_out == {"trial": 3, "FAILED": 1}
    assert left_out_text(comparison.left_out) == (
        "left out 4 runs without a test score: 1 failed run, 3 study trials (validation "
        "scores only)"
    )
    assert left_out_text({}) == ""


def study_parent(accuracy: float, **params) -> RunRecord:
    """A study's parent run, scored by its refit, as studies/refit.py logs it."""
    return RunRecord(
        f"parent{next(_ids):04d}",
        "study digits-mlp",
        "e",
        "FINISHED",
        0,
        tags={"study": "digits-mlp", "benchmark": "digits-mlp"},
        params={"seed": "0", "max_epochs": "20", **{k: str(v) for k, v in params.items()}},
        metrics={"test_accuracy": accuracy},
    )


def test_rows_that_trained_different_epochs_show_an_epochs_column():
    # The study's refit trained 15 epochs (an older default budget), `bench run` 20.
    runs = [study_parent(0.9644, best_epochs=15), record(0, 0.9689, clf__epochs=20)]
    comparison = compare_runs(runs)
    assert comparison.setting_columns == ["epochs"]
    assert list(comparison.table["epochs"]) == ["20", "15"]
    assert readable_table(comparison.table)["epochs"].tolist() == ["20", "15"]
    text = render(comparison, "text").splitlines()
    assert text[0].split()[:3] == ["#", "benchmark", "source"] and "epochs" in text[0]


def test_rows_of_the_same_epochs_have_no_epochs_column():
    same = [study_parent(0.97, best_epochs=20), record(0, 0.9689, clf__epochs=20)]
    assert "epochs" not in compare_runs(same).table.columns
    # A baseline has no epochs: nothing to tell apart from a single network's.
    svc = record(0, 0.98, benchmark="digits-svc", clf__C=10)
    assert "epochs" not in compare_runs([svc, record(0, 0.9, clf__epochs=20)]).table.columns
    # Between two `bench run`s, the one column still, not two.
    runs = [record(0, 0.9, clf__epochs=20), record(0, 0.8, clf__epochs=5)]
    assert compare_runs(runs).setting_columns == ["epochs"]


def test_a_study_refitted_per_seed_is_one_row_of_its_refits():
    study = {"study": "s", "benchmark": "digits-mlp"}
    parent = RunRecord(
        "parent", "", "e", "FINISHED", 0, study, {"seed": "0"}, {"test_accuracy_mean": 0.9}
    )
    refit = {**study, "refit": "true", "mlflow.parentRunId": "parent"}
    refits = [record(seed, 0.9, tags=refit, clf__dropout=0.4) for seed in (0, 1)]
    comparison = compare_runs([parent, *refits])
    (configuration,) = comparison.configurations
    assert (configuration.source, len(configuration.runs)) == ("study s refit", 2)
    assert left_out_text(comparison.left_out) == (
        "left out 1 run without a test score: 1 parent of repeats (their seeds are rows)"
    )


def test_the_paired_test_is_scipy_s_ttest_rel_over_the_shared_seeds():
    rng = np.random.default_rng(3)
    a = {seed: 0.95 + rng.normal(0, 0.005) for seed in range(0, 6)}
    b = {seed: 0.94 + rng.normal(0, 0.005) for seed in range(2, 9)}
    runs = [record(s, v, clf__dropout=0.1) for s, v in a.items()]
    runs += [record(s, v, clf__dropout=0.5) for s, v in b.items()]
    comparison = compare_runs(runs)
    first = 1 if dict(comparison.configurations[0].params)["clf__dropout"] == "0.1" else 2
    test = paired_test(comparison, first, 3 - first)
    shared = [2, 3, 4, 5]
    expected = stats.ttest_rel([a[s] for s in shared], [b[s] for s in shared])
    interval = expected.confidence_interval(0.95)
    assert test.seeds == ("2", "3", "4", "5")
    assert (test.statistic, test.p_value) == (
        pytest.approx(expected.statistic),
        pytest.approx(expected.pvalue),
    )
    assert (test.ci_low, test.ci_high) == (
        pytest.approx(interval.low),
        pytest.approx(interval.high),
    )
    assert test.difference == pytest.approx(np.mean([a[s] - b[s] for s in shared]))
    assert "paired t-test over 4 shared seeds (2-5)" in test.text
    assert f"p = {expected.pvalue:.3g}" in test.text
    verdict = "significant" if expected.pvalue < 0.05 else "not significant"
    assert test.text.endswith(f", {verdict} at 0.05")


def test_with_fewer_than_two_shared_seeds_the_text_says_why_there_is_no_test():
    runs = [record(0, 0.9, units=1), record(1, 0.91, units=1), record(1, 0.8, units=2)]
    test = paired_test(compare_runs(runs), 1, 2)
    assert np.isnan(test.p_value)
    assert "no paired test possible: the two rows share only seed 1" in test.text
    runs[-1] = record(5, 0.8, units=2)
    assert "share no seed" in paired_test(compare_runs(runs), 1, 2).text


def test_differences_that_do_not_vary_with_the_seed_are_said_in_words():
    runs = [record(s, 0.9, C=1) for s in range(3)] + [record(s, 0.8, C=2) for s in range(3)]
    text = paired_test(compare_runs(runs), 1, 2).text
    assert "+0.1000 test accuracy on every one of the 3 shared seeds" in text


def test_the_pair_is_the_only_two_rows_or_the_rows_asked_for():
    two = compare_runs([record(0, 0.9, units=1), record(0, 0.8, units=2)])
    three = compare_runs([record(0, 0.9, units=u) for u in (1, 2, 3)])
    assert chosen_pair(two, None) == (1, 2)
    assert chosen_pair(three, None) is None
    assert chosen_pair(three, (3, 1)) == (3, 1)
    for wrong in ((1, 4), (2, 2), (0, 1)):
        with pytest.raises(UsageError, match=r"--pair takes two different row numbers .*1 to 3"):
            chosen_pair(three, wrong)


def _two_configurations():
    runs = [record(s, 0.9 + s / 100, clf__dropout=0.1) for s in range(3)]
    return compare_runs(
        runs + [record(0, 0.85, clf__dropout=0.3), record(1, 0.8, clf__dropout=0.3)]
    )


def test_csv_parses_back_into_the_table():
    comparison = _two_configurations()
    parsed = pd.read_csv(io.StringIO(render(comparison, "csv")), dtype={"dropout": str})
    pd.testing.assert_frame_equal(parsed, comparison.table, check_dtype=False)


def test_markdown_parses_back_into_the_readable_table():
    comparison = _two_configurations()
    lines = render(comparison, "markdown").splitlines()
    cells = [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]
    header, rule, *rows = cells
    assert all(set(cell) <= set(":-") for cell in rule)
    shown = readable_table(comparison.table)
    assert header == list(shown.columns)
    assert rows == shown.values.tolist()


def test_html_parses_back_into_the_readable_table():
    comparison = _two_configurations()
    shown = readable_table(comparison.table)
    text = {column: str for column in shown.columns}  # as shown: "9,610", "0.9000"
    (parsed,) = pd.read_html(
        io.StringIO(render(comparison, "html")), flavor="html5lib", converters=text, thousands=None
    )
    assert list(parsed.columns) == list(shown.columns)
    assert parsed.fillna("").values.tolist() == shown.values.tolist()


def test_text_has_a_header_and_one_line_per_row():
    lines = render(_two_configurations(), "text").splitlines()
    assert lines[0].split()[:3] == ["#", "benchmark", "dropout"]
    assert [line.split()[0] for line in lines[2:]] == ["1", "2"]


def test_seed_ranges_are_compact():
    assert seed_ranges(["0", "1", "2", "5", "7", "8", "x"]) == "0-2, 5, 7, 8, x"


def test_the_logged_store_groups_seeds_refits_and_repeats_by_configuration(in_compared_store):
    store = in_compared_store
    records = [r for runs in experiment_runs(open_store()).values() for r in runs]
    comparison = compare_runs(records)
    by_runs = {frozenset(r.run_id for r in c.runs): c for c in comparison.configurations}
    same = frozenset(store.run_ids["a"] + store.run_ids["refit"] + store.run_ids["repeated"])
    assert same in by_runs
    assert by_runs[same].source == "bench run, study digits-mlp refit"
    assert frozenset(store.run_ids["b"]) in by_runs
    assert comparison.left_out == {"trial": 3, "repeats": 1, "study": 1, "FAILED": 2}
    b = comparison.table[comparison.table["runs"].str.contains(store.run_ids["b"][0])].iloc[0]
    assert b["test_accuracy_mean"] == pytest.approx(np.mean(list(store.accuracy["b"].values())))
    assert b["test_macro_f1_mean"] == pytest.approx(np.mean(list(store.macro_f1["b"].values())))


def test_the_accuracy_time_picture_has_a_dot_per_run_and_each_row_s_mean_with_its_interval():
    scores = [0.91, 0.935, 0.928]
    runs = [record(seed, score, clf__dropout=0.2) for seed, score in enumerate(scores)]
    runs.append(record(0, 0.5, clf__dropout=0.9))  # one run: a mean without an interval
    comparison = compare_runs(runs)
    (ax,) = accuracy_time_figure(comparison).axes
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert [sorted(line.get_ydata()) for line in dots] == [sorted(scores), [0.5]]
    assert sorted(dots[0].get_xdata()) == [2.0, 3.0, 4.0]  # each run's fit seconds
    means = [container for container in ax.containers if container.has_yerr]
    (with_interval,) = means
    low, high = comparison.table.loc[0, ["test_accuracy_ci95_low", "test_accuracy_ci95_high"]]
    (bar,) = with_interval.lines[2]  # the vertical error bar
    np.testing.assert_allclose(bar.get_segments()[0][:, 1], [low, high])
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels == ["#1 digits-mlp (n=3)", "#2 digits-mlp (n=1)"]

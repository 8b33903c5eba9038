"""What the commands print: tables people read, progress a log file can hold."""

import io
import re

import numpy as np
import optuna
import pandas as pd

from bench.cli.progress import TrialProgress
from bench.cli.summaries import markdown_table, readable, table


def test_trials_table_shows_whole_numbers_and_blanks_not_nan():
    trials = pd.DataFrame(
        {
            "number": [0, 5],
            "value": [0.962963, 0.955556],
            "units_2": [np.nan, 21.0],  # pandas stores a column with gaps as floats
            "momentum": [np.nan, 0.610765],
            "nesterov": [None, False],
        }
    )
    text = readable(trials).to_string(index=False)
    assert "NaN" not in text and "None" not in text and "<NA>" not in text
    assert " 21 " in f"{text} " and "21.0" not in text
    assert "0.610765" in text and "False" in text


def test_trial_progress_in_a_log_is_one_line_per_trial():
    study = optuna.create_study(direction="maximize")
    stream = io.StringIO()  # not a terminal
    with TrialProgress(3, stream=stream) as progress:
        study.optimize(
            lambda trial: trial.suggest_float("x", 0, 1), n_trials=3, callbacks=[progress]
        )
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3 and "\r" not in stream.getvalue()
    assert lines[0].startswith("trial 0 complete  value ")
    assert lines[-1].endswith("s]") and "[3/3, " in lines[-1]
    best = study.best_trial
    assert f"best {best.value:.4f} (trial {best.number})" in lines[-1]


def test_tables_align_and_markdown_marks_right_aligned_columns():
    rows = [("name", "count"), ("a", "1"), ("longer", "22")]
    assert table(rows, right_aligned={1}).splitlines() == [
        "name    count",
        "a           1",
        "longer     22",
    ]
    assert markdown_table(rows, right_aligned={1}).splitlines()[1] == "|:-------|--------:|"


def test_the_comparison_with_the_baseline_says_which_won():
    from bench.cli.summaries import against_baseline
    from studies.search import SearchComparison

    better = SearchComparison(
        best_value=0.93,
        best_trial=7,
        baseline_value=0.91,
        cpu_seconds=600.0,
        elapsed_seconds=300.0,
        baseline_trial=0,
        trials=12,
    )
    assert against_baseline(better).startswith("better: +0.0200 validation accuracy")
    assert "10.0 CPU-minutes, 5.0 minutes of searching" in against_baseline(better)
    kept = SearchComparison(
        best_value=0.91,
        best_trial=0,
        baseline_value=0.91,
        cpu_seconds=600.0,
        elapsed_seconds=300.0,
        baseline_trial=0,
        trials=12,
    )
    assert against_baseline(kept).startswith(
        "not better: the baseline (trial 0, 0.9100) is still the best of 12 finished trials"
    )
    no_baseline = SearchComparison(
        best_value=0.91,
        best_trial=3,
        baseline_value=None,
        cpu_seconds=60.0,
        elapsed_seconds=30.0,
    )
    assert "no baseline" in against_baseline(no_baseline)


def test_run_addresses_without_a_ui_say_how_to_serve_them_on_their_port(mlflow_store):
    from bench.cli.summaries import where_to_look
    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client

    uri = f"sqlite:///{mlflow_store}"
    with tracked_run("e", "a run", {}, client=open_client(uri)) as run:
        pass

    rows = dict(where_to_look(uri, run.experiment_id, run.run_id))

    start = re.fullmatch(
        r"not running; to serve these addresses: python -m bench ui --port (\d+)  \(store (.+)\)",
        rows["MLflow UI"],
    )
    assert start and start.group(2) == uri, rows
    port = start.group(1)
    assert rows["run page"] == (
        f"http://127.0.0.1:{port}/#/experiments/{run.experiment_id}/runs/{run.run_id}"
    )
    assert rows["runs view"].startswith(f"http://127.0.0.1:{port}/#/experiments/")


def test_what_sampling_added_names_the_best_enqueued_trial_and_when_it_was_beaten():
    from bench.cli.summaries import sampling_added
    from studies.search import SearchComparison

    common = dict(best_trial=7, baseline_value=0.91, cpu_seconds=600.0, elapsed_seconds=300.0)
    beaten = SearchComparison(
        best_value=0.94,
        best_enqueued=0.93,
        best_enqueued_trial=1,
        minutes_to_beat_enqueued=12.34,
        **common,
    )
    assert sampling_added(beaten) == (
        "a sampled trial beat the best enqueued configuration (trial 1, 0.9300) after "
        "12.3 CPU-minutes"
    )
    kept = SearchComparison(best_value=0.93, best_enqueued=0.93, best_enqueued_trial=1, **common)
    assert sampling_added(kept) == (
        "no sampled trial beat the best enqueued configuration (trial 1, 0.9300)"
    )


def test_the_study_line_counts_the_trials_that_ran_and_says_what_else_it_holds():
    from bench.cli.summaries import trial_counts

    states = pd.Series(["COMPLETE", "PRUNED", "PRUNED", "FAIL", "WAITING", "COMPLETE"])
    assert trial_counts(states) == "5 trials (2 pruned, 1 failed, 1 still queued)"
    assert trial_counts(pd.Series(["COMPLETE"])) == "1 trial"


def test_bench_server_prints_how_to_submit_the_shipped_job_script_with_its_addresses():
    from types import SimpleNamespace

    from bench.cli.summaries import server_addresses, slurm_job_script

    storage = "postgresql://bench@db/optuna"
    text = server_addresses(SimpleNamespace(address="http://login:5000"), storage)
    script = slurm_job_script()
    assert script.is_file() and "#SBATCH" in script.read_text()
    assert f"export MLFLOW_TRACKING_URI=http://login:5000 BENCH_STORAGE={storage}" in text
    assert f"sbatch --parsable --array=1-4 {script} NAME --trials N" in text
    assert f"sbatch --dependency=afterany:$array {script} NAME --trials N" in text

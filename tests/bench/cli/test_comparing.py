"""``bench compare`` and ``bench report`` as a user types them: the table on stdout, notes
on stderr, mistakes in one line; and, end to end, after real ``bench run`` and ``bench
study`` commands."""

import io
import re

import pandas as pd
import pytest

from bench.cli import main

NOISE = ("WARNING", "INFO", "Traceback", "alembic", "Warning")


def test_compare_prints_one_row_per_configuration_and_notes_on_stderr(in_compared_store, capsys):
    assert main(["compare", "seeds", "digits-mlp study"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["#", "benchmark", "source", "dropout"]
    rows = [line.split() for line in lines[2:] if line.strip()]
    # a (seeds 0-4 and the study's two refits), the study parent, b, the SVC.
    assert [row[0] for row in rows] == ["1", "2", "3", "4"]
    assert "left out 4 runs without a test score: 1 failed run, 3 study trials" in err
    assert not [word for word in NOISE if word in err], err


def test_compare_csv_is_a_csv_file_and_the_test_goes_to_stderr(in_compared_store, capsys):
    assert main(["compare", "seeds", "--format", "csv", "--pair", "1", "2"]) == 0
    out, err = capsys.readouterr()
    table = pd.read_csv(io.StringIO(out))
    assert list(table["n"]) == [5, 5, 1]
    assert "#1 minus #2, paired t-test over 4 shared seeds (1-4)" in err


def test_two_configurations_are_tested_without_asking(in_compared_store, capsys):
    ids = in_compared_store.run_ids
    assert main(["compare", "--runs", *ids["a"], *ids["b"], "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("|   # | benchmark   | dropout   | seeds")
    assert re.search(r"\n\n#1 minus #2, paired t-test over 4 shared seeds .* at 0\.05\n$", out)


def test_a_repeats_parent_id_brings_its_seeds(in_compared_store, capsys):
    assert main(["compare", "--runs", in_compared_store.run_ids["repeats"][0]]) == 0
    out, err = capsys.readouterr()
    assert "0.9600 ± 0.0000 (n=3)" in out and "0-2" in out
    assert "1 parent of repeats (their seeds are rows)" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["compare", "seedz"], "no experiment 'seedz' in the MLflow store"),
        (["compare", "--runs", "feedbeef"], "no run feedbeef in the MLflow store"),
        (["compare", "seeds", "--pair", "1", "9"], "--pair takes two different row numbers"),
        (["compare", "seeds", "--pair", "0", "1"], "--pair: must be at least 1, got 0"),
        (["compare", "--format", "xls"], "invalid choice: 'xls'"),
        (["report", "seedz"], "no experiment 'seedz' in the MLflow store"),
    ],
)
def test_a_mistake_is_exit_2_and_one_line(in_compared_store, capsys, argv, message):
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("bench: error: ") and message in err, err


def test_an_experiment_without_scored_runs_says_so_in_one_line(in_compared_store, capsys):
    assert main(["compare", "trials only"]) == 1
    out, err = capsys.readouterr()
    assert (out, err) == (
        "",
        "bench: error: nothing to compare: no scored run in 'trials only' (left out 1 run "
        "without a test score: 1 study parent without a refit (--no-refit)); "
        "`python -m bench run NAME` makes one\n",
    )
    assert main(["compare", "trials only", "seeds"]) == 0
    assert "experiment 'trials only' has no scored runs" in capsys.readouterr().err


def test_without_a_store_compare_says_where_to_run_it(mlflow_store, capsys):
    assert main(["compare"]) == 2
    assert "no MLflow store at" in capsys.readouterr().err
    assert not mlflow_store.parent.exists()


def test_report_writes_the_file_and_says_where(in_compared_store, capsys, tmp_path):
    target = tmp_path / "handout.html"
    assert main(["report", "digits-mlp study", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    parent = in_compared_store.run_ids["study"][0]
    assert out == (
        f"report written to {target}\n"
        f"also logged as report.html on the study's parent run {parent}\n"
    )
    assert target.read_text().startswith("<!DOCTYPE html>")


def test_compare_draws_accuracy_against_time_into_the_picture_asked_for(
    in_compared_store, capsys, tmp_path
):
    target = tmp_path / "accuracy-time.png"
    assert main(["compare", "seeds", "--plot", str(target)]) == 0
    assert f"wrote {target}" in capsys.readouterr().err
    assert target.read_bytes().startswith(b"\x89PNG")
    assert main(["compare", "seeds", "--plot", str(tmp_path / "a.jpg")]) == 2
    assert "give a .png file name" in capsys.readouterr().err


def test_report_into_a_missing_folder_is_one_line(in_compared_store, capsys, tmp_path):
    assert main(["report", "seeds", "-o", str(tmp_path / "no" / "such.html")]) == 2
    assert "cannot write the report to" in capsys.readouterr().err


@pytest.mark.slow
def test_compare_and_report_after_real_runs_and_a_study(tmp_path, bench_command):
    for seed in ("0", "1"):
        done = bench_command("run", "digits-mlp", "--epochs", "2", "--seed", seed, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
    done = bench_command(
        "study",
        "digits-mlp",
        "--trials",
        "2",
        "--max-epochs",
        "2",
        "--pruner",
        "none",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr

    compared = bench_command("compare", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    table, test = compared.stdout.split("\n\n")
    rows = [line.split() for line in table.splitlines()[2:]]
    assert test.startswith("#1 minus #2: no paired test possible")  # they share seed 0 only
    assert {row[1] for row in rows} == {"digits-mlp"}
    assert "(n=2)" in compared.stdout  # the two seeds are one row
    assert "study digits-mlp" in compared.stdout  # the study's refit is another
    assert (
        compared.stderr
        == "left out 2 runs without a test score: 2 study trials (validation scores only)\n"
    )

    reported = bench_command("report", "digits-mlp study", cwd=tmp_path)
    assert reported.returncode == 0, reported.stderr
    assert reported.stderr == ""
    page = tmp_path / "digits-mlp-study-report.html"
    assert f"report written to {page}" in reported.stdout
    assert "data:image/png;base64," in page.read_text()


@pytest.mark.slow
@pytest.mark.parametrize("command", [["compare"], ["report", "killed"]])
def test_compare_and_report_close_runs_of_killed_processes_in_every_experiment(
    command, tmp_path, killed_run, bench_command
):
    from bench.tracking.store import open_client

    killed = killed_run(tmp_path, "killed", "elsewhere")

    done = bench_command(*command, cwd=tmp_path)

    said = [line for line in done.stderr.splitlines() if line.startswith("closed as FAILED")]
    assert len(said) == 1, done.stderr
    head, _, runs = said[0].partition(": ")
    assert head == "closed as FAILED 2 runs whose process on this machine is gone (killed?)"
    assert sorted(runs.split("; ")) == sorted(
        f"{run_id} (killed mid-run, in '{name}')"
        for run_id, name in zip(killed, ("killed", "elsewhere"), strict=True)
    )
    client = open_client(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    assert {client.get_run(run_id).info.status for run_id in killed} == {"FAILED"}

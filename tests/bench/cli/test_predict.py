"""``bench predict`` as a user runs it: a model trained by `bench run` classifies digits
the test draws itself on paper-sized pictures; a run without a model says which runs
hold one."""

import json
import re

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.benchmarks import get_benchmark
from bench.cli import main
from bench.tracking.artifacts import ModelFacts, log_pipeline
from bench.tracking.runs import tracked_run
from bench.use_cases.run import run_benchmark, run_repeats

PAPER, INK = (245, 242, 235), (20, 20, 30)


def draw(path, strokes, *, ellipse=None):
    picture = Image.new("RGB", (240, 180), PAPER)
    pen = ImageDraw.Draw(picture)
    for stroke in strokes:
        pen.line(stroke, fill=INK, width=14)
    if ellipse:
        pen.ellipse(ellipse, outline=INK, width=14)
    picture.save(path)
    return path


def drawn_digits(folder):
    """A 1, a 0 and a 7 drawn on paper-sized pictures (240x180) in ``folder``."""
    return {
        "1": draw(folder / "one.png", [[(120, 30), (120, 150)]]),
        "0": draw(folder / "zero.jpg", [], ellipse=[(80, 25), (160, 155)]),
        "7": draw(folder / "seven.png", [[(80, 35), (165, 35)], [(165, 35), (105, 155)]]),
    }


@pytest.fixture(scope="module")
def trained(tmp_path_factory, bench_command, mnist_root):
    """A folder with a `bench run mnist-mlp` in its store, its run id, and drawn digits."""
    cwd = tmp_path_factory.mktemp("predict")
    done = bench_command(
        "run", "mnist-mlp", "--epochs", "3", cwd=cwd, BENCH_DATA_DIR=str(mnist_root)
    )
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"run id\s+([0-9a-f]{32})", done.stdout).group(1)
    return cwd, run_id, drawn_digits(cwd)


@pytest.mark.slow
def test_predict_names_the_digits_the_test_drew(trained, bench_command):
    cwd, run_id, digits = trained
    done = bench_command("predict", run_id, *map(str, digits.values()), cwd=cwd)
    assert done.returncode == 0, done.stderr
    assert "reduced to" not in done.stderr  # 28x28 keeps what a drawn digit needs
    lines = done.stdout.strip().splitlines()
    assert len(lines) == 3
    for (label, path), line in zip(digits.items(), lines, strict=True):
        words = line.split()
        assert words[0] == str(path) and words[1] == label, line
        assert len(words) == 7  # the file, then three classes with their probabilities


@pytest.mark.slow
def test_predict_json_and_what_the_model_saw(trained, bench_command):
    cwd, run_id, digits = trained
    done = bench_command(
        "predict", run_id, str(digits["1"]), "--format", "json", "--save-preprocessed", "seen",
        cwd=cwd,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (answer,) = json.loads(done.stdout)
    assert answer["image"] == str(digits["1"]) and answer["prediction"] == "1"
    assert sorted(answer["probabilities"]) == [str(digit) for digit in range(10)]
    assert sum(answer["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    seen = Image.open(cwd / "seen" / "one.png")
    assert seen.size == (28, 28)


@pytest.mark.slow
def test_predict_mistakes_are_one_line(trained, bench_command):
    cwd, run_id, digits = trained
    (cwd / "notes.txt").write_text("not a picture")
    no_model = _run_without_a_model(cwd)
    cases = {
        ("predict", run_id, "notes.txt"): "cannot read notes.txt as an image (PNG, JPEG",
        ("predict", "0" * 32, str(digits["1"])): f"no run {'0' * 32} in the MLflow store",
        ("predict", no_model, str(digits["1"])): "failed before it logged a model",
    }
    for argv, message in cases.items():
        done = bench_command(*argv, cwd=cwd)
        lines = done.stderr.strip().splitlines()
        assert done.returncode == 2 and len(lines) == 1, done.stderr
        assert message in lines[0]


def _run_without_a_model(cwd) -> str:
    """A run in the store that logged no model, as a failed `bench run` leaves."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("mnist-mlp").experiment_id
    run_id = client.create_run(experiment, run_name="failed").info.run_id
    client.set_terminated(run_id, status="FAILED")
    return run_id


@pytest.fixture(scope="module")
def digits_store(tmp_path_factory):
    """A folder whose ./mlruns holds a `bench run digits-svc`, a `--repeats 2` of it
    and a model trained on 28x28 images (mnist-logreg on forty random ones, logged as
    bench logs a run); its drawn digits; and the runs' ids."""
    folder = tmp_path_factory.mktemp("predict-digits")
    with pytest.MonkeyPatch.context() as patch:
        use_store(patch, folder)
        ids = {"svc": run_benchmark("digits-svc").run_id}
        repeats = run_repeats("digits-svc", repeats=2)
        ids["repeats"] = repeats.parent_run_id
        ids["seeds"] = {run.seed: run.run_id for run in repeats.runs}
        ids["28x28"] = _logged_28x28_model()
    return folder, ids, drawn_digits(folder)


def _logged_28x28_model() -> str:
    pipeline = get_benchmark("mnist-logreg").build(pixel_max=255.0, seed=0)
    images = np.random.default_rng(0).integers(0, 256, (40, 28, 28), dtype=np.uint8)
    pipeline.fit(images, np.arange(40) % 10)
    facts = ModelFacts("mnist", (28, 28), tuple(str(digit) for digit in range(10)), 255.0)
    with tracked_run("mnist-logreg", "mnist-logreg seed=0", {"benchmark": "mnist-logreg"}) as run:
        log_pipeline(run, pipeline, images, facts)
    return run.run_id


@pytest.fixture
def in_digits_store(digits_store, monkeypatch):
    folder, ids, digits = digits_store
    use_store(monkeypatch, folder)
    return ids, digits


def use_store(patch, folder):
    """Work in ``folder`` with its ./mlruns as the store, named by its absolute path:
    MLflow keeps one store per URI in a process, so the relative default would reach
    the first folder a test used."""
    patch.chdir(folder)
    patch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{folder / 'mlruns' / 'mlflow.db'}")


def test_predict_with_an_svc_prints_its_class_and_scores(in_digits_store, capsys):
    ids, digits = in_digits_store
    assert main(["predict", ids["svc"], *map(str, digits.values())]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    for (label, path), line in zip(digits.items(), lines, strict=True):
        words = line.split()
        # the file, the class, then its three highest decision scores, named as such
        assert words[:3] == [str(path), label, "scores"], line
        assert words[3] == label and len(words) == 9, line


def test_predict_json_of_an_svc_has_scores_not_probabilities(in_digits_store, capsys, tmp_path):
    ids, digits = in_digits_store
    argv = ["predict", ids["svc"], str(digits["7"]), "--format", "json"]
    assert main([*argv, "--save-preprocessed", str(tmp_path / "seen")]) == 0
    (answer,) = json.loads(capsys.readouterr().out)
    assert answer["prediction"] == "7" and answer["probabilities"] is None
    assert sorted(answer["scores"]) == [str(digit) for digit in range(10)]
    assert max(answer["scores"], key=answer["scores"].get) == "7"
    assert Image.open(tmp_path / "seen" / "seven.png").size == (8, 8)


def test_a_digits_model_says_the_picture_was_reduced_to_8x8(in_digits_store, capsys):
    ids, digits = in_digits_store
    assert main(["predict", ids["svc"], str(digits["7"])]) == 0
    notice = capsys.readouterr().err.strip().splitlines()
    assert len(notice) == 1, notice
    assert f"{digits['7']} (240x180) was reduced to 8x8" in notice[0]
    assert "64 pixels in 17 grey levels" in notice[0] and "28x28 MNIST" in notice[0]


def test_a_28x28_model_says_nothing_of_reducing(in_digits_store, capsys):
    ids, digits = in_digits_store
    assert main(["predict", ids["28x28"], str(digits["7"])]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and len(captured.out.split()) == 7  # probabilities, as before


def test_a_repeats_parent_names_its_seeds_runs(in_digits_store, capsys):
    ids, digits = in_digits_store
    assert main(["predict", ids["repeats"], str(digits["7"])]) == 2
    (message,) = capsys.readouterr().err.strip().splitlines()
    assert f"run {ids['repeats']} is a `bench run --repeats` parent" in message
    for seed, run_id in ids["seeds"].items():
        assert f"{run_id} (seed {seed})" in message


def test_predict_where_no_store_is_says_so_and_creates_none(
    digits_store, tmp_path, capsys, monkeypatch
):
    _, ids, digits = digits_store
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert main(["predict", ids["svc"], str(digits["7"])]) == 2
    (message,) = capsys.readouterr().err.strip().splitlines()
    assert "no MLflow store at" in message and not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_a_study_s_parent_and_trials_name_the_refits_that_hold_models(
    tmp_path, monkeypatch, capsys, study_runs
):
    use_store(monkeypatch, tmp_path)
    seven = str(drawn_digits(tmp_path)["7"])
    assert main(["study", "digits-svc", "--trials", "2", "--refit-repeats", "2"]) == 0
    _, runs = study_runs(tmp_path, "digits-svc study")
    refits = {run.data.tags["seed"]: run.info.run_id for run in runs if run.data.tags.get("refit")}
    (parent,) = [run.info.run_id for run in runs if "mlflow.parentRunId" not in run.data.tags]
    trial = next(run.info.run_id for run in runs if "trial_number" in run.data.tags)
    capsys.readouterr()
    for run_id, said in ((parent, "the parent run of study 'digits-svc'"), (trial, "is trial")):
        assert main(["predict", run_id, seven]) == 2
        (message,) = capsys.readouterr().err.strip().splitlines()
        assert said in message, message
        assert all(f"{refit} (seed {seed})" in message for seed, refit in refits.items())
    assert len(refits) == 2 and main(["predict", refits["0"], seven]) == 0

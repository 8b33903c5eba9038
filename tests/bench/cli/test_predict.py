"""``bench predict`` as a user runs it: a model trained by `bench run` classifies digits
the test draws itself on paper-sized pictures."""

import json
import re

import pytest
from PIL import Image, ImageDraw

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


@pytest.fixture(scope="module")
def trained(tmp_path_factory, bench_command, mnist_root):
    """A folder with a `bench run mnist-mlp` in its store, its run id, and drawn digits."""
    cwd = tmp_path_factory.mktemp("predict")
    done = bench_command(
        "run", "mnist-mlp", "--epochs", "3", cwd=cwd, BENCH_DATA_DIR=str(mnist_root)
    )
    assert done.returncode == 0, done.stderr
    run_id = re.search(r"run id\s+([0-9a-f]{32})", done.stdout).group(1)
    digits = {
        "1": draw(cwd / "one.png", [[(120, 30), (120, 150)]]),
        "0": draw(cwd / "zero.jpg", [], ellipse=[(80, 25), (160, 155)]),
        "7": draw(cwd / "seven.png", [[(80, 35), (165, 35)], [(165, 35), (105, 155)]]),
    }
    return cwd, run_id, digits


@pytest.mark.slow
def test_predict_names_the_digits_the_test_drew(trained, bench_command):
    cwd, run_id, digits = trained
    done = bench_command("predict", run_id, *map(str, digits.values()), cwd=cwd)
    assert done.returncode == 0, done.stderr
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
        ("predict", no_model, str(digits["1"])): "has no logged model",
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

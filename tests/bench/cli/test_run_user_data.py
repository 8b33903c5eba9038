"""``bench run NAME --data PATH`` as a user runs it: a benchmark's network trained on the
user's own files (written here, in the real formats), tracked like any run, and its
model answering ``bench predict``."""

import re

import numpy as np
import pytest
from mlflow.tracking import MlflowClient
from PIL import Image

from tests.helpers.user_data import digits, write_image_folder, write_npz, write_pixel_csv


def run_of(cwd, done):
    run_id = re.search(r"run id\s+([0-9a-f]{32})", done.stdout).group(1)
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    return client.get_run(run_id)


@pytest.mark.slow
def test_a_folder_of_mixed_pictures_trains_is_tracked_and_predicts(tmp_path, bench_command):
    images, labels = digits(12, side=28)
    paths = write_image_folder(
        tmp_path / "scans", images, labels, suffixes=(".png", ".jpg"), sizes=(28, 40),
        colour_every=3,
    )  # fmt: skip
    done = bench_command(
        "run", "digits-mlp", "--data", "scans", "--epochs", "2", "--seed", "3", cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("data: ")]
    assert any("resized 120 images to 8x8" in note for note in notes), notes
    assert any("colour images to grey" in note for note in notes), notes
    assert any("held out" in note and "stratified" in note for note in notes), notes
    run = run_of(tmp_path, done)
    params = run.data.params
    assert params["dataset"] == "scans"
    assert params["dataset_source"] == str(tmp_path / "scans")
    assert params["class_names"] == ", ".join(str(digit) for digit in range(10))
    assert float(params["test_share"]) == pytest.approx(1 / 7)
    assert params["test_split_seed"] == "0"  # the same test set for every seed
    assert int(params["n_train"]) + int(params["n_test"]) == 120

    predicted = bench_command("predict", run.info.run_id, str(paths[0]), cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.split()[0] == str(paths[0])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["csv", "npz"])
def test_a_kaggle_csv_and_an_npz_train_the_benchmark_s_network(tmp_path, bench_command, kind):
    images, labels = digits(10, side=8)
    if kind == "csv":
        write_pixel_csv(tmp_path / "train.csv", images, labels, label_name="digit")
        data = ["--data", "train.csv", "--label-column", "digit"]
    else:
        order = np.random.default_rng(0).permutation(len(labels))
        test, train = order[:20], order[20:]
        write_npz(
            tmp_path / "arrays.npz",
            X_train=images[train], y_train=labels[train],
            X_test=images[test], y_test=labels[test],
        )  # fmt: skip
        data = ["--data", "arrays.npz"]
    done = bench_command("run", "digits-mlp", *data, "--epochs", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    params = run_of(tmp_path, done).data.params
    assert int(params["n_train"]) + int(params["n_test"]) == 100
    assert ("test_share" in params) == (kind == "csv")  # an .npz brings its own test split


def test_bad_data_is_one_line_before_any_run(tmp_path, bench_command):
    (tmp_path / "empty").mkdir()
    done = bench_command("run", "digits-mlp", "--data", "empty", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "empty is empty" in lines[0], done.stderr
    runs = tmp_path / "mlruns" / "mlflow.db"
    if runs.exists():  # the store may be opened; no run may be in it
        client = MlflowClient(tracking_uri=f"sqlite:///{runs}")
        ids = [e.experiment_id for e in client.search_experiments()]
        assert client.search_runs(ids) == []


@pytest.mark.slow
def test_a_study_searches_the_user_s_data_under_its_own_name(tmp_path, bench_command):
    images, labels = digits(20, side=8)
    write_image_folder(tmp_path / "scans", images, labels)
    args = ("--trials", "2", "--max-epochs", "1", "--data", "scans")
    done = bench_command("study", "digits-mlp", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert re.search(r"study\s+digits-mlp-on-scans:", done.stdout), done.stdout
    rerun = re.search(r"re-run the best\s+(.+)", done.stdout).group(1)
    assert "--data scans" in rerun
    run = run_of_parent(tmp_path, done)
    assert run.data.tags["dataset"] == "scans"  # searched and refitted on the user's images


def run_of_parent(cwd, done):
    run_id = re.search(r"parent run\s+([0-9a-f]{32})", done.stdout).group(1)
    client = MlflowClient(tracking_uri=f"sqlite:///{cwd / 'mlruns' / 'mlflow.db'}")
    return client.get_run(run_id)


def test_data_too_small_for_a_study_s_validation_split_is_one_line(tmp_path, bench_command):
    images, labels = digits(8, side=8)  # 80 images: 12 to test, 68 to train, 7 to validate
    write_image_folder(tmp_path / "few", images, labels)
    done = bench_command("study", "digits-mlp", "--trials", "1", "--data", "few", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "too few for a study" in lines[0], done.stderr


def test_describe_builds_the_network_for_the_user_s_classes(tmp_path, bench_command):
    images, labels = digits(8, side=20)
    keep = labels < 3  # three classes: the softmax has three units, not ten
    write_image_folder(tmp_path / "three", images[keep], labels[keep])
    done = bench_command("describe", "digits-mlp", "--data", "three", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert (
        f"data      three ({tmp_path / 'three'}): 20 training and 4 test images as 8x8, "
        "3 classes (0, 1, 2)" in done.stdout
    ), done.stdout
    softmax = next(line for line in done.stdout.splitlines() if line.startswith("softmax"))
    assert "(None, 3)" in softmax and softmax.split()[-2] == str(128 * 3 + 3), softmax
    assert "data: resized 24 images from 20x20 to 8x8" in done.stderr


@pytest.mark.slow
def test_repeats_on_the_user_s_data_score_one_test_split(tmp_path, bench_command):
    images, labels = digits(10, side=12)
    write_image_folder(tmp_path / "scans", images, labels)
    args = ("--data", "scans", "--repeats", "2", "--epochs", "1")
    done = bench_command("run", "digits-mlp", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    notes = [line for line in done.stderr.splitlines() if line.startswith("data: resized")]
    assert len(notes) == 1, done.stderr  # said once, not once per seed
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("digits-mlp").experiment_id])
    parent = next(run for run in runs if "repeats" in run.data.tags)
    seeds = [run for run in runs if run.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["dataset"] == "scans"
    assert parent.info.run_name == "digits-mlp data=scans epochs=1 seeds 0-1"
    assert sorted(run.info.run_name for run in seeds) == [
        "digits-mlp data=scans epochs=1 seed=0",
        "digits-mlp data=scans epochs=1 seed=1",
    ]
    tests = {
        d.dataset.digest
        for run in seeds
        for d in run.inputs.dataset_inputs
        if {(tag.key, tag.value) for tag in d.tags} >= {("mlflow.data.context", "test")}
    }
    assert len(tests) == 1  # one held-out test set, whatever the seed


@pytest.mark.slow
def test_a_model_of_user_images_named_like_a_dataset_sees_them_as_it_trained(
    tmp_path, bench_command
):
    """Scans in a folder called ``digits`` are the user's, not scikit-learn's: a new
    picture is fitted to 8x8 as they were (grey, resized, 0..255), not cropped to its
    ink and scaled to 17 levels as load_digits' pictures are."""
    images, labels = digits(10, side=32)
    write_image_folder(tmp_path / "digits", images, labels)
    ran = bench_command("run", "digits-mlp", "--data", "digits", "--epochs", "1", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    picture = np.zeros((40, 30), dtype=np.uint8)
    picture[5:15, 5:25] = 255  # off centre: MNIST-style framing would move it
    Image.fromarray(picture).save(tmp_path / "bar.png")
    run_id = run_of(tmp_path, ran).info.run_id
    args = ("predict", run_id, "bar.png", "--save-preprocessed", "seen")
    predicted = bench_command(*args, cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    assert "reduced to 8x8" not in predicted.stderr  # load_digits' note is not theirs
    seen = np.asarray(Image.open(tmp_path / "seen" / "bar.png"))
    expected = np.asarray(Image.fromarray(picture).resize((8, 8), Image.Resampling.LANCZOS))
    np.testing.assert_array_equal(seen, expected)

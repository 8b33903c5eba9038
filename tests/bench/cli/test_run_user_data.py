"""``bench run NAME --data PATH`` as a user runs it: a benchmark's network trained on the
user's own files (written here, in the real formats), tracked like any run, and its
model answering ``bench predict``."""

import re

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

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

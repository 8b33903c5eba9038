"""``bench describe``: a network layer by layer, as the reports tabulate it, without
loading data or training."""

import pytest

from bench.cli import main


def test_describe_tabulates_the_layers_and_the_total(capsys, mlflow_store):
    assert main(["describe", "mnist-deep-mlp"]) == 0
    out = capsys.readouterr().out
    assert "data      mnist, 28x28 images, 10 classes" in out
    layers = [line.split()[0] for line in out.splitlines() if line.startswith("dense_")]
    assert layers == ["dense_1", "dense_2", "dense_3", "dense_4"]
    assert "softmax" in out and "Total weights: 28618" in out
    assert not mlflow_store.exists()  # no data, no run


def test_describe_takes_set_like_run(capsys, mlflow_store):
    assert main(["describe", "mnist-deep-mlp", "--set", "depth=20"]) == 0
    assert "dense_19 " in capsys.readouterr().out


def test_describe_with_a_bad_setting_is_one_line(capsys, mlflow_store):
    assert main(["describe", "mnist-cnn", "--set", "padding=circular"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("bench: error: ")


@pytest.mark.parametrize("name", ["mnist-hog-mlp", "cifar10-cnn"])
def test_describe_shows_the_steps_before_the_network(name, capsys, mlflow_store):
    assert main(["describe", name]) == 0
    out = capsys.readouterr().out
    assert "step      " in out and "Total weights:" in out

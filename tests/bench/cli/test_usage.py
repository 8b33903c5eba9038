"""Command-line mistakes: exit code 2 and one line that names the valid choices,
before any data is loaded or any run is opened. Through ``bench.cli.main``."""

import pytest

from bench.cli import main

CASES = [
    (["run", "nope"], "unknown benchmark 'nope'; valid: "),
    (["study", "nope", "--trials", "2"], "unknown benchmark 'nope'; valid: "),
    (["run", "digits-mlp", "--set", "foo=1"], "unknown parameter 'foo'; valid: activation"),
    (["run", "digits-mlp", "--set", "dropout=abc"], "dropout='abc': expected float like 0.1"),
    (["run", "digits-mlp", "--set", "activation=foo"], "activation='foo'"),
    (["run", "digits-mlp", "--set", "lr_schedule=cyclic"], "lr_schedule='cyclic' is not valid"),
    (["run", "digits-mlp", "--set", "epochs=-3"], "epochs == -3, must be >= 1"),
    (["run", "digits-mlp", "--set", "batch_size=0"], "batch_size == 0, must be >= 1"),
    (["run", "digits-mlp", "--epochs", "-3"], "--epochs: must be at least 1, got -3"),
    (["run", "digits-mlp", "--epochs", "x"], "--epochs: expected a whole number, got 'x'"),
    (["study", "digits-mlp", "--trials", "0"], "--trials: must be at least 1, got 0"),
    (["study", "digits-mlp", "--trials", "2", "--max-epochs", "-1"], "must be at least 1"),
    (
        ["study", "digits-mlp", "--trials", "2", "--sampler", "foo"],
        "choose from 'tpe', 'random', 'cmaes', 'nsga2'",
    ),
    (
        ["study", "digits-mlp", "--trials", "2", "--pruner", "foo"],
        "choose from 'hyperband', 'sha', 'median', 'none'",
    ),
    (
        ["study", "digits-mlp", "--trials", "2", "--objectives", "speed"],
        "use 'accuracy' or 'accuracy,weights'",
    ),
    (["run", "digits-svc", "--epochs", "3"], "digits-svc is a scikit-learn baseline (SVC)"),
    (["run", "digits-svc", "--set", "C=-1"], "The 'C' parameter of SVC must be a float"),
    (["run", "digits-svc", "--repeats", "1"], "--repeats needs at least 2 seeds"),
    (["study", "mnist-forest", "--trials", "2", "--pruner", "median"], "--pruner does not apply"),
    (["study", "digits-svc", "--trials", "2", "--max-epochs", "3"], "--max-epochs does not apply"),
    (["frob"], "invalid choice: 'frob' (choose from 'list', 'run', "),
    (["perf", "hogg"], "unknown perf check 'hogg'; valid: hog, load"),
]


@pytest.mark.parametrize(("argv", "message"), CASES, ids=lambda v: " ".join(v)[:40])
def test_mistake_is_exit_2_and_one_line_with_the_choices(argv, message, capsys, mlflow_store):
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert lines[0].startswith("bench: error: ") and message in lines[0]
    assert captured.out == ""
    assert not mlflow_store.exists()  # nothing was opened or logged

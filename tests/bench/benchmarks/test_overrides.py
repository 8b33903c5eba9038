"""``--set`` overrides resolve to pipeline parameters with checked values."""

import pytest

from bench.benchmarks import get_benchmark
from bench.benchmarks.overrides import parse_assignment, resolve_overrides
from bench.errors import UsageError


@pytest.fixture
def pipeline():
    return get_benchmark("mnist-hog-mlp").build(pixel_max=255.0, seed=0)


def test_values_are_python_literals_or_strings():
    assert parse_assignment("dropout=0.3") == ("dropout", 0.3)
    assert parse_assignment("hidden_layer_sizes=(64, 32)") == ("hidden_layer_sizes", (64, 32))
    assert parse_assignment("optimizer=adam") == ("optimizer", "adam")
    assert parse_assignment("batch_norm=True") == ("batch_norm", True)


def test_short_full_and_routed_names_resolve(pipeline):
    resolved = resolve_overrides(
        pipeline,
        ["dropout=0.1", "hog__orientations=9", "optimizer__learning_rate=1e-3", "epochs=3"],
    )
    assert resolved == {
        "clf__dropout": 0.1,
        "hog__orientations": 9,
        "clf__optimizer__learning_rate": 1e-3,
        "clf__epochs": 3,
    }
    pipeline.set_params(**resolved)
    assert pipeline.get_params()["clf__optimizer__learning_rate"] == 1e-3


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("dropuot=0.1", "unknown parameter 'dropuot'; valid: "),
        ("epochs=2.5", "expected int"),
        ("batch_norm=1", "expected bool"),
        ("hidden_layer_sizes=300", "expected tuple"),
        ("dropout", "expects name=value"),
    ],
)
def test_mistakes_are_usage_errors(pipeline, text, message):
    with pytest.raises(UsageError, match=message):
        resolve_overrides(pipeline, [text])


def test_an_int_is_accepted_for_a_float_parameter(pipeline):
    assert resolve_overrides(pipeline, ["dropout=0"]) == {"clf__dropout": 0.0}


def test_per_block_settings_take_one_value_or_one_per_block():
    # What the estimators take (one pool for every block, or one per block) is what
    # --set takes: a study's re-run command writes pools per block.
    cnn = get_benchmark("mnist-cnn").build(pixel_max=255.0, seed=0)
    resolved = resolve_overrides(
        cnn,
        ["pool=(1, 2, 1, 2)", "kernel_sizes=3", "conv_dropout=(0, 0.25)", "padding=valid"],
    )
    assert resolved == {
        "clf__pool": (1, 2, 1, 2),
        "clf__kernel_sizes": 3,
        "clf__conv_dropout": (0.0, 0.25),
        "clf__padding": "valid",
    }
    cnn.set_params(**resolved | {"clf__filters": (8, 8, 16, 16)})
    assert cnn[-1].get_params()["pool"] == (1, 2, 1, 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("pool=(1, 2.5)", "expected int"),
        ("pool=(True, 2)", "expected int"),
        ("epochs=(1, 2)", "expected int"),
        ("filters=32", "expected tuple"),
    ],
)
def test_per_block_values_are_still_checked(text, message):
    cnn = get_benchmark("mnist-cnn").build(pixel_max=255.0, seed=0)
    with pytest.raises(UsageError, match=message):
        resolve_overrides(cnn, [text])

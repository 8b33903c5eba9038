"""Fitting and scoring: a diverging network is stopped within its batch and never
scored as if it were a result."""

import numpy as np
import pytest

from bench.benchmarks import get_benchmark
from bench.data import load_digits
from bench.errors import TrainingDiverged
from bench.training import fit_and_score, fit_pipeline, score_on_test


@pytest.fixture(scope="module")
def digits():
    return load_digits()


def pipeline(**params):
    built = get_benchmark("digits-mlp").build(pixel_max=16.0, seed=0, epochs=3)
    return built.set_params(**params)


def test_a_diverging_loss_stops_within_its_first_batches(digits):
    exploding = pipeline(clf__optimizer="sgd", clf__optimizer__learning_rate=1e8)
    with pytest.raises(TrainingDiverged, match=r"epoch 1, batch \d+: .*optimizer__learning_rate"):
        fit_pipeline(exploding, digits)
    assert not hasattr(exploding[-1], "history_")  # no epoch finished


def test_a_healthy_fit_is_scored(digits):
    outcome = fit_and_score(pipeline(), digits)
    assert 0.5 < outcome.test.accuracy <= 1.0
    assert np.isfinite(outcome.test.loss)


def test_nan_predictions_are_refused_not_scored(digits):
    fitted = pipeline()
    fit_pipeline(fitted, digits)
    weights = fitted[-1].model_.get_weights()
    fitted[-1].model_.set_weights([np.full_like(w, np.nan) for w in weights])
    with pytest.raises(TrainingDiverged, match="NaN or infinite probabilities"):
        score_on_test(fitted, digits)

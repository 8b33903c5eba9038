"""Fitting and scoring: a diverging network is stopped within its batch and never
scored as if it were a result; a scikit-learn baseline trains on the rows a network
would, and is scored the same way."""

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss

from bench.benchmarks import get_benchmark
from bench.data import load_digits
from bench.errors import TrainingDiverged
from bench.training import Holdout, fit_and_score, fit_pipeline, score_on_test
from estimators.sizes import stored_numbers
from estimators.splits import holdout_indices


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


# --- classic scikit-learn baselines -----------------------------------------------------


def baseline(name: str = "digits-svc", seed: int = 0):
    return get_benchmark(name).build(pixel_max=16.0, seed=seed)


def test_a_baseline_trains_on_the_rows_a_network_would(digits):
    outcome = fit_and_score(baseline(), digits, holdout=Holdout(0.1, seed=3))
    train, val = holdout_indices(digits.y_train, 0.1, random_state=3)
    svc = outcome.pipeline[-1]
    assert svc.shape_fit_[0] == len(train) and outcome.n_validation == len(val)
    X_val, y_val = digits.X_train[val], digits.y_train[val]
    assert outcome.val_accuracy == accuracy_score(y_val, outcome.pipeline.predict(X_val))
    assert outcome.history == {"val_accuracy": [outcome.val_accuracy]}
    assert not outcome.by_epoch
    predicted = outcome.pipeline.predict(digits.X_test)
    assert outcome.test.accuracy == accuracy_score(digits.y_test, predicted)
    assert outcome.test.loss is None  # an SVC gives no probabilities
    assert outcome.n_weights == svc.support_vectors_.size + svc.dual_coef_.size + 45


def test_a_baseline_with_probabilities_has_a_test_loss(digits):
    outcome = fit_and_score(
        baseline("digits-svc").set_params(clf__probability=True),
        digits,
        holdout=Holdout(0.1, seed=0),
    )
    proba = outcome.pipeline.predict_proba(digits.X_test)
    assert outcome.test.loss == pytest.approx(log_loss(digits.y_test, proba))


def test_a_baseline_without_its_holdout_is_refused(digits):
    with pytest.raises(ValueError, match="Holdout"):
        fit_and_score(baseline(), digits)


@pytest.mark.parametrize("name", ["mnist-logreg", "mnist-forest", "mnist-hog-svc"])
def test_what_a_fitted_baseline_stores_is_counted(name):
    from bench.benchmarks.weights import declared_weights

    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8), np.arange(60) % 10
    pipeline = get_benchmark(name).build(pixel_max=255.0, seed=0).fit(X, y)
    counted = stored_numbers(pipeline[-1])
    declared = declared_weights(get_benchmark(name))
    assert counted > 0 and declared in (None, counted)  # known before fitting only if fixed

"""The study feature cache: keys, bound, clearing, and a real HOG study."""

import numpy as np
import optuna
import pytest
from mlflow.tracking import MlflowClient
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from bench.benchmarks import Benchmark
from bench.benchmarks.pipelines import hog_mlp_pipeline
from bench.data import load_digits
from bench.data.dataset import dataset_digest
from bench.errors import UsageError
from estimators import HOGTransformer, PixelScaler
from studies.feature_cache import (
    CachedFeatures,
    FeatureCache,
    feature_key,
    max_bytes_from_environment,
    with_cached_features,
)
from studies.objective import search_split
from studies.search import StudySettings, run_study
from studies.storage import open_storage

DIGITS_HOG = {"orientations": 6, "pixels_per_cell": 4, "cells_per_block": 1}


class CountingHOG(HOGTransformer):
    """A real HOG step that counts the transforms of all its instances."""

    transforms = 0

    def transform(self, X):
        CountingHOG.transforms += 1
        return super().transform(X)


@pytest.fixture
def counting_hog():
    CountingHOG.transforms = 0
    return CountingHOG


@pytest.fixture(scope="module")
def split():
    return search_split(load_digits(), train_size=300, val_fraction=0.2, seed=0)


def trial_pipeline(split, cache, hog_class=CountingHOG, **hog_params):
    """What one trial fits: HOG then a classifier stand-in, with cached features."""
    hog = hog_class(
        **({"orientations": 6, "pixels_per_cell": 4, "cells_per_block": 1} | hog_params)
    )
    pipeline = Pipeline([("hog", hog), ("clf", StandardScaler())])
    inputs = {f"{split.digest}/train": split.X_train, f"{split.digest}/validation": split.X_test}
    return with_cached_features(pipeline, cache, inputs, stateless=(hog_class,))


def features(pipeline, X):
    return pipeline[:-1].fit_transform(X)


def filled(n_bytes: int) -> np.ndarray:
    return np.ones(n_bytes, dtype=np.uint8)


def test_same_data_and_params_hit_without_recomputing(split, counting_hog):
    cache = FeatureCache(max_bytes=2**26)
    first = features(trial_pipeline(split, cache), split.X_train)
    second = features(trial_pipeline(split, cache), split.X_train)
    assert counting_hog.transforms == 1
    assert (cache.hits, cache.misses) == (1, 1)
    assert second is first
    expected = HOGTransformer(**DIGITS_HOG)
    np.testing.assert_array_equal(second, expected.fit_transform(split.X_train))


def test_other_hog_params_or_other_data_miss(split, counting_hog):
    cache = FeatureCache(max_bytes=2**26)
    features(trial_pipeline(split, cache), split.X_train)
    features(trial_pipeline(split, cache, orientations=9), split.X_train)
    features(trial_pipeline(split, cache, pixels_per_cell=8), split.X_train)
    features(trial_pipeline(split, cache), split.X_test)
    other = search_split(load_digits(), train_size=300, val_fraction=0.2, seed=1)
    assert other.digest != split.digest
    other_features = features(trial_pipeline(other, cache), other.X_train)
    assert (cache.hits, cache.misses) == (0, 5)
    assert counting_hog.transforms == 5
    assert len(other_features) == len(other.X_train)


def test_arrays_that_are_not_the_studys_inputs_bypass_the_cache(split, counting_hog):
    cache = FeatureCache(max_bytes=2**26)
    pipeline = trial_pipeline(split, cache)
    copy = split.X_train.copy()
    features(pipeline, copy)
    features(pipeline, copy)
    assert counting_hog.transforms == 2
    assert (cache.hits, cache.misses, len(cache)) == (0, 0, 0)


def test_returned_features_are_read_only(split):
    cache = FeatureCache(max_bytes=2**26)
    cached = features(trial_pipeline(split, cache), split.X_train)
    with pytest.raises(ValueError, match="read-only"):
        cached[0, 0] = 1.0
    too_big = FeatureCache(max_bytes=0).get("key", lambda: filled(10))
    assert not too_big.flags.writeable


def test_bound_evicts_least_recently_used_first():
    cache = FeatureCache(max_bytes=300)
    for key in "abc":
        cache.get(key, lambda: filled(100))
    cache.get("a", lambda: filled(100))  # a is now the most recent
    cache.get("d", lambda: filled(100))
    assert ("a" in cache, "b" in cache, "c" in cache, "d" in cache) == (True, False, True, True)
    assert cache.nbytes == 300
    cache.get("e", lambda: filled(200))
    assert ("a" in cache, "c" in cache, "d" in cache, "e" in cache) == (False, False, True, True)
    assert cache.nbytes == 300


def test_an_entry_larger_than_the_bound_is_returned_but_not_kept():
    cache = FeatureCache(max_bytes=100)
    cache.get("small", lambda: filled(60))
    big = cache.get("big", lambda: filled(101))
    assert len(big) == 101
    assert ("small" in cache, "big" in cache, cache.nbytes) == (True, False, 60)


def test_clear_empties_the_cache(split):
    cache = FeatureCache(max_bytes=2**26)
    features(trial_pipeline(split, cache), split.X_train)
    assert cache.nbytes > 0
    cache.clear()
    assert (len(cache), cache.nbytes) == (0, 0)
    features(trial_pipeline(split, cache), split.X_train)
    assert cache.misses == 2


def test_only_leading_stateless_steps_are_wrapped():
    cache = FeatureCache(max_bytes=2**20)
    inputs = {}
    hog_mlp = Pipeline([("hog", HOGTransformer()), ("clf", StandardScaler())])
    wrapped = with_cached_features(hog_mlp, cache, inputs)
    assert [name for name, _ in wrapped.steps] == ["features", "clf"]
    assert wrapped.steps[0][1].features.steps == hog_mlp.steps[:1]
    assert wrapped.steps[1][1] is hog_mlp.steps[1][1]
    scaled_hog = Pipeline([("scale", PixelScaler()), ("hog", HOGTransformer()), ("clf", None)])
    inner = with_cached_features(scaled_hog, cache, inputs).steps[0][1].features
    assert [name for name, _ in inner.steps] == ["scale", "hog"]
    # A step that learns from the data (or a subclass that might) is never cached.
    learning = Pipeline([("scale", StandardScaler()), ("hog", HOGTransformer()), ("clf", None)])
    assert with_cached_features(learning, cache, inputs) is learning
    subclassed = Pipeline([("hog", CountingHOG()), ("clf", StandardScaler())])
    assert with_cached_features(subclassed, cache, inputs) is subclassed


def test_key_names_the_data_and_every_parameter():
    hog = HOGTransformer(orientations=6)
    assert feature_key("d/train", hog) == feature_key("d/train", HOGTransformer(orientations=6))
    assert feature_key("d/train", hog) != feature_key("d/validation", hog)
    assert feature_key("d/train", hog) != feature_key("d/train", HOGTransformer(block_norm="L1"))
    assert feature_key("d/train", hog) != feature_key("d/train", CountingHOG(orientations=6))


def test_search_split_digest_is_that_of_its_own_arrays(split):
    full = load_digits()
    assert split.digest == dataset_digest(split.X_train, split.y_train, split.X_test, split.y_test)
    assert split.digest != full.digest
    same = search_split(full, train_size=300, val_fraction=0.2, seed=0)
    larger = search_split(full, train_size=400, val_fraction=0.2, seed=0)
    assert same.digest == split.digest
    assert larger.digest != split.digest


def test_bound_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("BENCH_FEATURE_CACHE_MB", "3")
    assert FeatureCache().max_bytes == 3 * 2**20
    monkeypatch.delenv("BENCH_FEATURE_CACHE_MB")
    assert max_bytes_from_environment() == 2048 * 2**20
    monkeypatch.setenv("BENCH_FEATURE_CACHE_MB", "lots")
    with pytest.raises(UsageError, match="BENCH_FEATURE_CACHE_MB"):
        FeatureCache()


def test_cached_features_step_outside_a_study_is_plain_hog(split):
    step = CachedFeatures(Pipeline([("hog", HOGTransformer(**DIGITS_HOG))]), None, {})
    expected = HOGTransformer(**DIGITS_HOG).fit_transform(split.X_test)
    np.testing.assert_array_equal(step.fit_transform(split.X_test), expected)


@pytest.mark.slow
def test_a_hog_study_computes_features_once_per_setting(mlflow_store):
    benchmark = Benchmark(
        name="digits-hog-mlp-test",
        dataset="digits",
        summary="HOG then a small MLP, for this test",
        pipeline=hog_mlp_pipeline,
        params={"hidden_layer_sizes": (16,), "dropout": 0.0, "optimizer": "adam"},
        epochs=2,
        batch_size=64,
    )
    study = optuna.create_study(study_name=benchmark.name, storage=open_storage(None))
    for _ in range(3):
        # Only the HOG setting is fixed; the network and optimizer are sampled.
        study.enqueue_trial({"orientations": 6, "pixels_per_cell": 4}, skip_if_exists=False)
    settings = StudySettings(
        trials=3, pruner="none", sampler="random", max_epochs=1, seed=0, train_size=300
    )
    report = run_study(benchmark, settings)
    states = [trial.state for trial in report.study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE] * 3
    metrics = MlflowClient(report.tracking_uri).get_run(report.parent_run_id).data.metrics
    # Computed once for the training and once for the validation images; each trial
    # then reads both while fitting and the validation features again when scored.
    assert metrics["feature_cache_misses"] == 2
    assert metrics["feature_cache_hits"] == 3 * 3 - 2

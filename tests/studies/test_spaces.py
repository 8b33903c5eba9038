"""Search spaces: exact mappings, ranges and conditionals over real Optuna studies, and
sampled parameters that apply to, and build, the real benchmark pipelines."""

import numpy as np
import optuna
import pytest
from optuna.trial import FixedTrial
from sklearn.datasets import load_digits

from bench.errors import UsageError
from bench.registry import get_benchmark
from studies.spaces import (
    KERAS_LEARNING_RATES,
    baseline_params,
    family_of,
    search_space_cnn,
    search_space_hog,
    search_space_mlp,
    search_space_optimizer,
    suggest_params,
)

MNIST = (28, 28)
DIGITS = (8, 8)
# benchmark -> (family, image shape, pixel_max)
BENCHMARKS = {
    "mnist-mlp": ("mlp", MNIST, 255.0),
    "mnist-hog-mlp": ("hog-mlp", MNIST, 255.0),
    "mnist-cnn": ("cnn", MNIST, 255.0),
    "digits-mlp": ("mlp", DIGITS, 16.0),
}
MAX_EPOCHS = 7


def sampled_trials(n_trials, space, seed=0):
    """(trial.params, returned dict) of ``n_trials`` trials of a random-sampler study."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    sampled = []
    for _ in range(n_trials):
        trial = study.ask()
        params = space(trial)
        study.tell(trial, 0.0)
        sampled.append((trial.params, params))
    return sampled


def tiny_images(shape, pixel_max):
    """Ten images, one per label 0..9; image i has one bright pixel at i (HOG needs an
    edge), or the first ten sklearn digits for 8x8."""
    if shape == DIGITS:
        digits = load_digits()
        first = [int(np.flatnonzero(digits.target == label)[0]) for label in range(10)]
        return digits.images[first], digits.target[first]
    X = np.zeros((10, *shape))
    X[np.arange(10), np.arange(10) + 5, 14] = pixel_max
    return X, np.arange(10)


# --- exact mappings ---------------------------------------------------------------


def test_mlp_maps_layers_to_hidden_layer_sizes():
    trial = FixedTrial(
        {
            "n_layers": 2,
            "units_1": 300,
            "units_2": 30,
            "dropout": 0.4,
            "activation": "scaled_tanh",
            "batch_norm": True,
        }
    )
    assert search_space_mlp(trial) == {
        "clf__hidden_layer_sizes": (300, 30),
        "clf__dropout": 0.4,
        "clf__activation": "scaled_tanh",
        "clf__batch_norm": True,
    }


def test_cnn_maps_blocks_to_per_block_tuples():
    trial = FixedTrial(
        {
            "n_blocks": 2,
            "filters_1": 16,
            "filters_2": 64,
            "kernel_1": 5,
            "kernel_2": 3,
            "dense_units": 100,
            "dropout": 0.25,
        }
    )
    assert search_space_cnn(trial, MNIST) == {
        "clf__filters": (16, 64),
        "clf__kernel_sizes": (5, 3),
        "clf__dense_layers": (100,),
        "clf__dropout": 0.25,
    }


def test_hog_maps_orientations_and_cell_size():
    trial = FixedTrial({"orientations": 9, "pixels_per_cell": 7})
    assert search_space_hog(trial, MNIST) == {
        "hog__orientations": 9,
        "hog__pixels_per_cell": 7,
    }


@pytest.mark.parametrize(
    ("fixed", "extra"),
    [
        ({"optimizer": "adam"}, {}),
        (
            {"optimizer": "sgd", "momentum": 0.9, "nesterov": True},
            {"clf__optimizer__momentum": 0.9, "clf__optimizer__nesterov": True},
        ),
        ({"optimizer": "rmsprop", "rho": 0.85}, {"clf__optimizer__rho": 0.85}),
    ],
)
def test_optimizer_returns_only_its_own_settings(fixed, extra):
    trial = FixedTrial({**fixed, "learning_rate": 3e-3, "batch_size": 64, "epochs": 5})
    assert search_space_optimizer(trial, max_epochs=MAX_EPOCHS) == {
        "clf__optimizer": fixed["optimizer"],
        "clf__optimizer__learning_rate": 3e-3,
        **extra,
        "clf__batch_size": 64,
        "clf__epochs": 5,
    }


@pytest.mark.parametrize(
    ("name", "family"),
    [(name, family) for name, (family, _, _) in BENCHMARKS.items()]
    + [("mnist-mlp-512", "mlp"), ("fashion-cnn", "cnn")],
)
def test_family_of_benchmark_pipelines(name, family):
    assert family_of(get_benchmark(name).build(pixel_max=255.0, seed=0)) == family


def test_family_of_rejects_a_classifier_without_space():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    with pytest.raises(UsageError, match="LogisticRegression"):
        family_of(Pipeline([("clf", LogisticRegression())]))


# --- ranges that depend on the image ----------------------------------------------


def test_hog_cell_sizes_are_those_that_fit_the_image():
    def choices(shape, block=1):
        trial = optuna.create_study().ask()
        search_space_hog(trial, shape, cells_per_block=block)
        return trial.distributions["pixels_per_cell"].choices

    assert choices(MNIST) == (4, 7, 8, 10)
    assert choices(DIGITS) == (4, 7, 8)  # a 7-pixel cell leaves a 1-pixel border
    assert choices(DIGITS, block=2) == (4,)
    with pytest.raises(UsageError, match="cells_per_block"):
        search_space_hog(FixedTrial({"orientations": 8}), (3, 3))


@pytest.mark.parametrize(("shape", "most"), [(MNIST, 3), (DIGITS, 3), ((4, 4), 2), ((3, 3), 1)])
def test_cnn_blocks_never_pool_the_image_away(shape, most):
    trial = optuna.create_study().ask()
    search_space_cnn(trial, shape)
    assert trial.distributions["n_blocks"].high == most


# --- random studies: ranges and conditionals ---------------------------------------


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_sampled_values_are_in_range_and_conditionals_apply(name):
    family, shape, pixel_max = BENCHMARKS[name]
    pipeline = get_benchmark(name).build(pixel_max=pixel_max, seed=0)
    sampled = sampled_trials(
        50, lambda t: suggest_params(t, pipeline, image_shape=shape, max_epochs=MAX_EPOCHS)
    )
    seen_optimizers = set()
    for trial_params, params in sampled:
        pipeline.set_params(**params)  # every key names a real parameter
        optimizer = params["clf__optimizer"]
        seen_optimizers.add(optimizer)
        assert optimizer in ("adam", "rmsprop", "sgd")
        assert 1e-4 <= params["clf__optimizer__learning_rate"] <= 1e-1
        assert params["clf__batch_size"] in (32, 64, 128, 256, 512)
        assert MAX_EPOCHS // 3 <= params["clf__epochs"] <= MAX_EPOCHS
        assert 0.0 <= params["clf__dropout"] <= 0.6
        is_sgd = optimizer == "sgd"
        assert ("momentum" in trial_params) is is_sgd
        assert ("nesterov" in trial_params) is is_sgd
        assert ("clf__optimizer__momentum" in params) is is_sgd
        assert ("clf__optimizer__nesterov" in params) is is_sgd
        assert ("rho" in trial_params) is (optimizer == "rmsprop")
        assert ("clf__optimizer__rho" in params) is (optimizer == "rmsprop")
        if is_sgd:
            assert 0.0 <= params["clf__optimizer__momentum"] <= 0.99
        if optimizer == "rmsprop":
            assert 0.8 <= params["clf__optimizer__rho"] <= 0.99
        assert any(key.startswith("hog__") for key in params) is (family == "hog-mlp")
        if family == "hog-mlp":
            assert 4 <= params["hog__orientations"] <= 14
            assert params["hog__pixels_per_cell"] in (4, 7, 8, 10)
        if family == "cnn":
            check_cnn(trial_params, params)
        else:
            check_mlp(trial_params, params)
    assert seen_optimizers == {"adam", "rmsprop", "sgd"}


def check_mlp(trial_params, params):
    sizes = params["clf__hidden_layer_sizes"]
    assert isinstance(sizes, tuple)
    assert len(sizes) == trial_params["n_layers"]
    assert 1 <= len(sizes) <= 4
    assert all(16 <= units <= 1024 for units in sizes)
    for k in range(1, 5):
        assert (f"units_{k}" in trial_params) is (k <= len(sizes))
    assert params["clf__activation"] in ("relu", "tanh", "sigmoid", "scaled_tanh")
    assert params["clf__batch_norm"] in (True, False)


def check_cnn(trial_params, params):
    filters, kernels = params["clf__filters"], params["clf__kernel_sizes"]
    assert len(filters) == len(kernels) == trial_params["n_blocks"]
    assert 1 <= len(filters) <= 3
    assert set(filters) <= {8, 16, 32, 64}
    assert set(kernels) <= {3, 5}
    for k in range(1, 4):
        assert (f"filters_{k}" in trial_params) is (k <= len(filters))
        assert (f"kernel_{k}" in trial_params) is (k <= len(filters))
    (dense,) = params["clf__dense_layers"]
    assert 32 <= dense <= 512


# --- the sampled networks build -----------------------------------------------------


def build_sampled(name, params):
    """The benchmark pipeline with ``params``, its model built on ten tiny images."""
    _, shape, pixel_max = BENCHMARKS[name]
    pipeline = get_benchmark(name).build(pixel_max=pixel_max, seed=0)
    pipeline.set_params(**params)
    X, y = tiny_images(shape, pixel_max)
    features = pipeline[:-1].fit_transform(X, y)
    classifier = pipeline[-1]
    classifier.initialize(features, y)
    return classifier


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_sampled_networks_build(name):
    _, shape, pixel_max = BENCHMARKS[name]
    pipeline = get_benchmark(name).build(pixel_max=pixel_max, seed=0)
    sampled = sampled_trials(
        3,
        lambda t: suggest_params(t, pipeline, image_shape=shape, max_epochs=MAX_EPOCHS),
        seed=1,
    )
    for _, params in sampled:
        classifier = build_sampled(name, params)
        assert classifier.count_weights() > 0
        optimizer = classifier.model_.optimizer
        assert type(optimizer).__name__.lower() == params["clf__optimizer"]
        assert optimizer.get_config()["learning_rate"] == pytest.approx(
            params["clf__optimizer__learning_rate"]
        )


def test_sgd_settings_reach_the_keras_optimizer():
    trial = FixedTrial(
        {
            "n_layers": 1,
            "units_1": 16,
            "dropout": 0.0,
            "activation": "relu",
            "batch_norm": False,
            "optimizer": "sgd",
            "learning_rate": 0.05,
            "momentum": 0.9,
            "nesterov": True,
            "batch_size": 32,
            "epochs": 2,
        }
    )
    pipeline = get_benchmark("digits-mlp").build(pixel_max=16.0, seed=0)
    params = suggest_params(trial, pipeline, image_shape=DIGITS, max_epochs=MAX_EPOCHS)
    config = build_sampled("digits-mlp", params).model_.optimizer.get_config()
    assert config["momentum"] == pytest.approx(0.9)
    assert config["nesterov"] is True


def test_deepest_cnn_fits_8x8_images():
    # 3 blocks of 5x5 kernels and pool 2 take 8x8 digits down to 1x1 and still build.
    trial = FixedTrial(
        {
            "n_blocks": 3,
            **{f"filters_{k}": 8 for k in (1, 2, 3)},
            **{f"kernel_{k}": 5 for k in (1, 2, 3)},
            "dense_units": 32,
            "dropout": 0.0,
        }
    )
    pipeline = get_benchmark("mnist-cnn").build(pixel_max=16.0, seed=0)
    pipeline.set_params(**search_space_cnn(trial, DIGITS))
    X, y = tiny_images(DIGITS, 16.0)
    classifier = pipeline[-1]
    classifier.initialize(pipeline[:-1].fit_transform(X, y), y)
    assert classifier.model_.get_layer("pool_3").output.shape[1:3] == (1, 1)


# --- the baseline trial -------------------------------------------------------------


@pytest.mark.parametrize("name", ["mnist-mlp", "mnist-hog-mlp", "digits-mlp"])
def test_baseline_reproduces_the_benchmark_configuration(name):
    # Fed back through the search space, the baseline must rebuild the benchmark as
    # published: the study's trial 0 is then the default it is compared against.
    pipeline = get_benchmark(name).build(pixel_max=255.0, seed=0)
    shape = BENCHMARKS[name][1]
    baseline = baseline_params(pipeline, max_epochs=30)
    params = suggest_params(FixedTrial(baseline), pipeline, image_shape=shape, max_epochs=30)
    published = pipeline.get_params()
    shared = {key: value for key, value in params.items() if key in published}
    assert {key: published[key] for key in shared} == shared
    assert "clf__hidden_layer_sizes" in shared and "clf__epochs" in shared


def test_mnist_mlp_baseline_is_the_seed_network():
    pipeline = get_benchmark("mnist-mlp").build(pixel_max=255.0, seed=0)
    assert baseline_params(pipeline, max_epochs=5) == {
        "n_layers": 2,
        "units_1": 300,
        "units_2": 30,
        "dropout": 0.4,
        "activation": "relu",
        "batch_norm": False,
        "optimizer": "rmsprop",
        "learning_rate": 1e-3,
        "rho": 0.9,
        "batch_size": 128,
        "epochs": 5,
    }


@pytest.mark.parametrize("optimizer", sorted(KERAS_LEARNING_RATES))
def test_baseline_learning_rates_are_keras_defaults(optimizer):
    # A benchmark naming only "rmsprop" trains at Keras' default rate; the baseline
    # must record that same rate or trial 0 would not be the benchmark.
    import keras

    default = float(keras.optimizers.get(optimizer).learning_rate)
    assert default == pytest.approx(KERAS_LEARNING_RATES[optimizer])


def test_cnn_baseline_leaves_out_values_outside_the_space():
    pipeline = get_benchmark("mnist-cnn").build(pixel_max=255.0, seed=0)
    baseline = baseline_params(pipeline, max_epochs=10)
    # The seed CNN has 9 filters in two blocks; the space offers 8, 16, 32, 64.
    assert "filters_1" not in baseline and "filters_2" not in baseline
    assert baseline["filters_3"] == 16
    assert (baseline["kernel_1"], baseline["kernel_2"], baseline["kernel_3"]) == (5, 5, 3)
    assert baseline["n_blocks"] == 3 and baseline["optimizer"] == "adam"
    assert "rho" not in baseline

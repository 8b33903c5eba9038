"""Search spaces: exact mappings, ranges and conditionals over real Optuna studies, and
sampled parameters that apply to, and build, the real benchmark pipelines."""

import numpy as np
import optuna
import pytest
from optuna.trial import FixedTrial
from sklearn.datasets import load_digits

from bench.benchmarks import benchmark_names, get_benchmark
from bench.errors import UsageError
from studies.spaces import (
    DISTRIBUTIONS,
    KERAS_LEARNING_RATES,
    SpaceContext,
    baseline_params,
    distribution,
    family_of,
    in_space,
    suggest_cnn,
    suggest_hog,
    suggest_mlp,
    suggest_optimizer,
    suggest_params,
)

MNIST = (28, 28)
DIGITS = (8, 8)
# benchmark -> (family, image shape, pixel_max)
BENCHMARKS = {
    "mnist-mlp": ("mlp", MNIST, 255.0),
    "mnist-hog-mlp": ("hog-mlp", MNIST, 255.0),
    "mnist-cnn": ("cnn", MNIST, 255.0),
    "mnist-best": ("cnn", MNIST, 255.0),  # padding and dropout per block
    "digits-mlp": ("mlp", DIGITS, 16.0),
}


def context(shape=MNIST, block=1):
    return SpaceContext(shape, cells_per_block=block)


def sampled_trials_with_distributions(n_trials, space, seed=0):
    """(params, returned dict, distributions) of ``n_trials`` random-sampler trials."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    sampled = []
    for _ in range(n_trials):
        trial = study.ask()
        params = space(trial)
        study.tell(trial, 0.0)
        sampled.append((trial.params, params, trial.distributions))
    return sampled


def sampled_trials(n_trials, space, seed=0):
    """(trial.params, returned dict) of ``n_trials`` trials of a random-sampler study."""
    return [(p, r) for p, r, _ in sampled_trials_with_distributions(n_trials, space, seed)]


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
    assert suggest_mlp(trial, context()) == {
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
            "filters_2": 128,
            "kernel_1": 5,
            "kernel_2": 3,
            "downsample": "stride",
            "batch_norm": True,
            "n_dense": 2,
            "dense_units_1": 300,
            "dense_units_2": 30,
            "dropout": 0.25,
            "augment": "shift_rotate_zoom",
            "conv_dropout": 0.2,
        }
    )
    assert suggest_cnn(trial, context()) == {
        "clf__filters": (16, 128),
        "clf__kernel_sizes": (5, 3),
        "clf__strides": 2,
        "clf__pool": 1,
        "clf__padding": "same",
        "clf__conv_dropout": 0.2,
        "clf__batch_norm": True,
        "clf__dense_layers": (300, 30),
        "clf__dropout": 0.25,
        "clf__augment": "shift_rotate_zoom",
    }


def test_hog_maps_orientations_and_cell_size():
    trial = FixedTrial({"orientations": 9, "pixels_per_cell": 7})
    assert suggest_hog(trial, context()) == {
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
    trial = FixedTrial(
        {**fixed, "learning_rate": 3e-3, "batch_size": 64, "lr_schedule": "one_cycle"}
    )
    assert suggest_optimizer(trial, context()) == {
        "clf__optimizer": fixed["optimizer"],
        "clf__optimizer__learning_rate": 3e-3,
        **extra,
        "clf__lr_schedule": "one_cycle",
        "clf__batch_size": 64,
    }


@pytest.mark.parametrize(
    ("name", "family"),
    [(name, family) for name, (family, _, _) in BENCHMARKS.items()]
    + [("mnist-mlp-512", "mlp"), ("fashion-cnn", "cnn")],
)
def test_family_of_benchmark_pipelines(name, family):
    assert family_of(get_benchmark(name).pipeline).name == family


def test_every_declared_benchmark_has_a_family():
    for name in benchmark_names():
        family_of(get_benchmark(name).pipeline)


def test_family_of_rejects_a_factory_without_space():
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.pipeline import Pipeline

    def knn_pipeline(**params):
        return Pipeline([("clf", KNeighborsClassifier(**params))])

    with pytest.raises(UsageError, match="no search space for knn_pipeline pipelines"):
        family_of(knn_pipeline)


# --- ranges that depend on the image ----------------------------------------------


def test_hog_cell_sizes_are_those_that_fit_the_image():
    def choices(shape, block=1):
        trial = optuna.create_study().ask()
        suggest_hog(trial, context(shape, block))
        return trial.distributions["pixels_per_cell"].choices

    assert choices(MNIST) == DISTRIBUTIONS["pixels_per_cell"].choices == (4, 7, 8, 10)
    assert choices(DIGITS) == (4, 7, 8)  # a 7-pixel cell leaves a 1-pixel border
    assert choices(DIGITS, block=2) == (4,)
    with pytest.raises(UsageError, match="cells_per_block"):
        suggest_hog(FixedTrial({"orientations": 8}), context((3, 3)))


@pytest.mark.parametrize(("shape", "most"), [(MNIST, 3), (DIGITS, 3), ((4, 4), 2), ((3, 3), 1)])
def test_cnn_blocks_never_pool_the_image_away(shape, most):
    trial = optuna.create_study().ask()
    suggest_cnn(trial, context(shape))
    assert trial.distributions["n_blocks"].high == most


@pytest.mark.parametrize(("flip_safe", "flips"), [(False, False), (True, True)])
def test_flips_are_sampled_only_where_a_mirrored_image_keeps_its_class(flip_safe, flips):
    # 40 random CNN trials sample every augmentation the space holds (1 in 20,000 miss).
    benchmark = get_benchmark("fashion-cnn")
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    sampled = {
        params["augment"]
        for params, _ in sampled_trials(
            40,
            lambda t: suggest_params(
                t, pipeline, factory=benchmark.pipeline, image_shape=MNIST, flip_safe=flip_safe
            ),
        )
    }
    assert {None, "shift_rotate_zoom"} <= sampled
    assert ({"flip", "shift_flip"} <= sampled) is flips
    assert ({"flip", "shift_flip"} & sampled == set()) is not flips


def test_a_flipping_benchmark_keeps_its_flips_in_its_baseline_on_flip_safe_data():
    benchmark = get_benchmark("cifar10-cnn")
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    shape = (32, 32, 3)
    kept = baseline_params(pipeline, factory=benchmark.pipeline, image_shape=shape, flip_safe=True)
    dropped = baseline_params(pipeline, factory=benchmark.pipeline, image_shape=shape)
    assert kept["augment"] == "shift_flip"
    assert "augment" not in dropped  # sampled instead: the space cannot hold it


def test_sampling_reads_the_table():
    # What a trial records as its distributions is the table's, narrowed only where the
    # benchmark says so: one declaration, read by sampling and by the baseline check.
    pipeline = get_benchmark("mnist-hog-mlp").build(pixel_max=255.0, seed=0)
    for params, _, distributions in sampled_trials_with_distributions(
        30,
        lambda t: suggest_params(
            t, pipeline, factory=get_benchmark("mnist-hog-mlp").pipeline, image_shape=MNIST
        ),
    ):
        for name, found in distributions.items():
            assert found == distribution(name, context())
            assert in_space(name, params[name], context())


def test_in_space_follows_the_table():
    assert in_space("units_3", DISTRIBUTIONS["units"].high, context())
    assert not in_space("units_3", DISTRIBUTIONS["units"].high + 1, context())
    assert not in_space("filters_1", 9, context())
    assert in_space("filters_1", DISTRIBUTIONS["filters"].choices[0], context())
    assert not in_space("learning_rate", None, context())


# --- random studies: ranges and conditionals ---------------------------------------


@pytest.mark.parametrize("name", list(BENCHMARKS))
def test_sampled_values_are_in_range_and_conditionals_apply(name):
    family, shape, pixel_max = BENCHMARKS[name]
    pipeline = get_benchmark(name).build(pixel_max=pixel_max, seed=0)
    sampled = sampled_trials(
        50,
        lambda t: suggest_params(
            t, pipeline, factory=get_benchmark(name).pipeline, image_shape=shape
        ),
    )
    seen_optimizers = set()
    for trial_params, params in sampled:
        pipeline.set_params(**params)  # every key names a real parameter
        optimizer = params["clf__optimizer"]
        seen_optimizers.add(optimizer)
        for name, value in trial_params.items():  # the ranges are the table's
            assert in_space(name, value, context(shape)), (name, value)
        assert params["clf__optimizer__learning_rate"] == trial_params["learning_rate"]
        assert params["clf__batch_size"] == trial_params["batch_size"]
        assert params["clf__lr_schedule"] == trial_params["lr_schedule"]
        assert params["clf__dropout"] == trial_params["dropout"]
        assert "clf__epochs" not in params  # the pruner's resource, not searched
        is_sgd = optimizer == "sgd"
        assert ("momentum" in trial_params) is is_sgd
        assert ("nesterov" in trial_params) is is_sgd
        assert ("clf__optimizer__momentum" in params) is is_sgd
        assert ("clf__optimizer__nesterov" in params) is is_sgd
        assert ("rho" in trial_params) is (optimizer == "rmsprop")
        assert ("clf__optimizer__rho" in params) is (optimizer == "rmsprop")
        if is_sgd:
            assert params["clf__optimizer__momentum"] == trial_params["momentum"]
        if optimizer == "rmsprop":
            assert params["clf__optimizer__rho"] == trial_params["rho"]
        assert any(key.startswith("hog__") for key in params) is (family == "hog-mlp")
        if family == "hog-mlp":
            assert params["hog__orientations"] == trial_params["orientations"]
            assert params["hog__pixels_per_cell"] == trial_params["pixels_per_cell"]
        if family == "cnn":
            check_cnn(trial_params, params)
        else:
            check_mlp(trial_params, params)
    assert seen_optimizers == set(DISTRIBUTIONS["optimizer"].choices)


def check_mlp(trial_params, params):
    sizes = params["clf__hidden_layer_sizes"]
    assert isinstance(sizes, tuple)
    assert len(sizes) == trial_params["n_layers"]
    assert sizes == tuple(trial_params[f"units_{k}"] for k in range(1, len(sizes) + 1))
    for k in range(1, DISTRIBUTIONS["n_layers"].high + 1):
        assert (f"units_{k}" in trial_params) is (k <= len(sizes))
    assert params["clf__activation"] == trial_params["activation"]
    assert params["clf__batch_norm"] == trial_params["batch_norm"]


def check_cnn(trial_params, params):
    filters, kernels = params["clf__filters"], params["clf__kernel_sizes"]
    assert len(filters) == len(kernels) == trial_params["n_blocks"]
    assert filters == tuple(trial_params[f"filters_{k}"] for k in range(1, len(filters) + 1))
    assert kernels == tuple(trial_params[f"kernel_{k}"] for k in range(1, len(kernels) + 1))
    for k in range(1, DISTRIBUTIONS["n_blocks"].high + 1):
        assert (f"filters_{k}" in trial_params) is (k <= len(filters))
        assert (f"kernel_{k}" in trial_params) is (k <= len(filters))
    assert params["clf__dense_layers"] == tuple(
        trial_params[f"dense_units_{k}"] for k in range(1, trial_params["n_dense"] + 1)
    )
    strided = trial_params["downsample"] == "stride"
    assert (params["clf__strides"], params["clf__pool"]) == ((2, 1) if strided else (1, 2))


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
        lambda t: suggest_params(
            t, pipeline, factory=get_benchmark(name).pipeline, image_shape=shape
        ),
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
            "lr_schedule": None,
            "batch_size": 32,
        }
    )
    pipeline = get_benchmark("digits-mlp").build(pixel_max=16.0, seed=0)
    params = suggest_params(
        trial, pipeline, factory=get_benchmark("digits-mlp").pipeline, image_shape=DIGITS
    )
    config = build_sampled("digits-mlp", params).model_.optimizer.get_config()
    assert config["momentum"] == pytest.approx(0.9)
    assert config["nesterov"] is True


@pytest.mark.parametrize("name", ["mnist-fast", "mnist-best", "cifar10-cnn"])
@pytest.mark.parametrize("n_blocks", [1, 3])
def test_a_trial_builds_on_a_benchmark_with_per_block_settings(name, n_blocks):
    # mnist-fast pads its two blocks differently, mnist-best and cifar10-cnn drop out
    # per block: a trial of another number of blocks must not inherit them; its one
    # sampled block dropout reaches every block.
    chosen = {"n_blocks": n_blocks, "downsample": "pool", "batch_norm": False, "n_dense": 1}
    chosen |= {"dense_units_1": 32, "dropout": 0.0, "augment": None, "conv_dropout": 0.3}
    chosen |= {f"filters_{k}": 8 for k in range(1, n_blocks + 1)}
    chosen |= {f"kernel_{k}": 3 for k in range(1, n_blocks + 1)}
    benchmark = get_benchmark(name)
    shape = (32, 32, 3) if benchmark.dataset == "cifar10" else MNIST
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    pipeline.set_params(**suggest_cnn(FixedTrial(chosen), context(shape)))
    X = np.zeros((10, *shape), dtype="float32")
    classifier = pipeline[-1]
    classifier.initialize(pipeline[:-1].fit_transform(X, np.arange(10)), np.arange(10))
    convolutions = [layer for layer in classifier.model_.layers if type(layer).__name__ == "Conv2D"]
    assert len(convolutions) == n_blocks
    rates = [layer.rate for layer in classifier.model_.layers if layer.name.startswith("conv_drop")]
    assert rates == [0.3] * n_blocks


def test_deepest_cnn_fits_8x8_images():
    # 3 blocks of 5x5 kernels and pool 2 take 8x8 digits down to 1x1 and still build.
    trial = FixedTrial(
        {
            "n_blocks": 3,
            **{f"filters_{k}": 8 for k in (1, 2, 3)},
            **{f"kernel_{k}": 5 for k in (1, 2, 3)},
            "downsample": "pool",
            "batch_norm": False,
            "n_dense": 1,
            "dense_units_1": 32,
            "dropout": 0.0,
            "conv_dropout": 0.0,
            "augment": "shift_rotate_zoom",  # turns and zooms on 8x8 images build too
        }
    )
    pipeline = get_benchmark("mnist-cnn").build(pixel_max=16.0, seed=0)
    pipeline.set_params(**suggest_cnn(trial, context(DIGITS)))
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
    baseline = baseline_params(pipeline, factory=get_benchmark(name).pipeline, image_shape=shape)
    params = suggest_params(
        FixedTrial(baseline), pipeline, factory=get_benchmark(name).pipeline, image_shape=shape
    )
    published = pipeline.get_params()
    shared = {key: value for key, value in params.items() if key in published}
    assert {key: published[key] for key in shared} == shared
    assert "clf__hidden_layer_sizes" in shared and "clf__lr_schedule" in shared


@pytest.mark.parametrize(("rates", "expected"), [(0.3, 0.3), ((0.3, 0.3), 0.3), ((0.0, 0.3), None)])
def test_a_cnn_baseline_keeps_one_block_dropout_for_all_blocks(rates, expected):
    # The space has one rate for all blocks: a benchmark's per-block rates that differ
    # (cifar10-cnn's) are left to the sampler rather than misread.
    pipeline = get_benchmark("fashion-cnn").build(pixel_max=255.0, seed=0)
    pipeline.set_params(clf__conv_dropout=rates)
    factory = get_benchmark("fashion-cnn").pipeline
    baseline = baseline_params(pipeline, factory=factory, image_shape=MNIST)
    assert baseline.get("conv_dropout") == expected


def test_mnist_mlp_baseline_is_the_seed_network():
    pipeline = get_benchmark("mnist-mlp").build(pixel_max=255.0, seed=0)
    assert baseline_params(
        pipeline, factory=get_benchmark("mnist-mlp").pipeline, image_shape=MNIST
    ) == {
        "n_layers": 2,
        "units_1": 300,
        "units_2": 30,
        "dropout": 0.4,
        "activation": "relu",
        "batch_norm": False,
        "optimizer": "rmsprop",
        "learning_rate": 1e-3,
        "rho": 0.9,
        "lr_schedule": None,
        "batch_size": 128,
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
    baseline = baseline_params(
        pipeline, factory=get_benchmark("mnist-cnn").pipeline, image_shape=MNIST
    )
    # The seed CNN has 9 filters in two blocks; the space offers 8, 16, 32, 64.
    assert "filters_1" not in baseline and "filters_2" not in baseline
    assert baseline["filters_3"] == 16
    assert (baseline["kernel_1"], baseline["kernel_2"], baseline["kernel_3"]) == (5, 5, 3)
    assert baseline["n_blocks"] == 3 and baseline["optimizer"] == "adam"
    assert "rho" not in baseline


# --- classic baselines: their own small spaces, no optimizer --------------------------

BASELINES = {
    "digits-svc": ("svc", {"C", "gamma"}),
    "mnist-hog-svc": ("hog-svc", {"C", "gamma", "orientations", "pixels_per_cell"}),
    "fashion-hog-svc": ("hog-svc", {"C", "gamma", "orientations", "pixels_per_cell"}),
    "mnist-logreg": ("logreg", {"C"}),
    "mnist-forest": ("forest", {"n_estimators", "max_features", "min_samples_leaf"}),
}


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_a_baseline_samples_its_own_space_and_no_optimizer(name):
    family, searched = BASELINES[name]
    benchmark = get_benchmark(name)
    pipeline = benchmark.build(pixel_max=255.0, seed=0)
    assert family_of(benchmark.pipeline).name == family
    for trial_params, params in sampled_trials(
        20, lambda t: suggest_params(t, pipeline, factory=benchmark.pipeline, image_shape=MNIST)
    ):
        assert set(trial_params) == searched
        for key, value in trial_params.items():
            assert in_space(key, value, context()), (key, value)
        pipeline.set_params(**params)  # every key names a real parameter
        assert not any("optimizer" in key or "epochs" in key for key in params)


def test_an_svc_baseline_keeps_scikit_learns_gamma_outside_the_space():
    pipeline = get_benchmark("mnist-hog-svc").build(pixel_max=255.0, seed=0)
    # gamma="scale" is no number in the space: the baseline trial keeps the
    # benchmark's own, and only C and the HOG setting are enqueued.
    assert baseline_params(
        pipeline, factory=get_benchmark("mnist-hog-svc").pipeline, image_shape=MNIST
    ) == {
        "C": 10.0,
        "orientations": 8,
        "pixels_per_cell": 4,
    }

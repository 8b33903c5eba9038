"""Search spaces: what a study samples for each family of benchmark pipeline.

:data:`DISTRIBUTIONS` declares every searched parameter once, as an Optuna
distribution; sampling (:func:`suggest_params`), the baseline check
(:func:`baseline_params`) and the tests all read it. Per-layer parameters
(``units_1``, ``units_2``, ...) share one entry (``units``). A few bounds depend on
the benchmark's images (the CNN's depth, the HOG cell size): :func:`distribution`
narrows the table's entry for a :class:`SpaceContext`, the same for every trial of a
study. Epochs are not searched (see :func:`suggest_optimizer`).

A :class:`Family` says which topology a study samples for a benchmark and how the
benchmark's own configuration reads in those parameters; :data:`FAMILIES` keys them by
the benchmark's pipeline factory (as :data:`bench.benchmarks.pipelines.WEIGHT_COUNTERS`
keys the weight counters), and adding one touches only that table. Every network
family also samples the optimizer (:func:`suggest_optimizer`).

Sampled values come back as full pipeline parameter names -> values, ready for
``pipeline.set_params(**params)``; the Optuna names (``trial.params``) stay short
("n_layers", "units_1", "learning_rate") because they label study tables and plots.
Conditional parameters are sampled only where they apply (momentum only for SGD), and
only applicable keys are returned: Adam, for one, rejects a ``momentum`` argument.

A benchmark may declare its own space instead (``Benchmark.search_space``: full
pipeline parameter names -> distributions); a study then samples exactly that, under
those names, and no family applies.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from sklearn.pipeline import Pipeline

from bench.benchmarks import Benchmark
from bench.benchmarks.overrides import ROUTED_PREFIXES, shown_params
from bench.benchmarks.pipelines import (
    cnn_pipeline,
    deep_mlp_pipeline,
    forest_pipeline,
    hog_mlp_pipeline,
    hog_svc_pipeline,
    logreg_pipeline,
    mlp_pipeline,
    svc_pipeline,
)
from bench.errors import UsageError

# The kinds of distribution the spaces hold: what sampling and the checks handle.
Distribution = CategoricalDistribution | IntDistribution | FloatDistribution

# Filters are categorical powers of two rather than an int range: they read better in
# tables and TPE treats each width as its own choice.
DISTRIBUTIONS: dict[str, Distribution] = {
    # MLP topology: 1-4 hidden layers of units_k each
    "n_layers": IntDistribution(1, 4),
    "units": IntDistribution(16, 1024, log=True),
    "dropout": FloatDistribution(0.0, 0.6),
    "activation": CategoricalDistribution(("relu", "tanh", "sigmoid", "scaled_tanh", "lecun_tanh")),
    "batch_norm": CategoricalDistribution((False, True)),
    # deep MLPs: depth Dense layers (softmax included) of one width
    "depth": IntDistribution(2, 40),
    # CNN topology: n_blocks conv blocks of filters_k and kernel_k, each down-sampled by
    # a max-pool of 2 or by a stride of 2 (the mnist-fast way: cheaper on a CPU), then
    # n_dense Dense layers of dense_units_k
    "n_blocks": IntDistribution(1, 3),
    "filters": CategoricalDistribution((8, 16, 32, 64, 128)),
    "kernel": CategoricalDistribution((3, 5)),
    "downsample": CategoricalDistribution(("pool", "stride")),
    "n_dense": IntDistribution(1, 2),
    "dense_units": IntDistribution(16, 512, log=True),
    # dropout at the end of every block, one rate for all: it costs no training time,
    # and mnist-best's and the VGG-style Fashion-MNIST network's block dropout was
    # what lifted them (see the README)
    "conv_dropout": FloatDistribution(0.0, 0.5),
    # training-only augmentation that keeps a digit a digit and a shirt a shirt; flips
    # join where a mirrored image keeps its class (see _flips_if_safe)
    "augment": CategoricalDistribution((None, "shift_rotate_zoom")),
    # HOG features
    "orientations": IntDistribution(4, 14),
    "pixels_per_cell": CategoricalDistribution((4, 7, 8, 10)),
    # optimizer and learning-rate schedule
    "optimizer": CategoricalDistribution(("adam", "rmsprop", "sgd")),
    "learning_rate": FloatDistribution(1e-4, 1e-1, log=True),
    "momentum": FloatDistribution(0.0, 0.99),
    "nesterov": CategoricalDistribution((False, True)),
    "rho": FloatDistribution(0.8, 0.99),
    "lr_schedule": CategoricalDistribution((None, "one_cycle")),
    "batch_size": CategoricalDistribution((32, 64, 128, 256, 512)),
    # classic baselines: an SVC's penalty and RBF width (features scaled to [0, 1] or
    # block-normalised HOG), a logistic regression's penalty, a forest's size and splits
    "C": FloatDistribution(1e-2, 1e3, log=True),
    "gamma": FloatDistribution(1e-4, 1.0, log=True),
    "n_estimators": IntDistribution(50, 500, log=True),
    "max_features": CategoricalDistribution(("sqrt", "log2", 0.05, 0.2)),
    "min_samples_leaf": IntDistribution(1, 8),
}

# Keras' own defaults, which a benchmark inherits when it names only the optimizer.
KERAS_LEARNING_RATES = {"adam": 1e-3, "rmsprop": 1e-3, "sgd": 1e-2}


@dataclass(frozen=True)
class SpaceContext:
    """What narrows the space for one study.

    Parameters
    ----------
    image_shape : tuple of int
        ``(height, width)`` of the benchmark's images.
    cells_per_block : int, default=1
        The HOG step's (fixed) block size in cells, its larger side.
    flip_safe : bool, default=False
        A mirrored image keeps its class (``Dataset.flip_safe``): flips may be sampled.
    """

    image_shape: tuple[int, ...]
    cells_per_block: int = 1
    flip_safe: bool = False


def distribution(name: str, context: SpaceContext) -> Distribution:
    """The distribution of Optuna parameter ``name`` (``units_3`` reads ``units``).

    Raises
    ------
    UsageError
        If no HOG cell size fits the images with the pipeline's block size.
    """
    entry = _table_entry(name)
    base = DISTRIBUTIONS[entry if entry in DISTRIBUTIONS else name]
    narrow = _NARROWING.get(entry)
    return narrow(base, context) if narrow else base


def _table_entry(name: str) -> str:
    """The :data:`DISTRIBUTIONS` entry a numbered parameter reads (``units_3``: ``units``)."""
    return re.sub(r"_\d+$", "", name)


def _most_blocks(base: IntDistribution, context: SpaceContext) -> IntDistribution:
    # 'same' padding keeps the size through each convolution and a pool of 2 floors it
    # by half, so n blocks need a side of at least 2**n: 8x8 digits go 8 -> 4 -> 2 -> 1
    # with 3 blocks, which still builds.
    fits = min(context.image_shape[:2]).bit_length() - 1
    return IntDistribution(base.low, max(base.low, min(base.high, fits)))


def _cells_that_fit(
    base: CategoricalDistribution, context: SpaceContext
) -> CategoricalDistribution:
    # Cells need not tile the image exactly (7-pixel cells leave a 1-pixel border on
    # 8x8 digits), only one block must fit.
    side = min(context.image_shape[:2])
    cells = tuple(
        size
        for size in base.choices
        if isinstance(size, int) and size * context.cells_per_block <= side
    )
    if not cells:
        raise UsageError(
            f"no HOG cell size in {base.choices} fits {context.image_shape} images with "
            f"cells_per_block={context.cells_per_block}; use larger images or smaller blocks."
        )
    return CategoricalDistribution(cells)


def _flips_if_safe(base: CategoricalDistribution, context: SpaceContext) -> Distribution:
    # A mirrored shirt is a shirt, a mirrored 2 is not a 2: flips alone (the mildest,
    # for centred objects) and shifts with flips (what cifar10-cnn trains with) only
    # where the dataset says a flip keeps the class.
    if not context.flip_safe:
        return base
    return CategoricalDistribution((*base.choices, "flip", "shift_flip"))


_NARROWING: dict[str, Callable[[Any, SpaceContext], Distribution]] = {
    "n_blocks": _most_blocks,
    "pixels_per_cell": _cells_that_fit,
    "augment": _flips_if_safe,
}


def suggest(trial: optuna.Trial, name: str, context: SpaceContext) -> Any:
    """Sample Optuna parameter ``name`` from its :func:`distribution`."""
    return suggest_from(trial, name, distribution(name, context))


def suggest_from(trial: optuna.Trial, name: str, found: BaseDistribution) -> Any:
    """Sample Optuna parameter ``name`` from ``found``, through the trial's public
    ``suggest_*`` method for its kind of distribution."""
    if isinstance(found, CategoricalDistribution):
        return trial.suggest_categorical(name, found.choices)
    if isinstance(found, IntDistribution):
        return trial.suggest_int(name, found.low, found.high, step=found.step, log=found.log)
    if isinstance(found, FloatDistribution):
        return trial.suggest_float(name, found.low, found.high, step=found.step, log=found.log)
    raise UsageError(
        f"cannot search {name} from a {type(found).__name__}; use a FloatDistribution, "
        "IntDistribution or CategoricalDistribution of optuna.distributions"
    )


def in_space(name: str, value: Any, context: SpaceContext) -> bool:
    """Whether ``value`` is one the space can sample for ``name``."""
    return holds(distribution(name, context), value)


def holds(found: BaseDistribution, value: Any) -> bool:
    """Whether ``found`` can sample ``value``."""
    if isinstance(found, CategoricalDistribution):
        return value in found.choices  # None may be a choice (no schedule)
    if isinstance(value, bool) or not isinstance(found, IntDistribution | FloatDistribution):
        return False
    # A number within the bounds; not a word such as an SVC's gamma "scale".
    return isinstance(value, int | float) and found.low <= value <= found.high


# --- families ------------------------------------------------------------------------


@dataclass(frozen=True)
class Family:
    """A kind of benchmark pipeline and the topology a study searches for it.

    Parameters
    ----------
    name : str
        Shown in messages and tables.
    suggest : callable
        ``suggest(trial, context) -> {pipeline parameter: value}`` for the topology.
    baseline : callable
        ``baseline(pipeline) -> {Optuna parameter: value}``: the benchmark's own
        topology in the space's names (values outside the space are dropped later).
    by_epoch : bool, default=True
        A network, whose optimizer is searched too; ``False`` for a classic
        scikit-learn baseline, whose family samples all it has.
    """

    name: str
    suggest: Callable[[optuna.Trial, SpaceContext], dict[str, Any]]
    baseline: Callable[[Pipeline], dict[str, Any]]
    by_epoch: bool = True


def suggest_mlp(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """An MLP topology: ``clf__hidden_layer_sizes``, dropout, activation, batch norm."""
    n_layers = suggest(trial, "n_layers", context)
    units = tuple(suggest(trial, f"units_{k}", context) for k in range(1, n_layers + 1))
    return {
        "clf__hidden_layer_sizes": units,
        "clf__dropout": suggest(trial, "dropout", context),
        "clf__activation": suggest(trial, "activation", context),
        "clf__batch_norm": suggest(trial, "batch_norm", context),
    }


def suggest_cnn(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """A CNN topology: per-block filters and kernels, each block down-sampled by a pool
    or a stride of 2, dropout at each block's end, batch norm, one or two Dense layers,
    dropout."""
    blocks = range(1, suggest(trial, "n_blocks", context) + 1)
    filters = tuple(suggest(trial, f"filters_{k}", context) for k in blocks)
    kernels = tuple(suggest(trial, f"kernel_{k}", context) for k in blocks)
    strided = suggest(trial, "downsample", context) == "stride"
    dense = range(1, suggest(trial, "n_dense", context) + 1)
    return {
        "clf__filters": filters,
        "clf__kernel_sizes": kernels,
        "clf__strides": 2 if strided else 1,
        "clf__pool": 1 if strided else 2,
        # One for all blocks: a benchmark's own per-block padding or dropout (mnist-fast's
        # two paddings, cifar10-cnn's four dropouts) fits its own blocks only, and would
        # fail every trial that samples another number of them.
        "clf__padding": "same",
        "clf__conv_dropout": suggest(trial, "conv_dropout", context),
        "clf__batch_norm": suggest(trial, "batch_norm", context),
        "clf__dense_layers": tuple(suggest(trial, f"dense_units_{k}", context) for k in dense),
        "clf__dropout": suggest(trial, "dropout", context),
        "clf__augment": suggest(trial, "augment", context),
    }


def suggest_deep_mlp(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """A deep MLP: its depth, width, activation, dropout and batch norm."""
    return {
        "clf__depth": suggest(trial, "depth", context),
        "clf__units": suggest(trial, "units", context),
        "clf__dropout": suggest(trial, "dropout", context),
        "clf__activation": suggest(trial, "activation", context),
        "clf__batch_norm": suggest(trial, "batch_norm", context),
    }


def suggest_hog(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """HOG orientations and a cell size that fits the image."""
    return {
        "hog__orientations": suggest(trial, "orientations", context),
        "hog__pixels_per_cell": suggest(trial, "pixels_per_cell", context),
    }


def suggest_svc(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """An RBF SVC's penalty ``C`` and kernel width ``gamma``."""
    return {"clf__C": suggest(trial, "C", context), "clf__gamma": suggest(trial, "gamma", context)}


def suggest_logreg(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """A logistic regression's penalty ``C`` (the inverse of its L2 strength)."""
    return {"clf__C": suggest(trial, "C", context)}


def suggest_forest(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """A random forest's trees, features per split and smallest leaf."""
    return {
        "clf__n_estimators": suggest(trial, "n_estimators", context),
        "clf__max_features": suggest(trial, "max_features", context),
        "clf__min_samples_leaf": suggest(trial, "min_samples_leaf", context),
    }


def baseline_svc(pipeline: Pipeline) -> dict[str, Any]:
    # gamma "scale" (scikit-learn's default, from the data) is outside the space: the
    # baseline trial keeps it, and the sampler explores numeric widths.
    return {"C": pipeline[-1].C, "gamma": pipeline[-1].gamma}


def baseline_logreg(pipeline: Pipeline) -> dict[str, Any]:
    return {"C": pipeline[-1].C}


def baseline_forest(pipeline: Pipeline) -> dict[str, Any]:
    clf = pipeline[-1]
    return {
        "n_estimators": clf.n_estimators,
        "max_features": clf.max_features,
        "min_samples_leaf": clf.min_samples_leaf,
    }


def baseline_mlp(pipeline: Pipeline) -> dict[str, Any]:
    clf = pipeline[-1]
    units = tuple(clf.hidden_layer_sizes)
    params = {f"units_{k}": size for k, size in enumerate(units, start=1)}
    return params | {
        "n_layers": len(units),
        "dropout": clf.dropout,
        "activation": clf.activation,
        "batch_norm": clf.batch_norm,
    }


def baseline_cnn(pipeline: Pipeline) -> dict[str, Any]:
    clf = pipeline[-1]
    filters = tuple(clf.filters)
    kernels = clf.kernel_sizes
    kernels = tuple(kernels) if isinstance(kernels, tuple | list) else (kernels,) * len(filters)
    downsample = {(1, 2): "pool", (2, 1): "stride"}.get((clf.strides, clf.pool))
    block_dropout = clf.conv_dropout
    if isinstance(block_dropout, tuple | list) and len(set(block_dropout)) == 1:
        block_dropout = block_dropout[0]  # the space's one rate for all blocks
    params = {
        "n_blocks": len(filters),
        "downsample": downsample,
        "conv_dropout": block_dropout,
        "batch_norm": clf.batch_norm,
        "n_dense": len(clf.dense_layers),
        "dropout": clf.dropout,
        "augment": clf.augment,
    }
    for k, (width, kernel) in enumerate(zip(filters, kernels, strict=True), start=1):
        params |= {f"filters_{k}": width, f"kernel_{k}": kernel}
    for k, units in enumerate(clf.dense_layers, start=1):
        params[f"dense_units_{k}"] = units
    return params


def baseline_deep_mlp(pipeline: Pipeline) -> dict[str, Any]:
    clf = pipeline[-1]
    return {
        "depth": clf.depth,
        "units": clf.units,
        "dropout": clf.dropout,
        "activation": clf.activation,
        "batch_norm": clf.batch_norm,
    }


def baseline_hog(pipeline: Pipeline) -> dict[str, Any]:
    hog = pipeline.named_steps["hog"]
    return {"orientations": hog.orientations, "pixels_per_cell": hog.pixels_per_cell}


# The family of each pipeline factory (a HOG pipeline samples its HOG step too).
FAMILIES: dict[Callable[..., Pipeline], Family] = {
    cnn_pipeline: Family("cnn", suggest_cnn, baseline_cnn),
    deep_mlp_pipeline: Family("deep-mlp", suggest_deep_mlp, baseline_deep_mlp),
    hog_mlp_pipeline: Family(
        "hog-mlp",
        lambda trial, context: suggest_mlp(trial, context) | suggest_hog(trial, context),
        lambda pipeline: baseline_mlp(pipeline) | baseline_hog(pipeline),
    ),
    mlp_pipeline: Family("mlp", suggest_mlp, baseline_mlp),
    hog_svc_pipeline: Family(
        "hog-svc",
        lambda trial, context: suggest_svc(trial, context) | suggest_hog(trial, context),
        lambda pipeline: baseline_svc(pipeline) | baseline_hog(pipeline),
        by_epoch=False,
    ),
    svc_pipeline: Family("svc", suggest_svc, baseline_svc, by_epoch=False),
    logreg_pipeline: Family("logreg", suggest_logreg, baseline_logreg, by_epoch=False),
    forest_pipeline: Family("forest", suggest_forest, baseline_forest, by_epoch=False),
}


def family_of(factory: Callable[..., Pipeline]) -> Family:
    """The search-space family of the benchmarks built by pipeline ``factory``.

    Raises
    ------
    UsageError
        If no family is declared for ``factory``.
    """
    family = FAMILIES.get(factory)
    if family is None:
        names = ", ".join(family.name for family in FAMILIES.values())
        raise UsageError(
            f"no search space for {getattr(factory, '__name__', factory)} pipelines; "
            f"studies support the families {names}, or a benchmark's own search_space."
        )
    return family


def check_searchable(benchmark: Benchmark) -> None:
    """Fail at once, before any study, if ``benchmark`` has no space to search.

    Raises
    ------
    UsageError
        If it declares no ``search_space`` and its factory has no family, or its space
        holds something that is not one of the three kinds of distribution.
    """
    if benchmark.search_space is None:
        if benchmark.pipeline not in FAMILIES:
            factory = getattr(benchmark.pipeline, "__name__", benchmark.pipeline)
            raise UsageError(
                f"{benchmark.name} has no search space: its factory {factory} has no family "
                "in studies/spaces.py; declare one, Benchmark(search_space={'clf__C': "
                "FloatDistribution(0.01, 100, log=True)}) say, or search a grid with --grid"
            )
        return
    if not benchmark.search_space:
        raise UsageError(f"the search_space of {benchmark.name} is empty; declare a parameter")
    for name, found in benchmark.search_space.items():
        if not isinstance(found, CategoricalDistribution | IntDistribution | FloatDistribution):
            raise UsageError(
                f"the search_space of {benchmark.name} gives {name} a {type(found).__name__}; "
                "use a FloatDistribution, IntDistribution or CategoricalDistribution of "
                "optuna.distributions"
            )


def check_declared_space(space: Mapping[str, BaseDistribution], pipeline: Pipeline) -> None:
    """Every name of a declared ``space`` must be a parameter of ``pipeline``.

    Raises
    ------
    UsageError
        For a name that is not, with the valid ones.
    """
    params = pipeline.get_params(deep=True)
    classifier = pipeline.steps[-1][0]
    for name in space:
        # Optimizer settings route the scikeras way (clf__optimizer__learning_rate).
        routed = name.startswith(f"{classifier}__") and name.partition("__")[2].startswith(
            ROUTED_PREFIXES
        )
        if name not in params and not routed:
            valid = ", ".join(sorted(shown_params(pipeline)))
            raise UsageError(
                f"search_space names {name}, which is no parameter of the pipeline; valid: {valid}"
            )


def space_context(
    pipeline: Pipeline, *, image_shape: tuple[int, ...], flip_safe: bool = False
) -> SpaceContext:
    """The :class:`SpaceContext` of ``pipeline`` on images of ``image_shape``."""
    block = getattr(pipeline.named_steps.get("hog"), "cells_per_block", 1)
    # HOGTransformer takes an int or a (rows, cols) pair; the larger side must fit.
    block = max(block) if isinstance(block, tuple | list) else int(block)
    return SpaceContext(tuple(image_shape), cells_per_block=block, flip_safe=flip_safe)


# --- the optimizer, common to every family ----------------------------------------------


def suggest_optimizer(trial: optuna.Trial, context: SpaceContext) -> dict[str, Any]:
    """The optimizer, its settings, the learning-rate schedule and the batch size.

    SGD adds momentum and Nesterov, RMSprop adds rho; the others add nothing. Epochs
    are not searched: every trial may train the study's whole epoch budget, and the
    pruner stops the hopeless ones early (multi-fidelity).
    """
    optimizer = suggest(trial, "optimizer", context)
    params = {
        "clf__optimizer": optimizer,
        "clf__optimizer__learning_rate": suggest(trial, "learning_rate", context),
    }
    if optimizer == "sgd":
        params["clf__optimizer__momentum"] = suggest(trial, "momentum", context)
        params["clf__optimizer__nesterov"] = suggest(trial, "nesterov", context)
    elif optimizer == "rmsprop":
        params["clf__optimizer__rho"] = suggest(trial, "rho", context)
    params["clf__lr_schedule"] = suggest(trial, "lr_schedule", context)
    params["clf__batch_size"] = suggest(trial, "batch_size", context)
    return params


def baseline_optimizer(pipeline: Pipeline, context: SpaceContext) -> dict[str, Any]:
    clf = pipeline[-1]
    optimizer = clf.optimizer if isinstance(clf.optimizer, str) else None
    settings = clf.get_params()
    return {
        "optimizer": optimizer,
        "learning_rate": settings.get(
            "optimizer__learning_rate",
            None if optimizer is None else KERAS_LEARNING_RATES.get(optimizer),
        ),
        "rho": settings.get("optimizer__rho", 0.9) if optimizer == "rmsprop" else None,
        "lr_schedule": getattr(clf, "lr_schedule", None),
        "batch_size": clf.batch_size,
    }


# --- what studies call -------------------------------------------------------------------


def suggest_params(
    trial: optuna.Trial,
    pipeline: Pipeline,
    *,
    factory: Callable[..., Pipeline],
    image_shape: tuple[int, ...],
    space: Mapping[str, BaseDistribution] | None = None,
    flip_safe: bool = False,
) -> dict[str, Any]:
    """Sample every searched parameter of ``space``, else of the family of ``factory``.

    Parameters
    ----------
    trial : optuna.Trial
    pipeline : sklearn.pipeline.Pipeline
        The benchmark's unfitted pipeline (read only, never changed here).
    factory : callable
        The benchmark's pipeline factory (``Benchmark.pipeline``), which built
        ``pipeline``: it picks the family (see :data:`FAMILIES`).
    image_shape : tuple of int
        ``(height, width)`` of the benchmark's images.
    space : mapping or None
        The benchmark's own ``search_space``: sampled alone, under its own names.
    flip_safe : bool, default=False
        The dataset's ``flip_safe``: whether flips may be sampled as augmentation.

    Returns
    -------
    dict
        The topology's and the optimizer's parameters, for
        ``pipeline.set_params(**params)``.
    """
    if space is not None:
        check_declared_space(space, pipeline)
        return {name: suggest_from(trial, name, found) for name, found in space.items()}
    context = space_context(pipeline, image_shape=image_shape, flip_safe=flip_safe)
    family = family_of(factory)
    params = family.suggest(trial, context)
    return params | suggest_optimizer(trial, context) if family.by_epoch else params


def baseline_params(
    pipeline: Pipeline,
    *,
    factory: Callable[..., Pipeline],
    image_shape: tuple[int, ...],
    space: Mapping[str, BaseDistribution] | None = None,
    flip_safe: bool = False,
) -> dict[str, Any]:
    """The benchmark's own configuration as Optuna parameters, for a study's first trial.

    Starting from the published configuration gives the sampler a known-good point and
    the study a baseline every trial is compared against. Values the space cannot hold
    (9 filters, say, when it offers 8, 16, 32, 64) are left out; Optuna samples those.
    Epochs are not searched: the objective gives the baseline trial the benchmark's own
    (within the study's budget).
    ``factory``, ``image_shape``, ``space`` and ``flip_safe`` are as for
    :func:`suggest_params`.

    Returns
    -------
    dict
        Optuna parameter names -> values, for ``study.enqueue_trial``.
    """
    if space is not None:
        check_declared_space(space, pipeline)
        params = pipeline.get_params(deep=True)
        return {
            name: params[name]
            for name, found in space.items()
            if name in params and holds(found, params[name])
        }
    context = space_context(pipeline, image_shape=image_shape, flip_safe=flip_safe)
    family = family_of(factory)
    params = family.baseline(pipeline)
    if family.by_epoch:
        params |= baseline_optimizer(pipeline, context)
    return {name: value for name, value in params.items() if in_space(name, value, context)}


def changed_distributions(
    stored: Mapping[str, BaseDistribution],
    pipeline: Pipeline,
    *,
    image_shape: tuple[int, ...],
    space: Mapping[str, BaseDistribution] | None = None,
    flip_safe: bool = False,
) -> list[str]:
    """Parameters an existing study sampled from choices this space no longer offers,
    each as ``"name: (old choices) then, (new choices) now"``.

    Optuna refuses to sample a categorical parameter from other choices than a study's
    earlier trials (a space grown by a version of bench, say), so a resumed study would
    fail every new trial. ``stored`` maps names to the distributions the study's trials
    recorded; the other arguments are as for :func:`suggest_params`.
    """
    context = space_context(pipeline, image_shape=image_shape, flip_safe=flip_safe)
    changed = []
    for name, old in stored.items():
        new = _current_distribution(name, context, space)
        if new is None:
            continue
        try:
            optuna.distributions.check_distribution_compatibility(old, new)
        except ValueError:
            changed.append(f"{name}: {_choices(old)} then, {_choices(new)} now")
    return changed


def _current_distribution(
    name: str, context: SpaceContext, space: Mapping[str, BaseDistribution] | None
) -> BaseDistribution | None:
    if space is not None:
        return space.get(name)
    if _table_entry(name) not in DISTRIBUTIONS and name not in DISTRIBUTIONS:
        return None  # a grid's or a declared space's name: not this table's
    return distribution(name, context)


def _choices(found: BaseDistribution) -> str:
    if isinstance(found, CategoricalDistribution):
        return "(" + ", ".join(map(str, found.choices)) + ")"
    return type(found).__name__


def suggest_baseline(
    trial: optuna.Trial,
    pipeline: Pipeline,
    *,
    factory: Callable[..., Pipeline],
    image_shape: tuple[int, ...],
    space: Mapping[str, BaseDistribution] | None = None,
    flip_safe: bool = False,
) -> None:
    """Suggest, in the baseline trial, the values :func:`baseline_params` enqueued, so
    the sampler learns from them; arguments as for :func:`suggest_params`."""
    baseline = baseline_params(pipeline, factory=factory, image_shape=image_shape, space=space)
    if space is not None:
        for name in baseline:
            suggest_from(trial, name, space[name])
        return
    context = space_context(pipeline, image_shape=image_shape, flip_safe=flip_safe)
    for name in baseline:
        suggest(trial, name, context)


# Configurations known to train well, enqueued after the baseline so that even a short
# study tries them early: what they reached is in the README ("Searches that pay off").
KNOWN_GOOD: dict[str, tuple[dict[str, Any], ...]] = {
    "cnn": (
        # Two pooled blocks of 32 and 64 3x3 filters with batch norm, one-cycle Adam.
        {
            "n_blocks": 2,
            "filters_1": 32,
            "filters_2": 64,
            "kernel_1": 3,
            "kernel_2": 3,
            "downsample": "pool",
            "batch_norm": True,
            "n_dense": 1,
            "dense_units_1": 128,
            "conv_dropout": 0.0,
            "dropout": 0.3,
            "augment": None,
            "optimizer": "adam",
            "learning_rate": 0.002,
            "lr_schedule": "one_cycle",
            "batch_size": 128,
        },
        # mnist-fast's first network (4 epochs): strided 5x5 blocks instead of pooling.
        {
            "n_blocks": 2,
            "filters_1": 16,
            "filters_2": 32,
            "kernel_1": 5,
            "kernel_2": 5,
            "downsample": "stride",
            "batch_norm": True,
            "n_dense": 1,
            "dense_units_1": 128,
            "conv_dropout": 0.0,
            "dropout": 0.25,
            "augment": None,
            "optimizer": "adam",
            "learning_rate": 0.003,
            "lr_schedule": "one_cycle",
            "batch_size": 256,
        },
    ),
    "mlp": (
        # The best of an earlier 20-trial mnist-mlp study: one wide layer, RMSprop.
        {
            "n_layers": 1,
            "units_1": 880,
            "dropout": 0.4,
            "activation": "relu",
            "batch_norm": False,
            "optimizer": "rmsprop",
            "learning_rate": 0.001,
            "rho": 0.9,
            "lr_schedule": None,
            "batch_size": 128,
        },
        # Two layers with batch norm and a one-cycle schedule.
        {
            "n_layers": 2,
            "units_1": 512,
            "units_2": 256,
            "dropout": 0.2,
            "activation": "relu",
            "batch_norm": True,
            "optimizer": "adam",
            "learning_rate": 0.002,
            "lr_schedule": "one_cycle",
            "batch_size": 128,
        },
    ),
}


def known_good(
    pipeline: Pipeline,
    *,
    factory: Callable[..., Pipeline],
    image_shape: tuple[int, ...],
    space: Mapping[str, BaseDistribution] | None = None,
    flip_safe: bool = False,
) -> list[dict[str, Any]]:
    """The :data:`KNOWN_GOOD` configurations of the family of ``factory`` that fit this
    study's space (a HOG pipeline takes the MLP ones with its own HOG setting), none for
    a declared ``space``; arguments as for :func:`suggest_params`."""
    if space is not None:
        return []
    context = space_context(pipeline, image_shape=image_shape, flip_safe=flip_safe)
    family = family_of(factory)
    configurations = KNOWN_GOOD.get(family.name.removeprefix("hog-"), ())
    extra = baseline_hog(pipeline) if family.name == "hog-mlp" else {}
    return [
        configuration | extra
        for configuration in configurations
        if all(in_space(name, value, context) for name, value in (configuration | extra).items())
    ]

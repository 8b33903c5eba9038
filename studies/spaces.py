"""Search spaces, one small function per family.

Each function takes an ``optuna.Trial`` and returns full pipeline parameter names ->
values, ready for ``pipeline.set_params(**params)`` on a benchmark pipeline. The
Optuna parameter names (``trial.params``) are kept short ("n_layers", "units_1",
"learning_rate") because they label study tables and plots.

Conditional parameters are sampled only where they apply (momentum only for SGD), and
only applicable keys are returned: Adam, for one, rejects a ``momentum`` argument.
"""

from __future__ import annotations

from typing import Any

import optuna
from sklearn.pipeline import Pipeline

from bench.errors import UsageError

ACTIVATIONS = ("relu", "tanh", "sigmoid", "scaled_tanh")
OPTIMIZERS = ("adam", "rmsprop", "sgd")
BATCH_SIZES = (32, 64, 128, 256, 512)
# Filters are categorical powers of two rather than an int range: they read better in
# tables and TPE treats each width as its own choice.
FILTERS = (8, 16, 32, 64)
KERNEL_SIZES = (3, 5)
HOG_CELL_SIZES = (4, 7, 8, 10)
FAMILIES = ("mlp", "hog-mlp", "cnn")


def search_space_mlp(trial: optuna.Trial) -> dict[str, Any]:
    """Sample an MLP topology.

    1-4 hidden layers of 16-1024 units each (log scale, one Optuna parameter
    ``units_k`` per existing layer), dropout 0-0.6, activation and batch norm.

    Parameters
    ----------
    trial : optuna.Trial

    Returns
    -------
    dict
        ``clf__hidden_layer_sizes`` (tuple), ``clf__dropout``, ``clf__activation``,
        ``clf__batch_norm``.
    """
    n_layers = trial.suggest_int("n_layers", 1, 4)
    units = tuple(
        trial.suggest_int(f"units_{k}", 16, 1024, log=True) for k in range(1, n_layers + 1)
    )
    return {
        "clf__hidden_layer_sizes": units,
        "clf__dropout": trial.suggest_float("dropout", 0.0, 0.6),
        "clf__activation": trial.suggest_categorical("activation", ACTIVATIONS),
        "clf__batch_norm": trial.suggest_categorical("batch_norm", (False, True)),
    }


def search_space_cnn(trial: optuna.Trial, image_shape: tuple[int, ...]) -> dict[str, Any]:
    """Sample a CNN topology that fits ``image_shape``.

    1-3 conv blocks, each with ``filters_k`` in (8, 16, 32, 64) and ``kernel_k`` 3 or
    5; one Dense head layer of 32-512 units (log scale); dropout 0-0.6. Pooling stays
    at the benchmark's 2 after every block.

    Parameters
    ----------
    trial : optuna.Trial
    image_shape : tuple of int
        ``(height, width)`` of the benchmark's images.

    Returns
    -------
    dict
        ``clf__filters``, ``clf__kernel_sizes``, ``clf__dense_layers`` (tuples) and
        ``clf__dropout``.
    """
    # 'same' padding keeps the size through each convolution and a pool of 2 floors it
    # by half, so n blocks need a side of at least 2**n: 8x8 digits go 8 -> 4 -> 2 -> 1
    # with 3 blocks, which still builds. The bound depends on image_shape only, which is
    # fixed per benchmark, so the range is the same for every trial of a study.
    max_blocks = max(1, min(3, min(image_shape[:2]).bit_length() - 1))
    n_blocks = trial.suggest_int("n_blocks", 1, max_blocks)
    blocks = range(1, n_blocks + 1)
    filters = tuple(trial.suggest_categorical(f"filters_{k}", FILTERS) for k in blocks)
    kernels = tuple(trial.suggest_categorical(f"kernel_{k}", KERNEL_SIZES) for k in blocks)
    return {
        "clf__filters": filters,
        "clf__kernel_sizes": kernels,
        "clf__dense_layers": (trial.suggest_int("dense_units", 32, 512, log=True),),
        "clf__dropout": trial.suggest_float("dropout", 0.0, 0.6),
    }


def search_space_hog(
    trial: optuna.Trial, image_shape: tuple[int, ...], *, cells_per_block: int = 1
) -> dict[str, Any]:
    """Sample HOG settings: orientations 4-14 and a cell size that fits the image.

    Parameters
    ----------
    trial : optuna.Trial
    image_shape : tuple of int
        ``(height, width)`` of the benchmark's images.
    cells_per_block : int, default=1
        The pipeline's (fixed) block size in cells; a block must fit in the image.

    Returns
    -------
    dict
        ``hog__orientations`` and ``hog__pixels_per_cell``.

    Raises
    ------
    UsageError
        If no cell size in (4, 7, 8, 10) fits the image.
    """
    # Cells need not tile the image exactly (7-pixel cells leave a 1-pixel border on
    # 8x8 digits), only one block must fit. A categorical's choices must be identical
    # for every trial of a study; they depend on image_shape only, fixed per benchmark.
    side = min(image_shape[:2])
    cells = tuple(size for size in HOG_CELL_SIZES if size * cells_per_block <= side)
    if not cells:
        raise UsageError(
            f"no HOG cell size in {HOG_CELL_SIZES} fits {image_shape} images with "
            f"cells_per_block={cells_per_block}; use larger images or smaller blocks."
        )
    return {
        "hog__orientations": trial.suggest_int("orientations", 4, 14),
        "hog__pixels_per_cell": trial.suggest_categorical("pixels_per_cell", cells),
    }


def search_space_optimizer(trial: optuna.Trial, max_epochs: int) -> dict[str, Any]:
    """Sample the optimizer and its training budget.

    Adam, RMSprop or SGD with a learning rate of 1e-4 to 1e-1 (log scale); SGD adds
    momentum 0-0.99 and Nesterov, RMSprop adds rho 0.8-0.99; batch size in
    (32, ..., 512); epochs from a third of ``max_epochs`` to ``max_epochs``.

    Parameters
    ----------
    trial : optuna.Trial
    max_epochs : int
        The epoch budget of one trial.

    Returns
    -------
    dict
        ``clf__optimizer``, ``clf__optimizer__learning_rate``, ``clf__batch_size``,
        ``clf__epochs`` and, only for the optimizer they belong to,
        ``clf__optimizer__momentum``, ``clf__optimizer__nesterov`` or
        ``clf__optimizer__rho``.
    """
    optimizer = trial.suggest_categorical("optimizer", OPTIMIZERS)
    params = {
        "clf__optimizer": optimizer,
        "clf__optimizer__learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True),
    }
    if optimizer == "sgd":
        params["clf__optimizer__momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
        params["clf__optimizer__nesterov"] = trial.suggest_categorical("nesterov", (False, True))
    elif optimizer == "rmsprop":
        params["clf__optimizer__rho"] = trial.suggest_float("rho", 0.8, 0.99)
    params["clf__batch_size"] = trial.suggest_categorical("batch_size", BATCH_SIZES)
    params["clf__epochs"] = trial.suggest_int("epochs", *epoch_range(max_epochs))
    return params


def epoch_range(max_epochs: int) -> tuple[int, int]:
    """Lowest and highest epochs a trial may train for.

    A trial trained for one or two epochs of a fifteen-epoch budget cannot win and
    tells the sampler little; the pruner already stops hopeless trials early.
    """
    return max(1, max_epochs // 3), max_epochs


def family_of(pipeline: Pipeline) -> str:
    """Name the search-space family of a benchmark pipeline.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        A benchmark pipeline whose final step is ``clf``.

    Returns
    -------
    str
        ``"cnn"``, ``"hog-mlp"`` (a ``hog`` step, then an MLP) or ``"mlp"``.

    Raises
    ------
    UsageError
        If the classifier has no search space.
    """
    from estimators import HOGTransformer, KerasCNNClassifier, KerasMLPClassifier

    classifier = pipeline.steps[-1][1]
    if isinstance(classifier, KerasCNNClassifier):
        return "cnn"
    if isinstance(classifier, KerasMLPClassifier):
        hog = pipeline.named_steps.get("hog")
        return "hog-mlp" if isinstance(hog, HOGTransformer) else "mlp"
    raise UsageError(
        f"no search space for a {type(classifier).__name__} pipeline; "
        f"studies support the families {', '.join(FAMILIES)}."
    )


def suggest_params(
    trial: optuna.Trial, pipeline: Pipeline, *, image_shape: tuple[int, ...], max_epochs: int
) -> dict[str, Any]:
    """Sample every searched parameter of ``pipeline``'s family.

    Parameters
    ----------
    trial : optuna.Trial
    pipeline : sklearn.pipeline.Pipeline
        The benchmark's unfitted pipeline (read only, never changed here).
    image_shape : tuple of int
        ``(height, width)`` of the benchmark's images.
    max_epochs : int
        The epoch budget of one trial.

    Returns
    -------
    dict
        The topology's, HOG's (``hog-mlp`` only) and the optimizer's parameters, for
        ``pipeline.set_params(**params)``.
    """
    family = family_of(pipeline)
    params = search_space_cnn(trial, image_shape) if family == "cnn" else search_space_mlp(trial)
    if family == "hog-mlp":
        block = pipeline.named_steps["hog"].cells_per_block
        # HOGTransformer takes an int or a (rows, cols) pair; the larger side must fit.
        block = max(block) if isinstance(block, tuple | list) else int(block)
        params |= search_space_hog(trial, image_shape, cells_per_block=block)
    return params | search_space_optimizer(trial, max_epochs)


# Keras' own defaults, which a benchmark inherits when it names only the optimizer.
KERAS_LEARNING_RATES = {"adam": 1e-3, "rmsprop": 1e-3, "sgd": 1e-2}


def baseline_params(pipeline: Pipeline, *, max_epochs: int) -> dict[str, Any]:
    """The benchmark's own configuration as Optuna parameters, for a study's first trial.

    Starting from the published configuration gives the sampler a known-good point and
    the study a baseline every trial is compared against. Values the space cannot hold
    (9 filters, say, when it offers 8, 16, 32, 64) are left out; Optuna samples those.

    Parameters
    ----------
    pipeline : sklearn.pipeline.Pipeline
        The benchmark's unfitted pipeline.
    max_epochs : int
        The epoch budget of one trial; the baseline's epochs are capped to it.

    Returns
    -------
    dict
        Optuna parameter names -> values, for ``study.enqueue_trial``.
    """
    family = family_of(pipeline)
    clf = pipeline.named_steps["clf"]
    params = _baseline_cnn(clf) if family == "cnn" else _baseline_mlp(clf)
    if family == "hog-mlp":
        hog = pipeline.named_steps["hog"]
        params |= {"orientations": hog.orientations, "pixels_per_cell": hog.pixels_per_cell}
    params |= _baseline_optimizer(clf, max_epochs)
    return {name: value for name, value in params.items() if _in_space(name, value)}


def _baseline_mlp(clf) -> dict[str, Any]:
    units = tuple(clf.hidden_layer_sizes)
    params = {f"units_{k}": size for k, size in enumerate(units, start=1)}
    return params | {
        "n_layers": len(units),
        "dropout": clf.dropout,
        "activation": clf.activation,
        "batch_norm": clf.batch_norm,
    }


def _baseline_cnn(clf) -> dict[str, Any]:
    filters = tuple(clf.filters)
    kernels = clf.kernel_sizes
    kernels = tuple(kernels) if isinstance(kernels, tuple | list) else (kernels,) * len(filters)
    params = {"n_blocks": len(filters), "dropout": clf.dropout}
    for k, (width, kernel) in enumerate(zip(filters, kernels, strict=True), start=1):
        params |= {f"filters_{k}": width, f"kernel_{k}": kernel}
    return params


def _baseline_optimizer(clf, max_epochs: int) -> dict[str, Any]:
    optimizer = clf.optimizer if isinstance(clf.optimizer, str) else None
    settings = clf.get_params()
    return {
        "optimizer": optimizer,
        "learning_rate": settings.get(
            "optimizer__learning_rate", KERAS_LEARNING_RATES.get(optimizer)
        ),
        "rho": settings.get("optimizer__rho", 0.9) if optimizer == "rmsprop" else None,
        "batch_size": clf.batch_size,
        "epochs": min(max(clf.epochs, epoch_range(max_epochs)[0]), max_epochs),
    }


def _in_space(name: str, value: Any) -> bool:
    """Whether ``value`` is one the space can sample for ``name``."""
    choices = {
        "activation": ACTIVATIONS,
        "batch_norm": (False, True),
        "optimizer": OPTIMIZERS,
        "batch_size": BATCH_SIZES,
        "pixels_per_cell": HOG_CELL_SIZES,
    }
    ranges = {
        "dropout": (0.0, 0.6),
        "learning_rate": (1e-4, 1e-1),
        "rho": (0.8, 0.99),
        "orientations": (4, 14),
        "dense_units": (32, 512),
    }
    if value is None:
        return False
    if name.startswith("filters_"):
        return value in FILTERS
    if name.startswith("kernel_"):
        return value in KERNEL_SIZES
    if name.startswith("units_"):
        return 16 <= value <= 1024
    if name in choices:
        return value in choices[name]
    low, high = ranges.get(name, (float("-inf"), float("inf")))
    return low <= value <= high

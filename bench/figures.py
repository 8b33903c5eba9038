"""Artifacts of a benchmark run: confusion matrices, reports, learning curves, model tables.

Every function here is pure: it takes predictions, a Keras ``History.history`` dict or a
built model and returns a table, a string or a matplotlib figure. Logging them is the
tracking package's job (``MlflowClient.log_figure`` renders the figures), so nothing
here imports ``mlflow``, prints, or writes files.

Labels are always integer indices into ``class_names`` (``0 .. k-1``), the way the
estimators in this project predict them; class names only appear in the outputs.

Figures are made as :class:`matplotlib.figure.Figure` objects rather than through
``pyplot``, so no global figure state is created and they are freed with their last
reference.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.metrics import (
    ConfusionMatrixDisplay,
    classification_report,
    confusion_matrix,
    f1_score,
)
from tabulate import tabulate

# Class labels: a list, or the arrays scikit-learn and Keras return.
Labels = Sequence[int] | np.ndarray

if TYPE_CHECKING:
    import keras

__all__ = [
    "pipeline_summary_text",
    "classification_report_text",
    "confusion_matrix_figure",
    "confusion_matrix_table",
    "feature_maps_figure",
    "filters_figure",
    "gradient_profile",
    "gradients_figure",
    "learning_curves_figure",
    "model_summary_text",
    "model_weight_counts",
    "most_confused_pairs",
    "per_class_f1",
    "seed_curves_figure",
]

_DPI = 120
# History keys of per-layer gradients (the classifiers' log_gradients=True).
GRADIENT_PREFIX = "grad_"
# Beyond this many classes the per-cell numbers become too small to read; the colours
# still show the structure.
_MAX_ANNOTATED_CLASSES = 25
# Markers make short runs (down to one epoch) visible; on long runs they only add clutter.
_MAX_EPOCHS_WITH_MARKERS = 30


def _check_labels(
    y_true: Any, y_pred: Any, class_names: Sequence[str]
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Return ``y_true``, ``y_pred`` as 1-D int arrays and ``class_names`` as a list."""
    names = [str(name) for name in class_names]
    if not names:
        raise ValueError("class_names is empty; pass one name per class.")
    if len(set(names)) != len(names):
        raise ValueError(f"class_names has duplicates: {names}; names must be unique.")

    arrays = []
    for what, y in (("y_true", y_true), ("y_pred", y_pred)):
        y = np.asarray(y)
        if y.ndim != 1:
            raise ValueError(
                f"{what} must be 1-D class indices, got shape {y.shape}; "
                "for one-hot or probability arrays pass argmax(axis=1)."
            )
        if y.dtype.kind == "f" and np.all(np.mod(y, 1) == 0):
            y = y.astype(np.int64)
        if y.dtype.kind not in "iu":
            raise ValueError(
                f"{what} must hold integer class indices into class_names, got dtype {y.dtype}."
            )
        if y.size and (y.min() < 0 or y.max() >= len(names)):
            raise ValueError(
                f"{what} has class indices outside 0..{len(names) - 1} "
                f"(min {y.min()}, max {y.max()}); there are {len(names)} class names."
            )
        arrays.append(y.astype(np.int64))
    y_true, y_pred = arrays
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true and y_pred differ in length ({y_true.size} vs {y_pred.size}).")
    if y_true.size == 0:
        raise ValueError("y_true and y_pred are empty; there is nothing to report on.")
    return y_true, y_pred, names


def confusion_matrix_table(
    y_true: Labels, y_pred: Labels, class_names: Sequence[str]
) -> pd.DataFrame:
    """Count predictions per (true class, predicted class).

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class indices into ``class_names``.
    class_names : sequence of str
        Name of each class, in index order.

    Returns
    -------
    pandas.DataFrame
        Integer counts, shape ``(k, k)``. Rows are true classes (index named ``"true"``),
        columns are predicted classes (columns named ``"predicted"``). Every class has a
        row and a column, including classes that never occur or are never predicted.
    """
    y_true, y_pred, names = _check_labels(y_true, y_pred, class_names)
    counts = confusion_matrix(y_true, y_pred, labels=np.arange(len(names)))
    return pd.DataFrame(
        counts,
        index=pd.Index(names, name="true"),
        columns=pd.Index(names, name="predicted"),
    )


def confusion_matrix_figure(
    y_true: Labels,
    y_pred: Labels,
    class_names: Sequence[str],
    *,
    title: str = "",
    normalize: bool = False,
) -> Figure:
    """Draw the confusion matrix with scikit-learn's ``ConfusionMatrixDisplay``.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class indices into ``class_names``.
    class_names : sequence of str
        Name of each class, in index order; used as tick labels.
    title : str, default=""
        Title above the matrix.
    normalize : bool, default=False
        If True, show each row as fractions of the true class's support (recall on the
        diagonal) instead of counts.

    Returns
    -------
    matplotlib.figure.Figure
        7 x 6 inches. Cells are annotated with their value when there are at most 25
        classes. Every class has a row and a column, including absent ones.
    """
    y_true, y_pred, names = _check_labels(y_true, y_pred, class_names)
    k = len(names)
    fig = Figure(figsize=(7, 6), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    display = ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=np.arange(k),
        display_labels=names,
        normalize="true" if normalize else None,
        values_format=".2f" if normalize else "d",
        include_values=k <= _MAX_ANNOTATED_CLASSES,
        xticks_rotation=45 if max(len(name) for name in names) > 3 else "horizontal",
        cmap="Blues",
        ax=ax,
        colorbar=True,
        text_kw={"fontsize": min(10.0, max(6.0, 90.0 / k))},
    )
    if normalize:
        display.im_.set_clim(0.0, 1.0)
    display.im_.colorbar.set_label("share of true class" if normalize else "count")
    for label in ax.get_xticklabels():
        # Anchored rotation keeps each label's end under its own column.
        label.set(ha="right" if label.get_rotation() else "center", rotation_mode="anchor")
    if title:
        ax.set_title(title)
    return fig


def classification_report_text(y_true: Labels, y_pred: Labels, class_names: Sequence[str]) -> str:
    """Per-class precision, recall, F1 and support as scikit-learn formats them.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class indices into ``class_names``.
    class_names : sequence of str
        Name of each class, in index order.

    Returns
    -------
    str
        :func:`sklearn.metrics.classification_report` with four digits. Every class is
        listed; undefined scores (a class never predicted or never present) are 0.
    """
    y_true, y_pred, names = _check_labels(y_true, y_pred, class_names)
    return classification_report(
        y_true,
        y_pred,
        labels=np.arange(len(names)),
        target_names=names,
        digits=4,
        zero_division=0,
    )


def per_class_f1(y_true: Labels, y_pred: Labels, class_names: Sequence[str]) -> dict[str, float]:
    """F1 score of each class.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class indices into ``class_names``.
    class_names : sequence of str
        Name of each class, in index order.

    Returns
    -------
    dict of str to float
        F1 keyed by class name, in class order; 0.0 where F1 is undefined.
    """
    y_true, y_pred, names = _check_labels(y_true, y_pred, class_names)
    scores = f1_score(y_true, y_pred, labels=np.arange(len(names)), average=None, zero_division=0)
    return {name: float(score) for name, score in zip(names, scores, strict=True)}


def most_confused_pairs(
    y_true: Labels,
    y_pred: Labels,
    class_names: Sequence[str],
    *,
    top: int = 10,
) -> pd.DataFrame:
    """The most frequent mistakes: (true class, predicted class) pairs off the diagonal.

    Parameters
    ----------
    y_true, y_pred : array-like of int, shape (n_samples,)
        True and predicted class indices into ``class_names``.
    class_names : sequence of str
        Name of each class, in index order.
    top : int, default=10
        Largest number of pairs to return.

    Returns
    -------
    pandas.DataFrame
        Columns ``true``, ``predicted`` (class names), ``count`` (int) and
        ``share_of_true`` (``count`` divided by the number of samples of the true class).
        Only pairs with ``count > 0``, sorted by ``count`` descending; ties keep class
        order (by true class, then predicted class). Empty if there are no mistakes.
    """
    if top < 0:
        raise ValueError(f"top must be >= 0, got {top}.")
    table = confusion_matrix_table(y_true, y_pred, class_names)
    counts = table.to_numpy()
    support = counts.sum(axis=1)
    true_idx, pred_idx = np.nonzero(counts)
    off_diagonal = true_idx != pred_idx
    true_idx, pred_idx = true_idx[off_diagonal], pred_idx[off_diagonal]
    pair_counts = counts[true_idx, pred_idx]
    # nonzero() yields pairs in class order, so a stable sort keeps that order for ties.
    order = np.argsort(-pair_counts, kind="stable")[:top]
    names = np.asarray(table.index, dtype=object)
    return pd.DataFrame(
        {
            "true": names[true_idx[order]],
            "predicted": names[pred_idx[order]],
            "count": pair_counts[order].astype(np.int64),
            "share_of_true": (pair_counts[order] / support[true_idx[order]]).astype(float),
        }
    )


def seed_curves_figure(
    curves: Mapping[Any, Sequence[tuple[int, float]]],
    *,
    metric: str = "val_accuracy",
    title: str = "",
) -> Figure:
    """One configuration's curve per seed, thin, and their mean per epoch, thick.

    Parameters
    ----------
    curves : mapping of str to sequence of (int, float)
        Seed -> ``(epoch, value)`` pairs, as MLflow keeps a metric's history.
    metric : str, default="val_accuracy"
        What the values are; the y axis's label.
    title : str, default=""

    Returns
    -------
    matplotlib.figure.Figure
        With several seeds, the mean at each epoch is over the seeds that reached it.
    """
    curves = {seed: points for seed, points in curves.items() if len(points)}
    if not curves:
        raise ValueError("curves has no points to plot; pass {seed: [(epoch, value), ...]}.")
    fig = Figure(figsize=(6, 3.6), dpi=_DPI, layout="constrained")
    ax = fig.subplots()
    by_epoch: dict[int, list[float]] = {}
    several = len(curves) > 1
    for seed, points in curves.items():
        epochs, values = zip(*sorted(points), strict=True)
        ax.plot(
            epochs,
            values,
            linewidth=0.8 if several else 1.8,
            alpha=0.6 if several else 1,
            label=f"seed {seed}",
        )
        for epoch, value in zip(epochs, values, strict=True):
            by_epoch.setdefault(epoch, []).append(value)
    if several:
        reached = sorted(by_epoch)
        ax.plot(
            reached,
            [np.mean(by_epoch[e]) for e in reached],
            color="black",
            linewidth=2.2,
            label=f"mean of {len(curves)} seeds",
        )
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small", ncols=2 if len(curves) > 6 else 1)
    if title:
        ax.set_title(title)
    return fig


def _metric_names(history: Mapping[str, Sequence[float]]) -> list[str]:
    """Base metric names in plotting order: loss first, then as they appear."""
    names: list[str] = []
    for key in history:
        if key.startswith(GRADIENT_PREFIX):  # per-layer gradients have their own figure
            continue
        name = key.removeprefix("val_")
        if name not in names:
            names.append(name)
    if "loss" in names:
        names.remove("loss")
        names.insert(0, "loss")
    return names


def learning_curves_figure(history: Mapping[str, Sequence[float]], *, title: str = "") -> Figure:
    """Plot training and validation curves per epoch, one panel per metric.

    Parameters
    ----------
    history : mapping of str to sequence of float
        A Keras ``History.history`` dict, e.g. ``{"loss": [...], "accuracy": [...],
        "val_loss": [...], "val_accuracy": [...]}``. Each metric ``x`` gets a panel with
        ``x`` as the training curve and ``val_x`` (if present) as the validation curve.
        ``loss`` comes first, then the other metrics in the order they appear.
    title : str, default=""
        Title above all panels.

    Returns
    -------
    matplotlib.figure.Figure
        Panels side by side (three per row at most), epochs on the x axis starting at 1.
    """
    names = _metric_names(history)
    if not names or not any(len(values) for values in history.values()):
        raise ValueError(
            "history has no values to plot; pass a Keras History.history dict "
            "such as {'loss': [...], 'val_loss': [...]}."
        )

    ncols = min(len(names), 3)
    nrows = math.ceil(len(names) / ncols)
    fig = Figure(figsize=(5 * ncols, 4 * nrows), dpi=_DPI, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, name in zip(axes, names, strict=False):
        n_epochs = 0
        for key, label in ((name, "training"), (f"val_{name}", "validation")):
            values = np.asarray(history.get(key, []), dtype=float)
            if values.size == 0:
                continue
            n_epochs = max(n_epochs, values.size)
            epochs = np.arange(1, values.size + 1)
            marker = "o" if values.size <= _MAX_EPOCHS_WITH_MARKERS else None
            ax.plot(epochs, values, marker=marker, markersize=4, label=label)
        ax.set_title(name)
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        # Fixed half-epoch margins: with one epoch matplotlib's automatic range is a
        # sliver around 1.0 where the integer locator finds no tick.
        ax.set_xlim(0.5, max(n_epochs, 1) + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))
        ax.grid(True, alpha=0.3)
        ax.legend()
    for ax in axes[len(names) :]:
        ax.set_visible(False)
    if title:
        fig.suptitle(title)
    return fig


def _format_shape(output: Any) -> str:
    """Format a (possibly nested) layer output as Keras shows shapes: ``(None, 14, 14, 9)``."""
    if isinstance(output, Mapping):
        return "{" + ", ".join(f"{k}: {_format_shape(v)}" for k, v in output.items()) + "}"
    if isinstance(output, list | tuple):
        return "[" + ", ".join(_format_shape(o) for o in output) + "]"
    return "(" + ", ".join(str(d) for d in output.shape) + ")"


def _output_shape(layer: keras.Layer) -> str:
    try:
        output = layer.output
    except AttributeError:
        # Layers of subclassed models are called eagerly and keep no symbolic output.
        return "?"
    return _format_shape(output)


def _count(weights: Sequence[Any]) -> int:
    return int(sum(math.prod(w.shape) for w in weights))


def model_weight_counts(model: keras.Model) -> dict[str, Any]:
    """Count a built Keras model's weights, in total and per layer.

    Parameters
    ----------
    model : keras.Model
        A built model (Sequential, functional or subclassed). Nested models count as one
        layer holding all their weights.

    Returns
    -------
    dict
        ``{"total": int, "trainable": int, "non_trainable": int, "layers": [...]}`` where
        each layer is ``{"name", "type", "output_shape", "trainable", "non_trainable"}``;
        ``type`` is the layer's class name and ``output_shape`` a string such as
        ``"(None, 14, 14, 9)"``, or ``"?"`` when the model keeps no symbolic outputs.
        Totals count shared weights once, so they can be less than the sum over layers.
    """
    if not model.built:
        raise ValueError(
            f"model {model.name!r} is not built, so it has no weights to count; "
            "start it with keras.Input(...) or call model.build(input_shape) first."
        )
    layers = [
        {
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": _output_shape(layer),
            "trainable": _count(layer.trainable_weights),
            "non_trainable": _count(layer.non_trainable_weights),
        }
        for layer in model.layers
    ]
    trainable = _count(model.trainable_weights)
    non_trainable = _count(model.non_trainable_weights)
    return {
        "total": trainable + non_trainable,
        "trainable": trainable,
        "non_trainable": non_trainable,
        "layers": layers,
    }


def model_summary_text(model: keras.Model) -> str:
    """A plain-text table of a built Keras model's layers and weight counts.

    Parameters
    ----------
    model : keras.Model
        A built model; see :func:`model_weight_counts`.

    Returns
    -------
    str
        One row per layer (name, type, output shape, trainable and non-trainable weight
        counts) followed by ``"Total weights: N (trainable T, non-trainable U)"``. No
        colours or box-drawing characters, so it reads the same in any viewer.
    """
    counts = model_weight_counts(model)
    header = ("layer", "type", "output shape", "trainable", "non-trainable")
    rows = [
        (
            layer["name"],
            layer["type"],
            layer["output_shape"],
            str(layer["trainable"]),
            str(layer["non_trainable"]),
        )
        for layer in counts["layers"]
    ]
    layers = tabulate(
        rows,
        headers=header,
        tablefmt="simple",
        disable_numparse=True,
        colalign=("left", "left", "left", "right", "right"),
    )
    total = (
        f"Total weights: {counts['total']} (trainable {counts['trainable']}, "
        f"non-trainable {counts['non_trainable']})"
    )
    return f"{layers}\n{total}\n"


def pipeline_summary_text(pipeline, n_stored: int) -> str:
    """A baseline's counterpart of :func:`model_summary_text`: each step with its
    settings, and how many numbers the fitted classifier stores to predict."""
    steps = [f"{name}: {step!r}" for name, step in pipeline.steps]
    return "\n".join([*steps, f"Numbers stored by the classifier: {n_stored}"]) + "\n"


# --- what a network learned: gradients per layer, filters, feature maps -----------------


def gradient_metrics(history: Mapping[str, Sequence[float]]) -> dict[str, list[float]]:
    """The per-layer gradient curves in a history (``grad_<layer>_kernel`` ...)."""
    return {key: list(values) for key, values in history.items() if key.startswith(GRADIENT_PREFIX)}


def gradient_profile(history: Mapping[str, Sequence[float]], epoch: int = -1) -> list[float]:
    """Mean absolute gradient of each layer's weights (kernels), input side first, at
    ``epoch`` (default: the last)."""
    kernels = [key for key in gradient_metrics(history) if key.endswith("_kernel")]
    return [float(history[key][epoch]) for key in kernels]


def gradients_figure(history: Mapping[str, Sequence[float]], *, title: str = "") -> Figure:
    """Gradient magnitude against layer index, one line per epoch, log scale.

    Parameters
    ----------
    history : mapping of str to sequence of float
        A Keras history holding ``grad_<layer>_kernel`` curves (the classifiers'
        ``log_gradients=True``), in layer order.

    Returns
    -------
    matplotlib.figure.Figure
        Vanishing gradients show as lines falling towards the input layers.
    """
    kernels = [key for key in gradient_metrics(history) if key.endswith("_kernel")]
    if not kernels:
        raise ValueError("history has no grad_*_kernel curves; fit with log_gradients=True.")
    epochs = len(history[kernels[0]])
    fig = Figure(figsize=(8, 5), dpi=_DPI, layout="constrained")
    ax = fig.add_subplot()
    layers = np.arange(1, len(kernels) + 1)
    colours = _epoch_colours(epochs)
    for epoch in range(epochs):
        profile = [max(float(history[key][epoch]), 1e-30) for key in kernels]
        ax.plot(
            layers,
            profile,
            marker="o",
            markersize=3,
            color=colours[epoch],
            label=f"epoch {epoch + 1}",
        )
    ax.set_yscale("log")
    ax.set_xlabel("layer (input side first)")
    ax.set_ylabel("mean |gradient| of the layer's weights")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    ax.set_title(title or "Gradients per layer")
    return fig


def _epoch_colours(epochs: int):
    from matplotlib import colormaps

    return colormaps["viridis"](np.linspace(0.0, 0.85, max(epochs, 1)))


def filters_figure(kernels: np.ndarray, *, title: str = "") -> Figure:
    """The first convolution's kernels as small images.

    Parameters
    ----------
    kernels : ndarray of shape (height, width, channels, filters)
        A Conv2D kernel as Keras stores it. One channel is shown in grey, three as
        colour; each kernel is scaled to its own range.
    """
    kernels = np.asarray(kernels, dtype=float)
    _, _, channels, count = kernels.shape
    columns = min(count, 8)
    rows = math.ceil(count / columns)
    fig = Figure(figsize=(1.2 * columns, 1.2 * rows + 0.4), dpi=_DPI, layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for index, ax in enumerate(axes):
        ax.set_axis_off()
        if index >= count:
            continue
        kernel = kernels[..., index]
        low, high = kernel.min(), kernel.max()
        scaled = (kernel - low) / (high - low) if high > low else np.zeros_like(kernel)
        if channels == 3:
            ax.imshow(scaled, interpolation="nearest")
        else:
            ax.imshow(scaled[..., 0], cmap="gray", interpolation="nearest")
        ax.set_title(str(index + 1), fontsize=7)
    fig.suptitle(title or "Filters of the first convolution")
    return fig


def feature_maps_figure(
    image: np.ndarray,
    maps: Sequence[tuple[str, np.ndarray]],
    *,
    per_layer: int = 8,
    title: str = "",
) -> Figure:
    """One image beside the activations of each convolution for it.

    Parameters
    ----------
    image : ndarray of shape (height, width) or (height, width, 3)
    maps : sequence of (layer name, ndarray of shape (height, width, filters))
        Each convolution's output for the image, input side first.
    per_layer : int, default=8
        Feature maps shown per convolution (the first ones).
    """
    rows = len(maps)
    fig = Figure(figsize=(1.3 * (per_layer + 1), 1.4 * max(rows, 1) + 0.4), dpi=_DPI)
    grid = fig.add_gridspec(max(rows, 1), per_layer + 1)
    ax = fig.add_subplot(grid[:, 0])
    ax.imshow(image, cmap=None if np.ndim(image) == 3 else "gray", interpolation="nearest")
    ax.set_title("image", fontsize=8)
    ax.set_axis_off()
    for row, (name, activations) in enumerate(maps):
        for column in range(min(per_layer, activations.shape[-1])):
            ax = fig.add_subplot(grid[row, column + 1])
            ax.imshow(activations[..., column], cmap="viridis", interpolation="nearest")
            ax.set_axis_off()
            if column == 0:
                ax.set_title(name, fontsize=7, loc="left")
    fig.suptitle(title or "Feature maps of each convolution")
    return fig

import io

import keras
import numpy as np
import pytest
from matplotlib.image import imread
from sklearn.metrics import f1_score

from bench.data.catalog import FASHION_MNIST
from bench.figures import (
    classification_report_text,
    confusion_matrix_figure,
    confusion_matrix_table,
    learning_curves_figure,
    model_summary_text,
    model_weight_counts,
    most_confused_pairs,
    per_class_f1,
    seed_curves_figure,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Built so every cell is known: class 0 -> {0, 1}, class 1 -> {1, 1}, class 2 -> {0, 2};
# class 3 never occurs and is never predicted.
Y_TRUE = [0, 0, 1, 1, 2, 2]
Y_PRED = [0, 1, 1, 1, 0, 2]
NAMES = ["cat", "dog", "bird", "fish"]

FASHION_NAMES = list(FASHION_MNIST.class_names)


def rendered(figure):
    """The figure as the PNG that MLflow's log_figure saves (Figure.savefig), decoded."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    data = buffer.getvalue()
    assert data.startswith(PNG_SIGNATURE)
    return imread(io.BytesIO(data), format="png")


def test_confusion_matrix_table_rows_are_true_columns_are_predicted():
    table = confusion_matrix_table(Y_TRUE, Y_PRED, NAMES)

    assert table.shape == (4, 4)
    expected = [
        [1, 1, 0, 0],
        [0, 2, 0, 0],
        [1, 0, 1, 0],
        [0, 0, 0, 0],
    ]
    np.testing.assert_array_equal(table.to_numpy(), expected)
    assert list(table.index) == NAMES
    assert list(table.columns) == NAMES
    assert table.index.name == "true"
    assert table.columns.name == "predicted"
    # Orientation: the bird predicted as cat sits in row "bird", column "cat".
    assert table.loc["bird", "cat"] == 1
    assert table.loc["cat", "bird"] == 0


def test_confusion_matrix_table_keeps_classes_never_predicted():
    table = confusion_matrix_table([0, 1, 2], [0, 0, 0], ["a", "b", "c"])

    assert list(table.columns) == ["a", "b", "c"]
    assert table["b"].sum() == 0
    assert table["c"].sum() == 0
    assert table.to_numpy().sum() == 3


def test_labels_must_be_indices_into_class_names():
    with pytest.raises(ValueError, match="outside 0..3"):
        confusion_matrix_table([0, 4], [0, 1], NAMES)
    with pytest.raises(ValueError, match="integer class indices"):
        confusion_matrix_table(["cat", "dog"], ["cat", "cat"], NAMES)
    with pytest.raises(ValueError, match="argmax"):
        confusion_matrix_table(np.eye(4), np.eye(4), NAMES)
    with pytest.raises(ValueError, match="differ in length"):
        confusion_matrix_table([0, 1], [0], NAMES)
    with pytest.raises(ValueError, match="duplicates"):
        confusion_matrix_table([0], [0], ["a", "a"])


def test_float_labels_with_integer_values_are_accepted():
    table = confusion_matrix_table(np.array([0.0, 1.0]), np.array([1.0, 1.0]), ["a", "b"])

    np.testing.assert_array_equal(table.to_numpy(), [[0, 1], [0, 1]])


def test_per_class_f1_matches_sklearn_and_is_keyed_by_name():
    scores = per_class_f1(Y_TRUE, Y_PRED, NAMES)

    expected = f1_score(Y_TRUE, Y_PRED, labels=[0, 1, 2, 3], average=None, zero_division=0)
    assert list(scores) == NAMES
    np.testing.assert_allclose(list(scores.values()), expected)
    # By hand: cat P=1/2 R=1/2; dog P=2/3 R=1; bird P=1 R=1/2; fish undefined -> 0.
    assert scores == pytest.approx({"cat": 0.5, "dog": 0.8, "bird": 2 / 3, "fish": 0.0})


def test_classification_report_text_lists_every_class_with_four_digits():
    text = classification_report_text(Y_TRUE, Y_PRED, NAMES)

    for name in NAMES:
        assert name in text
    assert "0.8000" in text  # dog's F1
    assert "accuracy" in text


def test_most_confused_pairs_sorted_by_count_with_share_of_true():
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [1, 1, 2, 0, 0, 1, 1, 0, 0, 0]

    pairs = most_confused_pairs(y_true, y_pred, ["a", "b", "c"])

    assert list(pairs.columns) == ["true", "predicted", "count", "share_of_true"]
    # c->a 3 of 3, a->b 2 of 4, then ties of 1 in class order: a->c, b->a.
    assert list(zip(pairs["true"], pairs["predicted"], strict=True)) == [
        ("c", "a"),
        ("a", "b"),
        ("a", "c"),
        ("b", "a"),
    ]
    assert list(pairs["count"]) == [3, 2, 1, 1]
    np.testing.assert_allclose(pairs["share_of_true"], [1.0, 0.5, 0.25, 1 / 3])


def test_most_confused_pairs_respects_top_and_skips_correct_predictions():
    y_true = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2]
    y_pred = [1, 1, 2, 0, 0, 1, 1, 0, 0, 0]

    pairs = most_confused_pairs(y_true, y_pred, ["a", "b", "c"], top=2)
    assert len(pairs) == 2
    assert list(pairs["count"]) == [3, 2]

    perfect = most_confused_pairs([0, 1, 2], [0, 1, 2], ["a", "b", "c"])
    assert perfect.empty
    assert list(perfect.columns) == ["true", "predicted", "count", "share_of_true"]


@pytest.mark.parametrize("normalize", [False, True])
def test_confusion_matrix_figure_is_a_png_of_about_7_by_6_inches(normalize):
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 10, 300)
    y_pred = np.where(rng.random(300) < 0.7, y_true, rng.integers(0, 10, 300))

    image = rendered(
        confusion_matrix_figure(
            y_true, y_pred, FASHION_NAMES, title="fashion test", normalize=normalize
        )
    )

    height, width = image.shape[:2]
    assert (width, height) == (7 * 120, 6 * 120)
    # Not blank: a heatmap has many distinct colours.
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 20


def test_confusion_matrix_figure_handles_a_class_absent_from_y_true():
    figure = confusion_matrix_figure(Y_TRUE, Y_PRED, NAMES, normalize=True)
    image = rendered(figure)

    assert not np.isnan(image).any()
    # The absent class's row reads 0.00 in every cell, not nan.
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert "nan" not in texts and texts[-4:] == ["0.00"] * 4


def test_confusion_matrix_figure_counts_every_cell():
    figure = confusion_matrix_figure(Y_TRUE, Y_PRED, NAMES)
    texts = [text.get_text() for text in figure.axes[0].texts]
    assert texts == ["1", "1", "0", "0", "0", "2", "0", "0", "1", "0", "1", "0"] + ["0"] * 4


HISTORY = {
    "loss": [1.2, 0.8, 0.6],
    "accuracy": [0.5, 0.7, 0.8],
    "val_loss": [1.3, 0.9, 0.8],
    "val_accuracy": [0.45, 0.65, 0.7],
}


@pytest.mark.parametrize(
    "history",
    [
        HISTORY,
        {"loss": HISTORY["loss"], "accuracy": HISTORY["accuracy"]},
        {"loss": [0.7], "accuracy": [0.6], "val_loss": [0.8], "val_accuracy": [0.55]},
    ],
    ids=["with-validation", "without-validation", "single-epoch"],
)
def test_learning_curves_figure_two_panels_side_by_side(history):
    image = rendered(learning_curves_figure(history, title="run"))

    height, width = image.shape[:2]
    assert width > height  # panels side by side, not stacked


def test_learning_curves_figure_adds_a_panel_per_extra_metric():
    two = rendered(learning_curves_figure(HISTORY))
    three = rendered(
        learning_curves_figure({**HISTORY, "auc": [0.6, 0.7, 0.8], "val_auc": [0.5, 0.6, 0.7]})
    )

    assert three.shape[1] > two.shape[1]


def test_learning_curves_figure_rejects_an_empty_history():
    with pytest.raises(ValueError, match="no values"):
        learning_curves_figure({})


@pytest.fixture
def small_cnn():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(9, 5, padding="same", name="conv"),
            keras.layers.BatchNormalization(name="norm"),
            keras.layers.MaxPooling2D(name="pool"),
            keras.layers.Flatten(name="flatten"),
            keras.layers.Dense(10, name="logits"),
        ]
    )


def test_model_weight_counts_by_hand(small_cnn):
    counts = model_weight_counts(small_cnn)

    conv = 5 * 5 * 1 * 9 + 9  # kernel + bias = 234
    norm_trainable = 2 * 9  # gamma, beta
    norm_non_trainable = 2 * 9  # moving mean, moving variance
    dense = 14 * 14 * 9 * 10 + 10  # 1764 inputs after 2x2 pooling = 17650
    assert counts["layers"] == [
        {
            "name": "conv",
            "type": "Conv2D",
            "output_shape": "(None, 28, 28, 9)",
            "trainable": conv,
            "non_trainable": 0,
        },
        {
            "name": "norm",
            "type": "BatchNormalization",
            "output_shape": "(None, 28, 28, 9)",
            "trainable": norm_trainable,
            "non_trainable": norm_non_trainable,
        },
        {
            "name": "pool",
            "type": "MaxPooling2D",
            "output_shape": "(None, 14, 14, 9)",
            "trainable": 0,
            "non_trainable": 0,
        },
        {
            "name": "flatten",
            "type": "Flatten",
            "output_shape": "(None, 1764)",
            "trainable": 0,
            "non_trainable": 0,
        },
        {
            "name": "logits",
            "type": "Dense",
            "output_shape": "(None, 10)",
            "trainable": dense,
            "non_trainable": 0,
        },
    ]
    assert counts["trainable"] == conv + norm_trainable + dense
    assert counts["non_trainable"] == norm_non_trainable
    assert counts["total"] == conv + norm_trainable + norm_non_trainable + dense


def test_model_weight_counts_follow_frozen_layers(small_cnn):
    small_cnn.get_layer("logits").trainable = False

    counts = model_weight_counts(small_cnn)

    assert counts["layers"][-1]["trainable"] == 0
    assert counts["layers"][-1]["non_trainable"] == 17650
    assert counts["trainable"] == 234 + 18


def test_model_summary_text_has_a_row_per_layer_and_the_totals(small_cnn):
    text = model_summary_text(small_cnn)
    lines = text.splitlines()

    # 234 (conv) + 18 (norm) + 17650 (dense) trainable, 18 (norm moving stats) not.
    assert lines[-1] == "Total weights: 17920 (trainable 17902, non-trainable 18)"
    conv_row = next(line for line in lines if line.startswith("conv "))
    assert conv_row.split() == ["conv", "Conv2D", "(None,", "28,", "28,", "9)", "234", "0"]
    for name in ["norm", "pool", "flatten", "logits"]:
        assert any(line.startswith(name + " ") for line in lines)
    assert "\x1b" not in text  # no terminal colour codes


def test_model_weight_counts_on_a_functional_model_with_a_shared_layer():
    shared = keras.layers.Dense(3, name="shared")
    left, right = keras.Input((4,), name="left"), keras.Input((4,), name="right")
    outputs = keras.layers.Add(name="add")([shared(left), shared(right)])
    model = keras.Model([left, right], outputs)

    counts = model_weight_counts(model)

    names = [layer["name"] for layer in counts["layers"]]
    assert names == ["left", "right", "shared", "add"]
    assert counts["layers"][0]["type"] == "InputLayer"
    # The shared Dense is counted once: 4 * 3 + 3.
    assert counts["total"] == counts["trainable"] == 15
    assert "Total weights: 15 (trainable 15, non-trainable 0)" in model_summary_text(model)


def test_model_weight_counts_needs_a_built_model():
    model = keras.Sequential([keras.layers.Dense(3)])

    with pytest.raises(ValueError, match="not built"):
        model_weight_counts(model)


def test_seed_curves_are_thin_lines_per_seed_and_their_mean_per_epoch():
    curves = {"0": [(1, 0.5), (2, 0.7), (3, 0.8)], "1": [(2, 0.9), (1, 0.7)]}
    figure = seed_curves_figure(curves, metric="val_accuracy")
    (ax,) = figure.axes
    *seeds, mean = ax.get_lines()
    assert [line.get_label() for line in seeds] == ["seed 0", "seed 1"]
    assert list(seeds[1].get_xdata()) == [1, 2]  # in epoch order
    assert mean.get_label() == "mean of 2 seeds"
    assert np.allclose(mean.get_ydata(), [0.6, 0.8, 0.8])  # epoch 3: only seed 0 reached it
    assert mean.get_linewidth() > max(line.get_linewidth() for line in seeds)
    assert ax.get_ylabel() == "val_accuracy"


def test_one_seed_is_one_line_without_a_mean():
    (ax,) = seed_curves_figure({"7": [(1, 0.5), (2, 0.6)]}).axes
    assert [line.get_label() for line in ax.get_lines()] == ["seed 7"]
    with pytest.raises(ValueError, match="no points"):
        seed_curves_figure({"7": []})

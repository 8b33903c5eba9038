"""Pipeline factories: pure functions of their parameters returning unfitted pipelines.

They import the estimators (and so Keras) when called, not when this module is
imported, so that looking a benchmark up by name answers a typo at once. The final
step of every pipeline is the classifier, named ``clf``.
"""

from __future__ import annotations

from sklearn.pipeline import Pipeline


def mlp_pipeline(*, pixel_max: float = 255.0, **classifier_params) -> Pipeline:
    """Raw pixels scaled to [0, 1], then an MLP."""
    from estimators import KerasMLPClassifier, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("clf", KerasMLPClassifier(**classifier_params)),
        ]
    )


def hog_mlp_pipeline(
    *,
    pixel_max: float = 255.0,
    orientations: int = 8,
    pixels_per_cell: int = 4,
    cells_per_block: int = 1,
    block_norm: str = "L2-Hys",
    **classifier_params,
) -> Pipeline:
    """HOG features of the raw image, then an MLP (HOG is scale-invariant per block)."""
    from estimators import HOGTransformer, KerasMLPClassifier

    del pixel_max  # block normalisation makes the pixel range irrelevant
    hog = HOGTransformer(
        orientations=orientations,
        pixels_per_cell=pixels_per_cell,
        cells_per_block=cells_per_block,
        block_norm=block_norm,
    )
    return Pipeline([("hog", hog), ("clf", KerasMLPClassifier(**classifier_params))])


def cnn_pipeline(*, pixel_max: float = 255.0, **classifier_params) -> Pipeline:
    """Pixels scaled to [0, 1], then a CNN on the image."""
    from estimators import KerasCNNClassifier, PixelScaler

    return Pipeline(
        [
            ("scale", PixelScaler(max_value=pixel_max)),
            ("clf", KerasCNNClassifier(**classifier_params)),
        ]
    )

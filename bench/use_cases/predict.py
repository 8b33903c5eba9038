"""``bench predict``: a logged model classifies the user's own pictures. No printing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.data.image_decoding import Tally, fit_image
from bench.images import ImageStyle, image_style, preprocess, read_image
from bench.tracking.artifacts import load_run_model

# MNIST's frame: below it a picture keeps too little to be worth the user's surprise.
_MNIST_SIDE = 28
_SIZES_NAMED = 3  # pictures whose size a notice names; more are counted


@dataclass(frozen=True)
class Prediction:
    """One picture's classification.

    Attributes
    ----------
    image : str
        The file, as given.
    prediction : str
        The class the model predicts.
    probabilities : dict of str to float or None
        Class name -> probability, most probable first; None for a classifier that
        gives no probabilities (an SVC).
    scores : dict of str to float or None
        Class name -> decision score (higher: more likely; not a probability), highest
        first, when the classifier gives no probabilities but scores; else None.
    """

    image: str
    prediction: str
    probabilities: dict[str, float] | None = None
    scores: dict[str, float] | None = None

    def top(self, count: int = 3) -> list[tuple[str, float]]:
        """The ``count`` likeliest classes with their probabilities (or scores)."""
        ranked = self.probabilities if self.probabilities is not None else self.scores
        return list((ranked or {}).items())[:count]


@dataclass(frozen=True)
class Predictions:
    """What ``bench predict`` answers.

    Attributes
    ----------
    pictures : list of Prediction
        One per picture, in the order given.
    notice : str or None
        What preparing the pictures cost them, when the user would not expect it (a
        photo shrunk to the 8x8 of scikit-learn's digits); None otherwise.
    """

    pictures: list[Prediction]
    notice: str | None = None


def predict_images(
    run_id: str, paths: Sequence[str], *, save_preprocessed: str | Path | None = None
) -> Predictions:
    """Classify the pictures at ``paths`` with the model run ``run_id`` logged.

    Each picture is prepared as the model's training images were (see
    :mod:`bench.images`), or, for a model trained on the user's own images, fitted to
    its input as they were (:func:`bench.data.image_decoding.fit_image`); with
    ``save_preprocessed``, what the model saw is written there as PNG files, one per
    picture.

    Raises
    ------
    UsageError
        A file that is not an image, a run that does not exist or has no model.
    """
    pictures = [read_image(path) for path in paths]  # a bad file fails before the model loads
    pipeline, facts = load_run_model(run_id)
    if facts.user_images:  # fitted to the input as load_user_data fitted its images
        style = None
        images = np.stack([fit_image(picture, facts.image_shape, Tally()) for picture in pictures])
    else:  # prepared as the dataset's images were (MNIST's framing, ...)
        style = image_style(facts.dataset, facts.image_shape, facts.pixel_max)
        images = np.stack([preprocess(picture, style) for picture in pictures])
    if save_preprocessed is not None:
        _save(images, paths, Path(save_preprocessed), facts.pixel_max)
    names = [facts.class_names[int(label)] for label in pipeline[-1].classes_]
    labels = [facts.class_names[int(label)] for label in pipeline.predict(images)]
    kind, rows = _ranking(pipeline, images, len(names))
    found = [
        _prediction(str(path), label, row, names, kind)
        for path, label, row in zip(paths, labels, rows, strict=True)
    ]
    sizes = {str(path): picture.size for path, picture in zip(paths, pictures, strict=True)}
    return Predictions(found, _shrink_notice(sizes, style) if style else None)


def _ranking(pipeline, images: np.ndarray, n_classes: int) -> tuple[str | None, list]:
    """``("probabilities", rows)``, or ``("scores", rows)`` for a classifier without
    probabilities (an SVC's decision function), or ``(None, [None, ...])`` for one with
    neither: one row per image, one value per class of ``classes_``."""
    if hasattr(pipeline, "predict_proba"):
        # scikeras answers one sample with a 1-D row: keep one row per picture.
        return "probabilities", list(np.atleast_2d(pipeline.predict_proba(images)))
    if not hasattr(pipeline, "decision_function"):
        return None, [None] * len(images)
    scores = np.asarray(pipeline.decision_function(images), dtype=float)
    if scores.ndim == 1 and n_classes == 2:  # one column, positive for the second class
        scores = np.column_stack([-scores, scores])
    return "scores", list(np.atleast_2d(scores))


def _prediction(path: str, label: str, row, names: list[str], kind: str | None) -> Prediction:
    if kind is None:
        return Prediction(image=path, prediction=label)
    order = np.argsort(-row, kind="stable")
    ranked = {names[i]: float(row[i]) for i in order}
    return Prediction(image=path, prediction=label, **{kind: ranked})


def _shrink_notice(sizes: dict[str, tuple[int, int]], style: ImageStyle) -> str | None:
    """One line on what a frame smaller than MNIST's loses, for the pictures larger
    than it; None when there is none."""
    height, width = style.shape[:2]
    if height >= _MNIST_SIDE and width >= _MNIST_SIDE:
        return None
    shrunk = {path: size for path, size in sizes.items() if size[0] > width or size[1] > height}
    if not shrunk:
        return None
    named = [f"{path} ({w}x{h})" for path, (w, h) in list(shrunk.items())[:_SIZES_NAMED]]
    if len(shrunk) > _SIZES_NAMED:
        named.append(f"{len(shrunk) - _SIZES_NAMED} more")
    levels = int(style.pixel_max) + 1
    verb = "was" if len(shrunk) == 1 else "were"
    return (
        f"{', '.join(named)} {verb} reduced to {width}x{height}, the size of this model's "
        f"training images: {width * height} pixels in {levels} grey levels keep only the "
        "rough shape, so a photo loses most of its detail (models trained on "
        f"{_MNIST_SIDE}x{_MNIST_SIDE} MNIST see {_MNIST_SIDE**2} pixels in 256 levels)"
    )


def _save(images: np.ndarray, paths: Sequence[str], folder: Path, pixel_max: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for image, path in zip(images, paths, strict=True):
        scaled = np.uint8(np.round(image.astype(float) * (255.0 / pixel_max)))
        Image.fromarray(scaled).save(folder / f"{Path(path).stem}.png")

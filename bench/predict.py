"""``bench predict``: a logged model classifies the user's own pictures. No printing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bench.images import image_style, preprocess, read_image
from bench.tracking.artifacts import load_run_model


@dataclass(frozen=True)
class Prediction:
    """One picture's classification.

    Attributes
    ----------
    image : str
        The file, as given.
    prediction : str
        The most probable class's name.
    probabilities : dict of str to float
        Class name -> probability, most probable first.
    """

    image: str
    prediction: str
    probabilities: dict[str, float]

    def top(self, count: int = 3) -> list[tuple[str, float]]:
        """The ``count`` most probable classes and their probabilities."""
        return list(self.probabilities.items())[:count]


def predict_images(
    run_id: str, paths: Sequence[str], *, save_preprocessed: str | Path | None = None
) -> list[Prediction]:
    """Classify the pictures at ``paths`` with the model run ``run_id`` logged.

    Each picture is prepared as the model's training images were (see
    :mod:`bench.images`); with ``save_preprocessed``, what the model saw is written
    there as PNG files, one per picture.

    Raises
    ------
    UsageError
        A file that is not an image, a run that does not exist or has no model.
    """
    pictures = [read_image(path) for path in paths]  # a bad file fails before the model loads
    pipeline, facts = load_run_model(run_id)
    style = image_style(facts.dataset, facts.image_shape, facts.pixel_max)
    images = np.stack([preprocess(picture, style) for picture in pictures])
    if save_preprocessed is not None:
        _save(images, paths, Path(save_preprocessed), facts.pixel_max)
    # scikeras answers one sample with a 1-D row: keep one row per picture.
    probabilities = np.atleast_2d(pipeline.predict_proba(images))
    names = [facts.class_names[int(label)] for label in pipeline[-1].classes_]
    return [_prediction(path, row, names) for path, row in zip(paths, probabilities, strict=True)]


def _prediction(path: str, row: np.ndarray, names: list[str]) -> Prediction:
    order = np.argsort(-row, kind="stable")
    return Prediction(
        image=str(path),
        prediction=names[order[0]],
        probabilities={names[i]: float(row[i]) for i in order},
    )


def _save(images: np.ndarray, paths: Sequence[str], folder: Path, pixel_max: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for image, path in zip(images, paths, strict=True):
        scaled = np.uint8(np.round(image.astype(float) * (255.0 / pixel_max)))
        Image.fromarray(scaled).save(folder / f"{Path(path).stem}.png")

"""A user's own pictures as a model's training images looked: photos or scans of any
size, colour or grey, dark ink on light paper or the reverse.

For models trained on MNIST-like digits this is MNIST's own preprocessing: grey, ink
made bright on a dark background, cropped to the ink, the longer side scaled to 20 of
28 pixels, and centred by centre of mass in the 28x28 frame (LeCun et al.). Clothing
(Fashion-MNIST) and scikit-learn's 8x8 digits, whose digits span the whole frame's
height, are cropped and scaled to fill the frame instead. Colour models (32x32) get
the picture resized. Nothing here loads a model or prints.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import UsageError

# Share of the frame the object's longer side takes: MNIST's 20 of 28 pixels.
_DIGIT_BOX = 20 / 28
# Datasets whose objects fill the frame: Fashion-MNIST's clothes, and load_digits'
# digits, 8 pixels tall in their 8x8 (a 6-pixel digit in MNIST's box reads as another).
_FILLS_THE_FRAME = ("fashion-mnist", "digits")
_INK_THRESHOLD = 0.2  # of the brightest ink, after inversion: what counts as the object


@dataclass(frozen=True)
class ImageStyle:
    """How a model's training images look.

    Parameters
    ----------
    shape : tuple of int
        ``(height, width)`` or ``(height, width, 3)``.
    pixel_max : float
        The largest pixel value of the training images (255, or 16 for digits).
    box : float or None
        For grey images of one object on a plain background: the share of the frame
        the object's longer side takes, and the object is centred by its centre of
        mass. None: the picture is only resized.
    """

    shape: tuple[int, ...]
    pixel_max: float = 255.0
    box: float | None = None


def image_style(dataset: str, shape, pixel_max: float) -> ImageStyle:
    """The :class:`ImageStyle` of a model trained on ``dataset``."""
    shape = tuple(int(side) for side in shape)
    if len(shape) == 3:  # colour photographs: resize only
        return ImageStyle(shape, pixel_max, None)
    box = 1.0 if dataset in _FILLS_THE_FRAME else _DIGIT_BOX
    return ImageStyle(shape, pixel_max, box)


def read_image(path: str | Path) -> Image.Image:
    """The picture at ``path``, fully decoded.

    Raises
    ------
    UsageError
        If the file is missing or is not an image PIL can read (PNG, JPEG, ...).
    """
    try:
        with Image.open(path) as image:
            image.load()
            return image.copy()
    except FileNotFoundError:
        raise UsageError(f"no image file {path}") from None
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise UsageError(f"cannot read {path} as an image (PNG, JPEG, ...): {error}") from None


def preprocess(image: Image.Image, style: ImageStyle) -> np.ndarray:
    """``image`` as the model's training images: uint8 of ``style.shape``, pixels in
    ``0..style.pixel_max``."""
    if style.box is None:
        height, width = style.shape[:2]
        resized = image.convert("RGB").resize((width, height), Image.Resampling.LANCZOS)
        return _to_range(np.asarray(resized, dtype=float) / 255.0, style.pixel_max)
    ink = bright_ink(image)
    framed = _framed(ink, (style.shape[0], style.shape[1]), style.box)
    return _to_range(framed, style.pixel_max)


def bright_ink(image: Image.Image) -> np.ndarray:
    """The picture in grey, values 0..1, with the object bright on a dark background:
    a picture whose border is mostly light (ink on paper) is inverted."""
    grey = np.asarray(image.convert("L"), dtype=float) / 255.0
    border = np.concatenate([grey[0], grey[-1], grey[:, 0], grey[:, -1]])
    ink = 1.0 - grey if np.median(border) > 0.5 else grey
    background = np.median(np.concatenate([ink[0], ink[-1], ink[:, 0], ink[:, -1]]))
    # Paper is rarely pure white: what is no brighter than it is background.
    return np.clip((ink - background) / max(1.0 - background, 1e-6), 0.0, 1.0)


def _framed(ink: np.ndarray, frame: tuple[int, int], box: float) -> np.ndarray:
    """Crop to the object, scale its longer side to ``box`` of the frame, and centre it
    by its centre of mass (MNIST's way) in a frame of ``frame`` pixels."""
    if not ink.max() > 0:
        return np.zeros(frame)
    rows, columns = np.nonzero(ink > _INK_THRESHOLD * ink.max())
    if not len(rows):
        return np.zeros(frame)
    cropped = ink[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    longest = max(1, round(max(frame) * box))
    scale = longest / max(cropped.shape)
    size = (max(1, round(cropped.shape[1] * scale)), max(1, round(cropped.shape[0] * scale)))
    picture = Image.fromarray(np.uint8(np.round(cropped * 255)), mode="L")
    small = np.asarray(picture.resize(size, Image.Resampling.LANCZOS), dtype=float) / 255.0
    canvas = np.zeros(frame)
    top, left = (frame[0] - small.shape[0]) // 2, (frame[1] - small.shape[1]) // 2
    canvas[top : top + small.shape[0], left : left + small.shape[1]] = small
    return _centred_by_mass(canvas)


def _centred_by_mass(canvas: np.ndarray) -> np.ndarray:
    total = canvas.sum()
    if not total:
        return canvas
    rows, columns = np.indices(canvas.shape)
    centre = ((rows * canvas).sum() / total, (columns * canvas).sum() / total)
    shift = [round((side - 1) / 2 - c) for side, c in zip(canvas.shape, centre, strict=True)]
    shifted = np.zeros_like(canvas)
    source = [
        slice(max(0, -s), side - max(0, s)) for s, side in zip(shift, canvas.shape, strict=True)
    ]
    target = [
        slice(max(0, s), side - max(0, -s)) for s, side in zip(shift, canvas.shape, strict=True)
    ]
    shifted[tuple(target)] = canvas[tuple(source)]
    return shifted


def _to_range(values: np.ndarray, pixel_max: float) -> np.ndarray:
    return np.clip(np.round(values * pixel_max), 0, min(pixel_max, 255)).astype(np.uint8)

"""Decoding a user's image files into a network's input: uint8 arrays of one shape.

Each image is read with Pillow, made grey or colour (RGB) as the network expects and
resized with Lanczos filtering, as :mod:`bench.images` prepares a picture for a trained
model. What had to change is counted, so that the caller can say so in a line
(:func:`conversion_notes`) rather than change a user's data silently. Many files are
decoded in worker processes, in chunks, as tiny images cost more to open than to decode.
"""

from __future__ import annotations

import multiprocessing
import struct
import sys
import threading
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from bench.errors import CorruptDataError
from bench.runtime.backend import usable_cores

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff")
IMAGE_FORMATS = "PNG, JPEG, BMP, GIF, TIFF"
# Below this many files the pool's start-up (about a second) costs more than it saves.
PARALLEL_MIN_FILES = 2000
CHUNK_FILES = 1000

Progress = Callable[[int, int], None]
"""``progress(images_done, images_total)``, called as images are decoded."""

# What Pillow raises for a file that is not a whole, readable image.
_UNREADABLE = (
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    struct.error,
    zlib.error,
    Image.DecompressionBombError,
)
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N"})
_SIXTEEN_BIT_MODES = frozenset({"I", "I;16", "I;16L", "I;16B", "I;16N"})
_ALPHA_MODES = frozenset({"RGBA", "RGBa", "LA", "La", "PA"})

# The kinds of change counted in a tally.
RESIZED = "resized"
TO_GREY = "to grey"
TO_COLOUR = "to colour"
ALPHA_DROPPED = "alpha dropped"
SIXTEEN_BIT = "16-bit"


@dataclass
class Tally:
    """How many images each change was made to; ``sizes`` counts the resized images
    by their original (width, height)."""

    changes: Counter[str] = field(default_factory=Counter)
    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.changes.update(other.changes)
        self.sizes.update(other.sizes)


def fit_image(image: Image.Image, shape: tuple[int, ...], tally: Tally) -> np.ndarray:
    """``image`` as a uint8 array of ``shape``: (height, width) grey or (height, width,
    3) RGB, counting in ``tally`` what had to change.

    Raises
    ------
    ValueError
        If Pillow cannot convert the image's mode (a floating-point TIFF, say).
    """
    colour = len(shape) == 3
    if image.mode == "F":
        raise ValueError("floating-point pixels (mode F); save it with 8-bit pixels")
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        tally.changes[ALPHA_DROPPED] += 1
    if image.mode in _SIXTEEN_BIT_MODES:
        # Pillow clips 16-bit values at 255 when converting; scale them instead.
        values = np.asarray(image, dtype=np.float64) / 257.0
        image = Image.fromarray(np.clip(np.round(values), 0, 255).astype(np.uint8))
        tally.changes[SIXTEEN_BIT] += 1
    grey = image.mode in _GREY_MODES
    if colour and grey:
        tally.changes[TO_COLOUR] += 1
    elif not colour and not grey:
        tally.changes[TO_GREY] += 1
    if not grey and image.mode != "RGB":
        image = image.convert("RGB")  # palette, CMYK, YCbCr: by way of RGB
    image = image.convert("RGB" if colour else "L")
    height, width = shape[:2]
    if image.size != (width, height):
        tally.changes[RESIZED] += 1
        tally.sizes[image.size] += 1
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return np.asarray(image, dtype=np.uint8)


def fit_arrays(images: np.ndarray, shape: tuple[int, ...]) -> tuple[np.ndarray, Tally]:
    """Images already in arrays (n, height, width) grey or (n, height, width, 3 or 4)
    colour, uint8, fitted to ``shape`` one by one as :func:`fit_image` fits a file's."""
    tally = Tally()
    if images.shape[1:] == tuple(shape):
        return images, tally
    fitted = np.empty((len(images), *shape), dtype=np.uint8)
    for index, image in enumerate(images):
        fitted[index] = fit_image(Image.fromarray(image), shape, tally)
    return fitted, tally


def decode_images(
    paths: Sequence[Path], shape: tuple[int, ...], progress: Progress | None = None
) -> tuple[np.ndarray, Tally]:
    """Read the image files ``paths``, in order, fitted to ``shape``.

    Parameters
    ----------
    paths : sequence of pathlib.Path
        PNG, JPEG, BMP, GIF or TIFF files of any size and mode.
    shape : tuple of int
        ``(height, width)`` for grey images, ``(height, width, 3)`` for RGB.
    progress : callable, optional
        ``progress(images_done, images_total)`` after each chunk of files.

    Returns
    -------
    numpy.ndarray
        uint8 of shape ``(len(paths), *shape)``.
    Tally
        What had to change; see :func:`conversion_notes`.

    Raises
    ------
    CorruptDataError
        Naming the first file, in order, that is not a whole image Pillow can read.
    """
    chunks = [paths[start : start + CHUNK_FILES] for start in range(0, len(paths), CHUNK_FILES)]
    images = np.empty((len(paths), *shape), dtype=np.uint8)
    tally = Tally()
    workers = min(usable_cores(), len(chunks))
    if len(paths) < PARALLEL_MIN_FILES or workers < 2:
        decoded: Iterable[_Chunk] = (_decode_chunk(chunk, shape) for chunk in chunks)
        _gather(decoded, images, tally, len(paths), progress)
        return images, tally
    with ProcessPoolExecutor(workers, mp_context=worker_context()) as pool:
        futures = [pool.submit(_decode_chunk, chunk, shape) for chunk in chunks]
        try:
            _gather((future.result() for future in futures), images, tally, len(paths), progress)
        finally:
            # After a bad file (or Ctrl-C) the chunks not started are not needed.
            pool.shutdown(cancel_futures=True)
    return images, tally


def worker_context() -> multiprocessing.context.BaseContext:
    """How to start worker processes: forked, at once, from a process that runs no other
    threads; otherwise from a fork server, since forking a process while TensorFlow's
    (or another library's) threads hold locks can hang the child. The fork server starts
    workers as ``spawn`` does, which cannot re-import a script read from standard input."""
    threaded = threading.active_count() > 1 or any(
        library in sys.modules for library in ("tensorflow", "torch", "jax")
    )
    if threaded or "fork" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("forkserver")
    return multiprocessing.get_context("fork")


def conversion_notes(tally: Tally, shape: tuple[int, ...]) -> list[str]:
    """One line for each kind of change in ``tally``, e.g. ``"resized 1,234 images
    from 64x64 to 28x28"``; sizes are width x height."""
    changes = tally.changes
    notes = []
    if changes[SIXTEEN_BIT]:
        notes.append(f"scaled {_images(changes[SIXTEEN_BIT], '16-bit')} to 8 bits")
    if changes[ALPHA_DROPPED]:
        notes.append(f"dropped the transparency (alpha) of {_images(changes[ALPHA_DROPPED])}")
    if changes[TO_GREY]:
        notes.append(f"converted {_images(changes[TO_GREY], 'colour')} to grey")
    if changes[TO_COLOUR]:
        notes.append(f"converted {_images(changes[TO_COLOUR], 'grey')} to colour (RGB)")
    if changes[RESIZED]:
        notes.append(_resized_note(tally.sizes, changes[RESIZED], shape))
    return notes


def _resized_note(sizes: Counter[tuple[int, int]], count: int, shape: tuple[int, ...]) -> str:
    target = _size((shape[1], shape[0]))
    if len(sizes) == 1:
        return f"resized {_images(count)} from {_size(next(iter(sizes)))} to {target}"
    by_area = sorted(sizes, key=lambda size: (size[0] * size[1], size))
    if len(sizes) <= 3:
        parts = ", ".join(f"{sizes[size]:,} from {_size(size)}" for size in by_area)
        return f"resized {_images(count)} to {target}: {parts}"
    return (
        f"resized {_images(count)} of {len(sizes)} sizes, from {_size(by_area[0])} "
        f"to {_size(by_area[-1])}, to {target}"
    )


def _images(count: int, kind: str = "") -> str:
    words = f"{kind} image" if kind else "image"
    return f"{count:,} {words}{'' if count == 1 else 's'}"


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@dataclass
class _Chunk:
    """A chunk's images, or the first file it could not read and why."""

    images: np.ndarray
    tally: Tally
    error: str | None = None


def _decode_chunk(paths: Sequence[Path], shape: tuple[int, ...]) -> _Chunk:
    images = np.empty((len(paths), *shape), dtype=np.uint8)
    tally = Tally()
    for index, path in enumerate(paths):
        try:
            with Image.open(path) as image:
                image.load()
                images[index] = fit_image(image, shape, tally)
        except UnidentifiedImageError:
            return _Chunk(images, tally, f"{path} is not an image Pillow can read")
        except _UNREADABLE as error:
            return _Chunk(images, tally, f"{path} cannot be read as an image: {error}")
    return _Chunk(images, tally)


def _gather(
    chunks: Iterable[_Chunk],
    images: np.ndarray,
    tally: Tally,
    total: int,
    progress: Progress | None,
) -> None:
    done = 0
    for chunk in chunks:
        if chunk.error is not None:
            raise CorruptDataError(
                f"{chunk.error}; images must be whole {IMAGE_FORMATS} files: replace or remove it"
            )
        images[done : done + len(chunk.images)] = chunk.images
        tally.add(chunk.tally)
        done += len(chunk.images)
        if progress is not None:
            progress(done, total)

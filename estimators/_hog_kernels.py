"""The numeric kernels of :class:`estimators.hog.HOGTransformer`: HOG features of a
batch of grayscale images with NumPy, equal image by image to
:func:`skimage.feature.hog` (``feature_vector=True``).

The estimator checks its parameters and input, lays the cells out in a
:class:`Geometry` and calls :func:`hog_of_images`; everything else here is private
to that call.

Matching scikit-image needs its details, taken from ``_hog.py`` and the Cython
``_hoghistogram.pyx`` of scikit-image 0.26:

* gradients are central differences in the image's float type (float32 for
  float16/float32 images, float64 otherwise), zero on the image border;
* a pixel's orientation is ``rad2deg(arctan2(g_row, g_col)) % 180`` and it votes
  its whole magnitude into the one bin ``i`` with
  ``180. / n * i <= orientation < 180. / n * (i + 1)`` (doubles); a pixel in no
  bin (an orientation that rounds to 180) votes nowhere;
* a cell's pixels are added one by one, in row-major order, into a C ``float``,
  which is then divided by the pixels per cell in single precision;
* pixels right of or below the last whole cell are ignored;
* blocks are normalised in float64 with ``eps = 1e-5``.

Cells of up to 16 pixels (4x4 on MNIST) are summed exactly as scikit-image sums
them, which costs one vectorised step per pixel of a cell; larger cells are summed
in float32 in the same order, from magnitudes rounded to float32 first, which puts
the features within about 1e-7 of scikit-image's instead of 1e-15.

What makes the batch code fast, on MNIST (where scikit-image's own cost is mostly
per call, 45 to 650 microseconds an image, so the largest cells leave the least
time):

* pixels with a zero gradient are skipped (three quarters of an MNIST digit), and
  pixels below and right of the last whole cell (a third of the image with 10x10
  cells) are never differentiated;
* integer images look their orientation bins up in a table, built once per process
  and setting (it takes as long as a thousand images), instead of calling arctan2;
* each step is a pass over a flat array, which NumPy runs several times faster than
  the same work over short rows (an image row, a cell, a block), and batches are
  sized so that the arrays of one batch stay within a few MiB (the CPU caches) and
  within the output's size;
* cells summed in float32 need no reordering of the pixels: one ``np.add.at`` over
  the batch in image order replaces one step per pixel of a cell.

``bench perf hog`` measures it against scikit-image on MNIST.
"""

from __future__ import annotations

import functools
import itertools
import math
from dataclasses import dataclass

import numpy as np

_EPS = 1e-5  # scikit-image's _hog_normalize_block
_HYS_CLIP = 0.2
# Integer images whose values span at most this look their orientation bins up
# in a table of every possible gradient instead of calling arctan2 per pixel.
_MAX_LOOKUP_SPAN = 255
# A gradient code is g_row * 512 + g_col, in [-130815, 130815]; tables indexed by
# code have 2 ** 18 entries, the negative codes at the end.
_CODE_BITS = 9
_CODE_HALF = 2 ** (_CODE_BITS - 1)
_TABLE_SIZE = 2 ** (2 * _CODE_BITS)
# Cells of up to this many pixels are summed exactly as scikit-image sums them, one
# vectorised step per pixel of a cell; see _cell_histograms.
_EXACT_MAX_CELL_PIXELS = 16
# Temporaries of a batch, measured with tracemalloc on MNIST (images where every
# pixel has a gradient take about twice as much), per pixel of integer images summed
# exactly or in image order (see hog_of_images), of float images, and per cell and
# orientation; they size the default batches.
_POSITION_MAJOR_PIXEL_BYTES = 24
_IMAGE_ORDER_PIXEL_BYTES = 17
_FLOAT_PIXEL_BYTES = 40
_HISTOGRAM_BYTES = 12
# The most temporaries per batch: larger batches are no faster, as they spill the
# CPU caches.
_MAX_BATCH_BYTES = 4 * 2**20
# Features normalised at once: these stay in the CPU cache between passes.
_NORMALIZE_BYTES = 2**19

# (slot, magnitude, step bounds) of the votes of a batch: see _slotted_votes.
_Votes = tuple[np.ndarray, np.ndarray, np.ndarray | None]


@dataclass(frozen=True)
class Geometry:
    """Cells, blocks and feature count for one image shape and one setting.

    Properties are cached: each batch reads them a few dozen times.
    """

    orientations: int
    cell: tuple[int, int]
    block: tuple[int, int]
    image_shape: tuple[int, int]

    @functools.cached_property
    def n_cells(self) -> tuple[int, int]:
        return (self.image_shape[0] // self.cell[0], self.image_shape[1] // self.cell[1])

    @functools.cached_property
    def n_blocks(self) -> tuple[int, int]:
        return (self.n_cells[0] - self.block[0] + 1, self.n_cells[1] - self.block[1] + 1)

    @functools.cached_property
    def covered_shape(self) -> tuple[int, int]:
        """Rows and columns covered by whole cells; the rest never votes."""
        return (self.n_cells[0] * self.cell[0], self.n_cells[1] * self.cell[1])

    @functools.cached_property
    def n_features(self) -> int:
        return int(np.prod(self.n_blocks) * np.prod(self.block) * self.orientations)

    @functools.cached_property
    def cells_per_image(self) -> int:
        return self.n_cells[0] * self.n_cells[1]

    @functools.cached_property
    def halo_shape(self) -> tuple[int, int]:
        """Rows and columns whose pixels change a histogram: the covered ones and, for
        their gradients, one more of each where the image has it."""
        rows, cols = self.covered_shape
        return (min(rows + 1, self.image_shape[0]), min(cols + 1, self.image_shape[1]))


def hog_of_images(
    images: np.ndarray,
    geometry: Geometry,
    block_norm: str,
    transform_sqrt: bool,
    batch_size: int | None,
) -> np.ndarray:
    """HOG features of (n_images, height, width) images, one batch at a time.

    The arguments are checked already: finite real pixels, non-negative ones for
    ``transform_sqrt``, a geometry where a block fits, a block norm of scikit-image's
    and ``batch_size`` None (a cache-sized batch) or a count. Returns
    (n_images, ``geometry.n_features``), float32 for float16/float32 images and
    float64 otherwise.
    """
    float_dtype = np.float32 if images.dtype in (np.float16, np.float32) else np.float64
    table = None
    if images.dtype.kind in "biu" and not transform_sqrt:
        low, high = int(images.min()), int(images.max())
        if _GradientTable.fits(high - low, geometry.orientations):
            table = _GradientTable(low, _table_bins(geometry.orientations))
    features = np.empty((len(images), geometry.n_features), dtype=float_dtype)
    if batch_size is None:
        batch_size = _default_batch_size(geometry, features, integer_table=table is not None)
    batch_size = min(batch_size, len(images))
    # Cells summed exactly need their pixels in position-major order; the others are
    # summed in image order, each pixel's slot looked up in this map.
    slot_map = None if _sums_exactly(geometry) else _slot_map(geometry, batch_size)
    for start in range(0, len(images), batch_size):
        batch = _covered_with_halo(images[start : start + batch_size], geometry)
        slots = None if slot_map is None else slot_map[: len(batch)]
        if table is None:
            batch = batch.astype(float_dtype)
            if transform_sqrt:
                np.sqrt(batch, out=batch)
            votes = _float_votes(batch, geometry, slots)
        else:
            votes = _table_votes(batch, geometry, table, slots)
        histograms = _cell_histograms(*votes, geometry, len(batch))
        _normalize_blocks(histograms, geometry, block_norm, features[start : start + len(batch)])
    return features


def _default_batch_size(geometry: Geometry, features: np.ndarray, integer_table: bool) -> int:
    """Images per batch: temporaries within the output's size and a cache-sized working set.

    Keeping the temporaries of one batch below the size of the whole output keeps the
    peak memory within twice the output; beyond a few MiB, larger batches only add
    cache misses.
    """
    if not integer_table:
        pixel_bytes = _FLOAT_PIXEL_BYTES
    elif _sums_exactly(geometry):
        pixel_bytes = _POSITION_MAJOR_PIXEL_BYTES
    else:
        pixel_bytes = _IMAGE_ORDER_PIXEL_BYTES
    per_image = pixel_bytes * math.prod(geometry.halo_shape)
    per_image += _HISTOGRAM_BYTES * geometry.cells_per_image * geometry.orientations
    budget = min(_MAX_BATCH_BYTES, features.nbytes)
    # Normalising holds two copies of the features of at most _NORMALIZE_BYTES of
    # them: large feature vectors must not shrink the batch.
    feature_bytes = 2 * features.itemsize * geometry.n_features
    batch = budget // (per_image + feature_bytes)
    if batch * feature_bytes > 2 * _NORMALIZE_BYTES:
        batch = (budget - 2 * _NORMALIZE_BYTES) // per_image
    return max(1, batch)


def _covered_with_halo(images: np.ndarray, geometry: Geometry) -> np.ndarray:
    """The rows and columns whole cells cover, and one more of each where the image
    has it: the neighbours of the last covered pixels. Farther pixels never matter."""
    rows, cols = geometry.halo_shape
    return images[:, :rows, :cols]


@dataclass(frozen=True)
class _GradientTable:
    """Orientation bin of every gradient of an integer image, looked up by gradient code.

    Integer pixels within 255 of each other have integer gradients in [-255, 255],
    coded in an int32 as ``g_row * 512 + g_col`` (:func:`_gradient_codes`), a
    negative code indexing the table from its end as NumPy does. Looking bins up
    is exact (the table is built with scikit-image's expressions) and several
    times faster than arctan2; one byte per code keeps the table (256 KiB) in the
    CPU cache, and both gradients, hence the magnitude, are decoded from the code.
    """

    low: int
    bins: np.ndarray  # uint8, indexed by code

    @staticmethod
    def fits(span: int, orientations: int) -> bool:
        return span <= _MAX_LOOKUP_SPAN and orientations < 256

    def shift(self, images: np.ndarray) -> np.ndarray:
        """The images as contiguous int32, where gradient codes cannot overflow."""
        if images.dtype.itemsize <= 2:  # gradients of 16-bit pixels within 255 fit
            return images.astype(np.int32)
        shifted: np.ndarray = images - images.dtype.type(self.low)
        return shifted.astype(np.int32)


@functools.lru_cache(maxsize=16)
def _table_bins(orientations: int) -> np.ndarray:
    """Orientation bin of every gradient code, built once per process and setting.

    Building takes a few milliseconds, as long as transforming a thousand images, so
    a transformer fitted once and used on many batches builds it once.
    """
    codes = _table_codes()
    g_row = (codes + _CODE_HALF) >> _CODE_BITS
    g_col = codes - (g_row << _CODE_BITS)
    # Integer gradients are never within an ulp of 180 degrees, so every one has a bin.
    bins = _orientation_bins(g_row.astype(np.float64), g_col.astype(np.float64), orientations)
    bins = bins.astype(np.uint8)
    bins.flags.writeable = False
    return bins


def _table_codes() -> np.ndarray:
    """The gradient code of every table index: negative codes index from the end."""
    codes = np.arange(_TABLE_SIZE)
    codes[_TABLE_SIZE // 2 :] -= _TABLE_SIZE
    return codes


def _to_position_major(pixels: np.ndarray, geometry: Geometry) -> np.ndarray:
    """Copy (n, height, width) pixels to (cell row, cell col, image, cell), flat.

    Only pixels covered by whole cells are kept. Flattened, the pixels at one
    position within their cells form one contiguous run, and the runs come in
    the row-major order in which scikit-image adds a cell's pixels.
    """
    (cell_rows, cell_cols), (n_rows, n_cols) = geometry.cell, geometry.n_cells
    rows, cols = geometry.covered_shape
    n_images = len(pixels)
    # Two transpositions, the first moving whole rows, are twice as fast as one.
    rows_first = pixels[:, :rows, :cols].reshape(n_images, n_rows, cell_rows, cols)
    rows_first = np.ascontiguousarray(rows_first.transpose(2, 0, 1, 3))
    grid = rows_first.reshape(cell_rows, n_images * n_rows, n_cols, cell_cols)
    return np.ascontiguousarray(grid.transpose(0, 3, 1, 2)).ravel()


def _gradients(images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row and column gradients of (n, height, width) images, as ``_hog_channel_gradient``.

    Central differences in the images' dtype, zero on the image border.
    """
    flat = images.ravel()
    return _row_differences(flat, images.shape), _column_differences(flat, images.shape)


def _row_differences(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image[r + 1] - image[r - 1]`` of flattened (n, height, width) images, zero
    on the first and last rows.

    One pass over the flattened batch is several times faster than over
    (n, rows, cols) slices; the differences that wrap round an image are on the
    border, which is zeroed afterwards.
    """
    width = shape[2]
    out = np.empty_like(flat)
    np.subtract(flat[2 * width :], flat[: -2 * width], out=out[width:-width])
    grid = out.reshape(shape)
    grid[:, 0] = 0
    grid[:, -1] = 0
    return grid


def _column_differences(flat: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """``image[:, c + 1] - image[:, c - 1]`` of flattened (n, height, width) images,
    zero on the first and last columns; see :func:`_row_differences`."""
    out = np.empty_like(flat)
    np.subtract(flat[2:], flat[:-2], out=out[1:-1])
    grid = out.reshape(shape)
    grid[:, :, 0] = 0
    grid[:, :, -1] = 0
    return grid


def _float_votes(images: np.ndarray, geometry: Geometry, slot_map: np.ndarray | None) -> _Votes:
    """(slot, magnitude, step bounds) of every moving pixel: see :func:`_slotted_votes`.

    Pixels with a zero gradient add nothing to any histogram, so only the others
    (about a quarter of the pixels of an MNIST digit) are binned. A pixel in no
    bin votes zero into bin 0, which leaves the sums as they are.
    """
    g_row, g_col = (_in_vote_order(g, geometry, slot_map) for g in _gradients(images))
    moving = g_row != 0
    moving |= g_col != 0
    position = np.flatnonzero(moving)
    g_row = g_row.take(position).astype(np.float64, copy=False)
    g_col = g_col.take(position).astype(np.float64, copy=False)
    bins = _orientation_bins(g_row, g_col, geometry.orientations)
    magnitude = _magnitude(g_row, g_col)
    nowhere = bins == geometry.orientations
    bins[nowhere] = 0
    magnitude[nowhere] = 0.0
    return _slotted_votes(position, bins, magnitude, geometry, len(images), slot_map)


def _table_votes(
    images: np.ndarray, geometry: Geometry, table: _GradientTable, slot_map: np.ndarray | None
) -> _Votes:
    """Like :func:`_float_votes`, for integer images, through a :class:`_GradientTable`."""
    # Nested calls free each stage's array as soon as the next one has it.
    codes = _in_vote_order(_gradient_codes(table.shift(images)), geometry, slot_map)
    position = np.flatnonzero(codes != 0)  # ten times faster on booleans than on ints
    fields = codes.take(position)
    del codes
    # Indexing is several times faster than ``take`` with a table.
    bins = table.bins[fields]
    # Float32 sums (image order) take float32 magnitudes.
    magnitude = _code_magnitudes(fields, np.float64 if slot_map is None else np.float32)
    return _slotted_votes(position, bins, magnitude, geometry, len(images), slot_map)


def _in_vote_order(
    pixels: np.ndarray, geometry: Geometry, slot_map: np.ndarray | None
) -> np.ndarray:
    """(n, height, width) pixel values flattened in the order the votes are summed.

    Position-major (:func:`_to_position_major`) without a slot map; otherwise image
    order, each cell's pixels in row-major order as scikit-image adds them, with
    the neighbours right of and below the cells zeroed, so that they do not vote.
    """
    if slot_map is None:
        return _to_position_major(pixels, geometry)
    rows, cols = geometry.covered_shape
    pixels[:, rows:] = 0
    pixels[:, :, cols:] = 0
    return pixels.ravel()


def _slotted_votes(
    position: np.ndarray,
    bins: np.ndarray,
    magnitude: np.ndarray,
    geometry: Geometry,
    n_images: int,
    slot_map: np.ndarray | None,
) -> _Votes:
    """(slot, magnitude, step bounds) of the votes at ``position`` in vote order.

    A vote goes to slot ``cell * orientations + bin`` of :func:`_cell_histograms`'
    sums. In image order the slot map gives ``cell * orientations``, and there
    are no steps. In position-major order a vote at index ``step * n_cells +
    cell`` is in step ``step``, whose votes are ``bounds[step]:bounds[step + 1]``.
    """
    if slot_map is not None:
        slots = slot_map.ravel().take(position)
        slots += bins
        return slots, magnitude, None
    n_cells = n_images * geometry.cells_per_image
    cell_pixels = math.prod(geometry.cell)
    bounds = np.searchsorted(position, np.arange(cell_pixels + 1) * n_cells)
    slots = position  # no longer needed as positions
    slots -= np.repeat(np.arange(cell_pixels) * n_cells, np.diff(bounds))
    slots *= geometry.orientations
    slots += bins
    return slots, magnitude, bounds


def _slot_map(geometry: Geometry, n_images: int) -> np.ndarray:
    """The slot of every pixel of a batch of :func:`_covered_with_halo` images:
    ``(image * cells per image + cell) * orientations``, where its cell's histogram
    starts in :func:`_cell_histograms`' sums (pixels outside whole cells never vote).

    Built once per transform, it replaces divisions per vote by one lookup.
    """
    (cell_rows, cell_cols), (n_rows, n_cols) = geometry.cell, geometry.n_cells
    rows, cols = geometry.covered_shape
    orientations = geometry.orientations
    per_image = geometry.cells_per_image * orientations
    dtype = np.int32 if n_images * per_image < 2**31 else np.int64
    image_map = np.zeros(geometry.halo_shape, dtype=dtype)
    cells = image_map[:rows, :cols].reshape(n_rows, cell_rows, n_cols, cell_cols)
    cells[...] = np.arange(0, per_image, orientations, dtype=dtype).reshape(n_rows, 1, n_cols, 1)
    starts = np.arange(0, n_images * per_image, per_image, dtype=dtype)
    return image_map + starts[:, None, None]


def _code_magnitudes(fields: np.ndarray, dtype: type[np.floating] = np.float64) -> np.ndarray:
    """Gradient magnitudes of int32 gradient codes, decoded in place with shifts and masks.

    As fast as a table of magnitudes, which would push other data out of the CPU cache.
    """
    fields += _CODE_HALF  # g_row * 512 + (g_col + 256), with g_col + 256 in [1, 511]
    g_row = fields >> _CODE_BITS
    g_col = fields  # no longer needed as a whole
    g_col &= 2 * _CODE_HALF - 1
    g_col -= _CODE_HALF
    g_row *= g_row
    g_col *= g_col
    g_row += g_col
    # Integer squares are exact, so the magnitude is rounded once, like hypot's.
    magnitude = g_row.astype(dtype)
    return np.sqrt(magnitude, out=magnitude)


def _gradient_codes(images: np.ndarray) -> np.ndarray:
    """``g_row * 512 + g_col`` of contiguous int32 images with pixels in [0, 255]."""
    flat = images.ravel()
    codes = _row_differences(flat, images.shape)
    codes <<= _CODE_BITS
    width = images.shape[2]
    if width < 3:  # every column is a first or last one, where g_col is zero
        return codes
    # Column differences are added in place rather than through a temporary the
    # size of the batch. On the first and last columns, where scikit-image's are
    # zero, they take a neighbour from the row before or after: taken back there.
    inner = codes.ravel()[1:-1]
    inner += flat[2:]
    inner -= flat[:-2]
    rows, pixel_rows = codes.reshape(-1, width), flat.reshape(-1, width)
    rows[1:, 0] -= pixel_rows[1:, 1] - pixel_rows[:-1, -1]
    rows[:-1, -1] -= pixel_rows[1:, 0] - pixel_rows[:-1, -2]
    return codes


def _orientation_bins(g_row: np.ndarray, g_col: np.ndarray, orientations: int) -> np.ndarray:
    """scikit-image's orientation bin of each gradient; ``orientations`` means no bin."""
    angle = np.arctan2(g_row, g_col)
    np.rad2deg(angle, out=angle)
    # scikit-image's ``% 180``, twice as fast: for angles in [-180, 180],
    # subtracting 180 * floor(angle / 180) leaves [0, 180) alone, maps 180 to 0
    # and adds 180 to negative angles, rounding as ``%`` does (a tiny negative
    # angle becomes exactly 180, which is in no bin).
    turns = angle / 180.0
    np.floor(turns, out=turns)
    turns *= 180.0
    angle -= turns
    edges = np.append(_bin_edges(orientations), np.inf)
    # A first guess by scaling is at most one bin off next to an edge; compare
    # with the exact edges both ways.
    bins: np.ndarray = (angle * (orientations / 180.0)).astype(np.intp)
    bins -= angle < edges.take(bins)
    bins += angle >= edges.take(bins + 1)
    return bins


def _bin_edges(orientations: int) -> np.ndarray:
    """Bin edges in degrees, computed as scikit-image does (in double precision)."""
    return (180.0 / orientations) * np.arange(orientations + 1)


def _magnitude(g_row: np.ndarray, g_col: np.ndarray) -> np.ndarray:
    """Gradient magnitudes; within an ulp of ``np.hypot`` and five times faster."""
    magnitude: np.ndarray = g_row * g_row
    magnitude += g_col * g_col
    np.sqrt(magnitude, out=magnitude)
    if magnitude.size and magnitude.max() == np.inf:  # squares overflowed; hypot does not
        magnitude = np.hypot(g_col, g_row)
    return magnitude


def _sums_exactly(geometry: Geometry) -> bool:
    """Whether cells are small enough to be summed exactly as scikit-image sums them."""
    return math.prod(geometry.cell) <= _EXACT_MAX_CELL_PIXELS


def _cell_histograms(
    slots: np.ndarray,
    magnitude: np.ndarray,
    bounds: np.ndarray | None,
    geometry: Geometry,
    n_images: int,
) -> np.ndarray:
    """Cell histograms, (n_images, cell rows, cell cols, orientations), float64.

    scikit-image adds a cell's pixels one by one, in row-major order, into a C
    ``float`` (each sum rounded from double to float), then divides by the cell's
    pixel count in float. For cells of up to :data:`_EXACT_MAX_CELL_PIXELS`
    pixels this is emulated exactly: each position within a cell is one
    vectorised step (``bounds``) over all cells, every cell receiving at most one
    vote. Larger cells would need so many steps that they are summed by one
    ``np.add.at`` in float32, in the same order, from magnitudes rounded to float32
    first: a sum may then differ from scikit-image's by an ulp of a float (about
    1e-7 of it).
    """
    orientations = geometry.orientations
    cell_pixels = math.prod(geometry.cell)
    totals = np.zeros(n_images * geometry.cells_per_image * orientations, dtype=np.float32)
    if bounds is not None:  # votes in position-major order: cells summed exactly
        for start, stop in itertools.pairwise(bounds.tolist()):
            step_slots = slots[start:stop]
            running = totals.take(step_slots)
            np.add(running, magnitude[start:stop], out=running, casting="unsafe")
            totals[step_slots] = running
    else:
        np.add.at(totals, slots, magnitude.astype(np.float32, copy=False))
    histograms = np.empty((n_images, *geometry.n_cells, orientations))
    np.divide(totals, np.float32(cell_pixels), out=histograms.reshape(-1), dtype=np.float32)
    return histograms


def _normalize_blocks(
    histograms: np.ndarray, geometry: Geometry, block_norm: str, out: np.ndarray
) -> None:
    """Normalise every block of cell histograms as scikit-image does (in float64).

    Writes one row of ``out`` per image, in scikit-image's feature order, a few
    images at a time so that the features being worked on stay in the CPU cache.
    """
    norms = _block_norms(histograms, geometry, block_norm)
    if block_norm == "L1-sqrt":
        # sqrt(v / n) is sqrt(v) / sqrt(n) within an ulp: a root per cell and per
        # block instead of per feature, where a cell repeats once per block it is in.
        np.sqrt(histograms, out=histograms)
        np.sqrt(norms, out=norms)
    step = max(1, _NORMALIZE_BYTES // (8 * out.shape[1]))
    for start in range(0, len(out), step):
        part = slice(start, start + step)
        _normalize_rows(histograms[part], norms[part], geometry, block_norm, out[part])


def _block_norms(histograms: np.ndarray, geometry: Geometry, block_norm: str) -> np.ndarray:
    """The norm of every block, eps included: (n_images, block rows, block cols)."""
    cells = histograms.reshape(-1, geometry.orientations)
    if block_norm in ("L1", "L1-sqrt"):  # histograms are non-negative: no abs needed
        norms = _block_sums(np.einsum("ij->i", cells), histograms.shape, geometry)
        norms += _EPS
        return norms
    norms = _block_sums(np.einsum("ij,ij->i", cells, cells), histograms.shape, geometry)
    norms += _EPS**2
    np.sqrt(norms, out=norms)
    return norms


def _normalize_rows(
    histograms: np.ndarray,
    norms: np.ndarray,
    geometry: Geometry,
    block_norm: str,
    out: np.ndarray,
) -> None:
    """:func:`_normalize_blocks` for a few images.

    Blocks are copied to rows first (one-cell blocks already are rows), and
    per-block values repeated to the rows' shape, so that every later step is a
    pass over flat arrays: NumPy is several times slower broadcasting over short
    rows (a block, or a cell).
    """
    if geometry.block == (1, 1):
        rows = histograms.reshape(norms.size, -1)  # a temporary: free to overwrite
    else:
        work = out if out.dtype == np.float64 else np.empty(out.shape)
        blocks = _block_view(histograms, geometry)
        np.copyto(work.reshape(blocks.shape), blocks)
        rows = work.reshape(norms.size, -1)
    # A float32 ``out`` rounds the float64 quotient once, as scikit-image does.
    if block_norm != "L2-Hys":  # L1-sqrt's roots are taken already
        np.divide(rows, _per_feature(norms, rows), out=out.reshape(rows.shape))
        return
    # L2-Hys: min(v / n, 0.2) / |min(v / n, 0.2)|, eps included, equals
    # min(v, 0.2 n) / |min(v, 0.2 n)| with eps scaled by n: clipping first saves
    # two passes over the features.
    limits = _per_feature(norms * _HYS_CLIP, rows)
    np.minimum(rows, limits, out=rows)
    del limits
    clipped_norms = np.sqrt(np.einsum("ij,ij->i", rows, rows) + (_EPS * norms.ravel()) ** 2)
    np.divide(rows, _per_feature(clipped_norms, rows), out=out.reshape(rows.shape))


def _block_view(histograms: np.ndarray, geometry: Geometry) -> np.ndarray:
    """(n_images, block rows, block cols, cell rows, cell cols, orientations) view of
    (n_images, cell rows, cell cols, orientations) histograms: scikit-image's
    feature order. Built from strides, as ``sliding_window_view`` would, at a tenth
    of its cost per batch."""
    image, row, col, orientation = histograms.strides
    shape = (len(histograms), *geometry.n_blocks, *geometry.block, geometry.orientations)
    strides = (image, row, col, row, col, orientation)
    return np.ndarray(shape, histograms.dtype, histograms, 0, strides)


def _per_feature(block_values: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """A per-block value repeated for every feature of its block, shaped as ``rows``."""
    return np.repeat(block_values.ravel(), rows.shape[1]).reshape(rows.shape)


def _block_sums(
    cell_values: np.ndarray, cells_shape: tuple[int, ...], geometry: Geometry
) -> np.ndarray:
    """Sum of a per-cell value over every block: (n_images, block rows, block cols)."""
    cell_values = cell_values.reshape(cells_shape[:3])
    (n_rows, n_cols), (block_rows, block_cols) = geometry.n_blocks, geometry.block
    # Rows of each block, then columns: block_rows + block_cols passes, not their product.
    rows = cell_values[:, :n_rows].copy()
    for row in range(1, block_rows):
        rows += cell_values[:, row : row + n_rows]
    sums = rows[:, :, :n_cols].copy()
    for col in range(1, block_cols):
        sums += rows[:, :, col : col + n_cols]
    return sums

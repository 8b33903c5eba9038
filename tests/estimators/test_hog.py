"""HOGTransformer gives scikit-image's hog for every image, and behaves as a transformer."""

import pickle
import re
import tracemalloc

import numpy as np
import pytest
from skimage.feature import hog
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.utils._param_validation import InvalidParameterError

from bench.data import read_idx
from bench.perf.hog import GRID, MEMORY_TARGET, peak_extra_memory
from estimators._hog_kernels import _bin_edges, _orientation_bins, _table_bins, _table_codes
from estimators.hog import BLOCK_NORMS, HOGTransformer

TOLERANCE = 1e-6
MIB = 2**20


def _pair(value):
    return (value, value) if isinstance(value, int) else tuple(value)


def skimage_hog(images, orientations, pixels_per_cell, cells_per_block, block_norm, sqrt=False):
    """The reference: scikit-image, one image at a time."""
    return np.array(
        [
            hog(
                image,
                orientations=orientations,
                pixels_per_cell=_pair(pixels_per_cell),
                cells_per_block=_pair(cells_per_block),
                block_norm=block_norm,
                transform_sqrt=sqrt,
                feature_vector=True,
            )
            for image in images
        ]
    )


def assert_matches_skimage(
    images, orientations, pixels_per_cell, cells_per_block, block_norm, sqrt
):
    hog_transformer = HOGTransformer(
        orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt=sqrt
    )
    try:
        expected = skimage_hog(
            images, orientations, pixels_per_cell, cells_per_block, block_norm, sqrt
        )
    except ValueError:  # no block fits: both must refuse
        with pytest.raises(ValueError, match="No block fits"):
            hog_transformer.fit(images)
        return
    features = hog_transformer.fit_transform(images)
    assert features.dtype == expected.dtype
    np.testing.assert_allclose(features, expected, rtol=0, atol=TOLERANCE)


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.fixture(scope="module")
def random_images():
    """Raw 8-bit pixels, 30x30 (not a multiple of most cell sizes), and 28x28 floats."""
    rng = np.random.default_rng(0)
    return {
        "uint8 30x30": rng.integers(0, 256, size=(3, 30, 30), dtype=np.uint8),
        "float64 28x28": rng.random((3, 28, 28)),
    }


@pytest.mark.parametrize("transform_sqrt", [False, True])
@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
@pytest.mark.parametrize("cells_per_block", [1, 2, 3])
@pytest.mark.parametrize("pixels_per_cell", [4, 7, 8, 10, (3, 5)])
@pytest.mark.parametrize("orientations", [4, 8, 9, 14])
def test_matches_skimage_on_random_images(
    random_images, orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt
):
    for images in random_images.values():
        assert_matches_skimage(
            images, orientations, pixels_per_cell, cells_per_block, block_norm, transform_sqrt
        )


@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
@pytest.mark.parametrize(
    ("pixels_per_cell", "cells_per_block"), [(2, 1), (2, 2), (2, 3), (4, 1), (4, 2), ((2, 4), 1)]
)
@pytest.mark.parametrize("orientations", [4, 8, 9])
@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int64])
def test_matches_skimage_on_digits(
    digits, dtype, orientations, pixels_per_cell, cells_per_block, block_norm
):
    images = digits.images[:40].astype(dtype)
    for sqrt in (False, True):
        assert_matches_skimage(
            images, orientations, pixels_per_cell, cells_per_block, block_norm, sqrt
        )


@pytest.mark.parametrize(
    "images",
    [
        np.arange(4 * 16 * 16, dtype=np.uint16).reshape(4, 16, 16) * 40,  # span > 255
        (np.arange(2 * 16 * 16).reshape(2, 16, 16) % 7 == 0),  # bool
        np.random.default_rng(1).integers(-50, 50, size=(3, 16, 16), dtype=np.int8),
        np.random.default_rng(2).integers(1000, 1200, size=(3, 16, 16)),  # offset int64
        np.random.default_rng(3).random((3, 16, 16)).astype(np.float16),
        np.random.default_rng(4).normal(scale=1e3, size=(3, 17, 23)),  # negative, non-square
    ],
    ids=["uint16 wide span", "bool", "int8", "int64 offset", "float16", "float64 non-square"],
)
@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
def test_matches_skimage_for_other_dtypes(images, block_norm):
    assert_matches_skimage(images, 9, 4, 2, block_norm, sqrt=False)


def _edge_images():
    """Images whose gradients fall exactly on bin edges, or round to 180 degrees."""
    ramp = np.add.outer(np.arange(16), np.arange(16))  # 45 degrees everywhere
    stripes = np.tile([0, 0, 9, 9], (16, 4))  # horizontal gradients, both directions
    checker = np.indices((16, 16)).sum(axis=0) % 2 * 200  # zero gradient inside
    # Rows alternate between 0.1 + 0.2 and 0.3, which differ by one ulp: tiny row
    # gradients next to unit column gradients give angles that round to 0 or 180.
    ulp_rows = np.array([0.1 + 0.2, 0.1 + 0.2, 0.3, 0.3] * 4)[:, None]
    ulp_image = ulp_rows + np.array([0.0, 0.0, 1.0, 1.0] * 4)[None, :]
    integer = np.stack([ramp, ramp.T[::-1], stripes, stripes.T, checker]).astype(np.uint8)
    return integer, integer / 255.0, ulp_image[None]


@pytest.mark.parametrize(
    ("shape", "pixels_per_cell", "cells_per_block"),
    [
        ((1, 9), (1, 2), (1, 2)),  # one row: no row gradient anywhere
        ((2, 9), (1, 3), 1),
        ((9, 1), (2, 1), 1),  # one column
        ((9, 2), (2, 1), (1, 2)),
        ((3, 3), 1, 2),  # one-pixel cells
        ((5, 7), (2, 3), 1),  # a row and a column beyond the last whole cell
        ((6, 6), (3, 1), (2, 3)),
    ],
)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_matches_skimage_on_thin_images_and_small_cells(
    shape, pixels_per_cell, cells_per_block, dtype
):
    images = np.random.default_rng(6).integers(0, 256, size=(4, *shape)).astype(dtype)
    for block_norm in ("L1", "L2-Hys"):
        assert_matches_skimage(images, 9, pixels_per_cell, cells_per_block, block_norm, False)


def test_integer_gradients_of_the_widest_span_match_skimage():
    """Steps of 255 in both directions, down and up, and a negative offset, give
    the largest and smallest gradient codes the integer lookup decodes."""
    steps = np.kron(np.indices((4, 4)).sum(axis=0) % 2, np.ones((4, 4), int)) * 255
    images = np.stack([steps, steps.T, 255 - steps, np.rot90(steps)])
    for offset_images in (images.astype(np.uint8), (images - 300).astype(np.int16)):
        for orientations in (8, 9):
            assert_matches_skimage(offset_images, orientations, 4, 2, "L2-Hys", sqrt=False)


def test_non_contiguous_images_give_the_features_of_their_copy(digits):
    images = digits.images[:30].astype(np.uint8).transpose(0, 2, 1)
    hog_transformer = HOGTransformer(orientations=8, pixels_per_cell=2, cells_per_block=2)
    features = hog_transformer.fit_transform(images)
    np.testing.assert_array_equal(features, hog_transformer.transform(images.copy()))


@pytest.mark.parametrize("orientations", [2, 3, 4, 6, 8, 12, 39])
def test_matches_skimage_on_bin_edges(orientations):
    for images in _edge_images():
        for block_norm in BLOCK_NORMS:
            assert_matches_skimage(images, orientations, 4, 1, block_norm, sqrt=False)


@pytest.mark.parametrize("orientations", [1, 2, 4, 7, 8, 9, 12, 39, 49])
def test_orientation_bins_follow_skimage_rounding(orientations):
    """The fast bins equal those of _hoghistogram.pyx's expressions, even for
    gradients whose angle rounds onto a bin edge, to 180 or to -180."""
    rng = np.random.default_rng(orientations)
    awkward = [0.0, 1e-300, -1e-300, 5.5e-17, -5.5e-17, 1.0, -1.0, 0.5, -3.0, 1e300, -1e300]
    g_row = np.concatenate([rng.normal(size=20_000), np.repeat(awkward, len(awkward))])
    g_col = np.concatenate([rng.normal(size=20_000), np.tile(awkward, len(awkward))])
    orientation = np.rad2deg(np.arctan2(g_row, g_col)) % 180
    expected = np.searchsorted(_bin_edges(orientations)[1:], orientation, side="right")
    np.testing.assert_array_equal(_orientation_bins(g_row, g_col, orientations), expected)


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_small_cells_are_summed_exactly_as_skimage_sums_them(dtype):
    """scikit-image sums a cell in a C float: for cells of up to 16 pixels so does the
    transformer, exactly. Summing in float64, or in float32 from magnitudes rounded to
    float32 (as for larger cells), differs by 1e-8 to 1e-7 here, far above 1e-12."""
    images = np.random.default_rng(5).integers(0, 256, size=(4, 30, 30)).astype(dtype)
    for pixels_per_cell in (4, (2, 8), 3):
        expected = skimage_hog(images, 9, pixels_per_cell, 1, "L2")
        features = HOGTransformer(9, pixels_per_cell, 1, "L2").fit_transform(images)
        np.testing.assert_allclose(features, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("orientations", [1, 2, 4, 9, 14, 255])
def test_table_bins_are_skimage_bins_of_every_integer_gradient(orientations):
    """Every gradient of integer pixels within 255 of each other, looked up in the
    table, gets the bin of scikit-image's expressions; none is left without a bin."""
    codes = _table_codes()
    g_row = (codes + 256) >> 9
    g_col = codes - g_row * 512
    valid = (np.abs(g_row) <= 255) & (np.abs(g_col) <= 255)
    orientation = np.rad2deg(np.arctan2(g_row[valid] * 1.0, g_col[valid] * 1.0)) % 180
    expected = np.searchsorted(_bin_edges(orientations)[1:], orientation, side="right")
    assert expected.max() < orientations
    np.testing.assert_array_equal(_table_bins(orientations)[valid], expected)


def test_mnist_shape_gives_392_features():
    images = np.random.default_rng(0).integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    hog_transformer = HOGTransformer(orientations=8, pixels_per_cell=4, cells_per_block=1)
    features = hog_transformer.fit_transform(images)
    assert features.shape == (5, 7 * 7 * 8) == (5, 392)
    assert hog_transformer.n_features_out_ == 392
    assert hog_transformer.n_features_in_ == 784
    assert hog_transformer.image_shape_ == (28, 28)


def test_flat_and_3d_input_give_the_same_features(digits):
    hog_transformer = HOGTransformer(orientations=9, pixels_per_cell=2, cells_per_block=2)
    from_images = hog_transformer.fit_transform(digits.images[:50])
    from_rows = clone(hog_transformer).fit_transform(digits.data[:50])
    np.testing.assert_array_equal(from_images, from_rows)
    # fitted on one form, transforms the other
    np.testing.assert_array_equal(hog_transformer.transform(digits.data[:50]), from_images)


def test_non_square_images_as_3d_array():
    images = np.random.default_rng(0).random((2, 12, 20))
    hog_transformer = HOGTransformer(pixels_per_cell=4, cells_per_block=2).fit(images)
    assert hog_transformer.image_shape_ == (12, 20)
    assert hog_transformer.n_features_in_ == 240
    flat = hog_transformer.transform(images.reshape(2, -1))  # rows as fitted shape
    np.testing.assert_array_equal(flat, hog_transformer.transform(images))


def test_parameters_as_int_pair_list_or_numpy_int(digits):
    images = digits.images[:20]
    expected = HOGTransformer(8, (2, 2), (2, 2)).fit_transform(images)
    for cell, block in [(2, 2), ([2, 2], [2, 2]), (np.int64(2), np.array([2, 2]))]:
        features = HOGTransformer(np.int64(8), cell, block).fit_transform(images)
        np.testing.assert_array_equal(features, expected)


@pytest.mark.parametrize("batch_size", [1, 3, 1000])
@pytest.mark.parametrize(("pixels_per_cell", "dtype"), [(2, float), (4, np.uint8), (5, np.uint8)])
def test_batch_size_does_not_change_features(digits, batch_size, pixels_per_cell, dtype):
    """Small cells (summed step by step) and large ones (summed in image order)."""
    images = np.kron(digits.images[:25], np.ones((2, 2))).astype(dtype)  # 16x16
    expected = HOGTransformer(9, pixels_per_cell, 2).fit_transform(images)
    hog_transformer = HOGTransformer(9, pixels_per_cell, 2, batch_size=batch_size)
    np.testing.assert_array_equal(hog_transformer.fit_transform(images), expected)


def test_transform_checks_the_feature_count(digits):
    hog_transformer = HOGTransformer(pixels_per_cell=2, cells_per_block=2).fit(digits.data)
    with pytest.raises(ValueError, match="X has 100 features, but HOGTransformer is expecting 64"):
        hog_transformer.transform(np.zeros((3, 100)))
    with pytest.raises(ValueError, match="X has 100 features, but HOGTransformer is expecting 64"):
        hog_transformer.transform(np.zeros((3, 10, 10)))


def test_transform_rejects_images_of_another_shape_with_as_many_pixels():
    hog_transformer = HOGTransformer(pixels_per_cell=2, cells_per_block=1).fit(np.zeros((2, 8, 8)))
    with pytest.raises(ValueError, match=r"images of shape \(4, 16\).*fitted on .*\(8, 8\)"):
        hog_transformer.transform(np.zeros((2, 4, 16)))


def test_flat_input_must_be_square_images():
    with pytest.raises(ValueError, match="30 features per row, which is not a perfect square"):
        HOGTransformer(pixels_per_cell=2, cells_per_block=1).fit(np.zeros((4, 30)))


def test_images_with_a_channel_axis_are_rejected(digits):
    with pytest.raises(ValueError, match="squeeze any channel axis"):
        HOGTransformer(pixels_per_cell=2, cells_per_block=1).fit(digits.images[..., None])


@pytest.mark.parametrize("bad_value", [np.nan, np.inf])
def test_non_finite_pixels_are_rejected(digits, bad_value):
    images = digits.images[:5].copy()
    images[2, 3, 3] = bad_value
    with pytest.raises(ValueError, match="Input X contains"):
        HOGTransformer(pixels_per_cell=2, cells_per_block=1).fit(images)
    hog_transformer = HOGTransformer(pixels_per_cell=2, cells_per_block=1).fit(digits.images)
    with pytest.raises(ValueError, match="Input X contains"):
        hog_transformer.transform(images)


BAD_PARAMETERS = [
    ({"orientations": 0}, "an int in the range [1, inf)"),
    ({"orientations": 2.5}, "an int in the range [1, inf)"),
    ({"orientations": True}, "an int in the range [1, inf), not a bool"),
    ({"block_norm": "nope"}, "a str among {"),  # in the order of a set
    ({"pixels_per_cell": 0}, "an int in the range [1, inf) or"),
    ({"pixels_per_cell": (0, 8)}, "an int in the range [1, inf) or a pair of them"),
    ({"pixels_per_cell": (4, 4, 4)}, "an int in the range [1, inf) or a pair of them"),
    ({"pixels_per_cell": "4"}, "an int in the range [1, inf) or an array-like"),
    ({"cells_per_block": (1, -1)}, "an int in the range [1, inf) or a pair of them"),
    ({"cells_per_block": True}, "an int in the range [1, inf) or a pair of them"),
    ({"transform_sqrt": "yes"}, "an instance of 'bool'"),
    ({"batch_size": 0}, "an int in the range [1, inf) or None"),
]


@pytest.mark.parametrize(
    ("params", "valid"),
    BAD_PARAMETERS,
    ids=[", ".join(f"{k}={v!r}" for k, v in params.items()) for params, _ in BAD_PARAMETERS],
)
def test_bad_parameters_raise_scikit_learn_invalid_parameter_error_at_fit(digits, params, valid):
    ((name, value),) = params.items()
    hog_transformer = HOGTransformer(**{"pixels_per_cell": 2, "cells_per_block": 2, **params})
    message = (
        f"^The '{name}' parameter of HOGTransformer must be {re.escape(valid)}"
        f".* Got {re.escape(repr(value))} instead\\.$"
    )
    with pytest.raises(InvalidParameterError, match=message):
        hog_transformer.fit(digits.images[:5])


def test_parameters_set_after_fit_are_validated_at_transform(digits):
    hog_transformer = HOGTransformer(pixels_per_cell=2, cells_per_block=2).fit(digits.images[:5])
    hog_transformer.set_params(block_norm="nope")
    with pytest.raises(InvalidParameterError, match="'block_norm' parameter of HOGTransformer"):
        hog_transformer.transform(digits.images[:5])
    with pytest.raises(InvalidParameterError, match="'block_norm' parameter of HOGTransformer"):
        hog_transformer.get_feature_names_out()


def test_no_block_fitting_the_images_raises_value_error_saying_what_is_valid(digits):
    hog_transformer = HOGTransformer(pixels_per_cell=3, cells_per_block=3)
    with pytest.raises(ValueError, match=r"No block fits in 8x8 images.*at least 9 rows and 9"):
        hog_transformer.fit(digits.images[:5])


def test_transform_sqrt_rejects_negative_pixels(digits):
    hog_transformer = HOGTransformer(pixels_per_cell=2, cells_per_block=1, transform_sqrt=True)
    hog_transformer.fit(digits.images)
    with pytest.raises(ValueError, match="transform_sqrt=True .* non-negative"):
        hog_transformer.transform(digits.images[:5] - 1)


def test_transform_needs_fit(digits):
    with pytest.raises(NotFittedError):
        HOGTransformer().transform(digits.images)


def test_feature_names_out(digits):
    hog_transformer = HOGTransformer(orientations=9, pixels_per_cell=2, cells_per_block=2)
    hog_transformer.fit(digits.data)
    names = hog_transformer.get_feature_names_out()
    assert len(names) == hog_transformer.n_features_out_ == 3 * 3 * 2 * 2 * 9
    assert len(set(names)) == len(names)
    assert names[0] == "hog_block0_0_cell0_0_orient0"
    assert names[-1] == "hog_block2_2_cell1_1_orient8"
    with pytest.raises(ValueError, match="input_features has 3 names"):
        hog_transformer.get_feature_names_out(["a", "b", "c"])


def test_pandas_output_uses_the_feature_names(digits):
    hog_transformer = HOGTransformer(pixels_per_cell=4, cells_per_block=1).set_output(
        transform="pandas"
    )
    frame = hog_transformer.fit_transform(digits.data[:10])
    assert list(frame.columns) == list(hog_transformer.get_feature_names_out())


def test_clone_and_pickle_round_trip(digits):
    hog_transformer = HOGTransformer(8, [2, 2], 2, "L1", batch_size=7)
    assert clone(hog_transformer).get_params() == hog_transformer.get_params()
    expected = hog_transformer.fit_transform(digits.images[:30])
    restored = pickle.loads(pickle.dumps(hog_transformer))
    np.testing.assert_array_equal(restored.transform(digits.images[:30]), expected)


def test_tags_declare_a_transformer_of_images():
    tags = HOGTransformer().__sklearn_tags__()
    assert tags.transformer_tags is not None
    assert tags.requires_fit
    assert not tags.target_tags.required
    assert tags.input_tags.three_d_array
    assert set(tags.transformer_tags.preserves_dtype) == {"float64", "float32"}
    assert HOGTransformer(transform_sqrt=True).__sklearn_tags__().input_tags.positive_only


def test_pipeline_with_logistic_regression_classifies_digits(digits):
    X_train, X_test, y_train, y_test = train_test_split(
        digits.data, digits.target, test_size=0.3, random_state=0, stratify=digits.target
    )
    model = make_pipeline(
        HOGTransformer(orientations=9, pixels_per_cell=2, cells_per_block=2),
        LogisticRegression(max_iter=2000),
    )
    model.fit(X_train, y_train)
    assert model.score(X_test, y_test) > 0.9


def test_importing_hog_does_not_load_keras():
    import subprocess
    import sys

    code = "import sys; from estimators import HOGTransformer; print('keras' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


# --- digits as the benchmarks pass them, in the settings they use --------------------


@pytest.fixture(scope="module")
def mnist_test_images(mnist_root):
    """The first 3,000 MNIST test images, raw uint8, as the benchmarks pass them."""
    plain = mnist_root / "mnist" / "t10k-images-idx3-ubyte"
    return read_idx(plain if plain.is_file() else plain.with_suffix(".gz"))[:3000]


@pytest.fixture(scope="module")
def digit_images(request):
    """300 MNIST test images where this machine has MNIST, else 300 of scikit-learn's
    digits enlarged to 28x28 uint8 with smooth strokes: digits either way."""
    try:
        return request.getfixturevalue("mnist_test_images")[:300]
    except pytest.skip.Exception:  # no MNIST here: the synthetic digits stand in
        from scipy.ndimage import zoom

        small = load_digits().images[:300]  # 8x8, values 0 to 16
        large = zoom(small, (1, 3, 3), order=1, grid_mode=True, mode="nearest")  # 24x24
        return np.pad(np.clip(large * 16, 0, 255), ((0, 0), (2, 2), (2, 2))).astype(np.uint8)


def test_digit_images_are_28x28_bytes_with_strokes(digit_images):
    assert digit_images.shape == (300, 28, 28)
    assert digit_images.dtype == np.uint8
    assert 0.05 < np.mean(digit_images > 0) < 0.6  # strokes on a blank background


@pytest.mark.parametrize("setting", GRID, ids=lambda setting: setting.label)
def test_perf_grid_settings_match_skimage_on_digits(digit_images, setting):
    expected = skimage_hog(
        digit_images,
        setting.orientations,
        setting.pixels_per_cell,
        setting.cells_per_block,
        setting.block_norm,
    )
    features = setting.transformer().fit_transform(digit_images)
    assert features.dtype == expected.dtype == np.float64
    np.testing.assert_allclose(features, expected, rtol=0, atol=TOLERANCE)
    # The perf check's own reference is scikit-image, image by image.
    np.testing.assert_array_equal(setting.skimage_features(digit_images), expected)


@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
@pytest.mark.parametrize("pixels_per_cell", [4, 7, 8, 10])
def test_search_space_matches_skimage_on_digits(digit_images, pixels_per_cell, block_norm):
    """Every setting the study can sample (orientations 4 to 14, 1x1 blocks), every norm."""
    images = digit_images[:25]
    for orientations in range(4, 15):
        expected = skimage_hog(images, orientations, pixels_per_cell, 1, block_norm)
        features = HOGTransformer(orientations, pixels_per_cell, 1, block_norm).fit_transform(
            images
        )
        np.testing.assert_allclose(
            features, expected, rtol=0, atol=TOLERANCE, err_msg=f"{orientations} orientations"
        )


@pytest.mark.parametrize("setting", GRID, ids=lambda setting: setting.label)
def test_memory_besides_the_output_stays_within_one_output(mnist_test_images, setting):
    hog_transformer = setting.transformer().fit(mnist_test_images[:1])
    features, peak = peak_extra_memory(hog_transformer.transform, mnist_test_images)
    assert features.shape == (3000, hog_transformer.n_features_out_)
    assert features.nbytes <= peak <= MEMORY_TARGET * features.nbytes


def test_memory_is_bounded_by_the_batch_not_the_input(mnist_test_images):
    """With small batches, the temporaries are a small fraction of the output: a
    whole-input copy (int32 pixels, 9 MiB here) would show."""
    hog_transformer = HOGTransformer(9, 7, 2, batch_size=50).fit(mnist_test_images[:1])
    features, peak = peak_extra_memory(hog_transformer.transform, mnist_test_images)
    assert peak - features.nbytes < 2 * MIB < features.nbytes


# --- peak_extra_memory, the accounting behind the memory figure -------------------------


def _scratch_then_result():
    scratch = np.ones(8 * MIB // 8)
    result = np.zeros(MIB // 8)
    del scratch
    return result


@pytest.mark.parametrize("already_tracing", [False, True])
def test_peak_extra_memory_counts_temporaries_and_result(already_tracing):
    if already_tracing:
        tracemalloc.start()
    try:
        result, peak = peak_extra_memory(_scratch_then_result)
        assert tracemalloc.is_tracing() == already_tracing
    finally:
        if already_tracing:
            tracemalloc.stop()
    assert result.nbytes == MIB
    assert 9 * MIB <= peak < 9 * MIB + 64 * 1024  # both were alive at once


def test_peak_extra_memory_excludes_the_arguments():
    images = np.ones((4 * MIB // 8,))
    copy, peak = peak_extra_memory(np.copy, images)
    assert copy.nbytes <= peak < copy.nbytes + 64 * 1024

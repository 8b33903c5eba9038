"""Tests of SVHN loading: tiny format-2 .mat files written by the tests, read through
load_dataset / load_catalog_entry as a user's would be."""

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from bench.data import load_dataset, load_svhn
from bench.data.catalog import SVHN, dataset_geometry
from bench.data.dataset import dataset_digest
from bench.data.loaders import load_catalog_entry
from bench.errors import ChecksumError, CorruptDataError, DataNotFoundError
from tests.helpers.data import assert_arrays, load_from

pytestmark = pytest.mark.usefixtures("isolated_data_env")


# --- loading -------------------------------------------------------------------------------


def test_svhn_loads_through_load_dataset_with_label_10_as_digit_0(svhn, tmp_path, monkeypatch):
    arrays = svhn.arrays()
    directory = svhn.write(tmp_path / "env" / "svhn", svhn.files(arrays))
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_dataset("svhn", download=False, verify=False)

    assert_arrays(dataset, arrays)
    assert dataset.X_train.shape == (6, 32, 32, 3)
    assert dataset.image_shape == (32, 32, 3)
    assert dataset.y_train.tolist() == [0, 1, 9, 0, 5, 2]
    assert dataset.name == "svhn"
    assert dataset.class_names == tuple("0123456789")
    assert dataset.pixel_max == 255.0
    assert dataset.source == str(directory)
    assert dataset.digest == dataset_digest(*arrays)
    assert load_svhn(download=False, verify=False).digest == dataset.digest


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "compressed"])
def test_matlab_axes_become_image_row_column_channel(svhn, tmp_path, compress):
    # X[row, column, channel, image] in the file is X[image, row, column, channel] loaded;
    # the value tells each index apart.
    def value(row, column, channel, image):
        return (row * 7 + column * 3 + channel * 50 + image * 100) % 256

    X = np.fromfunction(value, (32, 32, 3, 2)).astype(np.uint8)
    y = np.array([[10], [3]], np.uint8)
    files = {name: svhn.mat(X=X, y=y, compress=compress) for name in svhn.FILES}
    directory = svhn.write(tmp_path / "data", files)

    dataset = load_from(svhn.entry(files), directory, tmp_path)

    image, row, column, channel = np.indices(dataset.X_train.shape)
    np.testing.assert_array_equal(dataset.X_train, value(row, column, channel, image))
    assert dataset.X_train.flags.c_contiguous
    assert dataset.y_test.tolist() == [0, 3]


def test_labels_stored_as_doubles_load(svhn, tmp_path):
    # MATLAB's default type; whole numbers are labels like any others.
    X = np.zeros((32, 32, 3, 2), np.uint8)
    files = {name: svhn.mat(X=X, y=np.array([[10.0], [4.0]])) for name in svhn.FILES}

    dataset = load_from(SVHN, svhn.write(tmp_path / "data", files), tmp_path, verify=False)

    assert dataset.y_train.tolist() == [0, 4]
    assert dataset.y_train.dtype == np.int64


def test_dataset_geometry_without_loading():
    assert dataset_geometry("svhn") == ((32, 32, 3), 10)


# --- verification ----------------------------------------------------------------------------


def test_files_verified_by_their_published_md5(svhn, tmp_path):
    arrays = svhn.arrays()
    files = svhn.files(arrays)
    entry = svhn.entry(files)
    other = svhn.files(svhn.arrays(seed=1))
    directory = svhn.write(tmp_path / "data", {**files, "test_32x32.mat": other["test_32x32.mat"]})

    good = svhn.write(tmp_path / "good", files)
    assert_arrays(load_from(entry, good, tmp_path, cache_arrays=False), arrays)
    with pytest.raises(CorruptDataError) as caught:
        load_from(entry, directory, tmp_path)

    message = str(caught.value)
    assert f"{directory / 'test_32x32.mat'} is not the canonical SVHN test_32x32.mat" in message
    assert f"MD5 {svhn.md5(other['test_32x32.mat'])}, expected {entry.test.checksum}" in message
    assert "verify=False" in message
    svhn.assert_nothing_cached(tmp_path)
    dataset = load_from(entry, directory, tmp_path, verify=False)
    np.testing.assert_array_equal(dataset.X_test, svhn.arrays(seed=1)[2])


def test_truncated_copy_names_its_size_when_verified(svhn, tmp_path):
    files = svhn.files(svhn.arrays())
    entry = svhn.entry(files)
    directory = svhn.write(tmp_path / "data", files)
    path = directory / "train_32x32.mat"
    path.write_bytes(files["train_32x32.mat"][:1000])

    with pytest.raises(CorruptDataError, match=r"\(1,000 bytes, the published file has [\d,]+\)"):
        load_from(entry, directory, tmp_path)


# --- corrupt files ---------------------------------------------------------------------------
# Each damages the files svhn.write(directory, svhn.files(arrays)) wrote, and returns the
# file the error must name and a pattern for the problem it must state.

X_SHAPE = (32, 32, 3, 6)
LABELS = np.array([[10], [1], [9], [10], [5], [2]], np.uint8)


def rewrite(directory: Path, svhn, **variables) -> Path:
    path = directory / "train_32x32.mat"
    path.write_bytes(svhn.mat(**variables))
    return path


def no_images(directory, svhn):
    path = rewrite(directory, svhn, y=LABELS, images=np.zeros(X_SHAPE, np.uint8))
    return path, r"no variable X \(the images\)"


def no_labels(directory, svhn):
    path = rewrite(directory, svhn, X=np.zeros(X_SHAPE, np.uint8), labels=LABELS)
    return path, r"no variable y \(the labels\)"


def float_images(directory, svhn):
    path = rewrite(directory, svhn, X=np.zeros(X_SHAPE), y=LABELS)
    return path, "X is float64, expected uint8 images"


def grey_images(directory, svhn):
    path = rewrite(directory, svhn, X=np.zeros((28, 28, 6), np.uint8), y=LABELS)
    return path, r"X has shape \(28, 28, 6\), expected \(32, 32, 3, n\) for SVHN"


def fewer_labels_than_images(directory, svhn):
    path = rewrite(directory, svhn, X=np.zeros(X_SHAPE, np.uint8), y=LABELS[:5])
    return path, r"X holds 6 images but y has shape \(5, 1\), expected \(6, 1\)"


def label_out_of_range(directory, svhn):
    labels = LABELS.copy()
    labels[2] = 11
    path = rewrite(directory, svhn, X=np.zeros(X_SHAPE, np.uint8), y=labels)
    return path, r"label 11 out of range; SVHN labels are 1\.\.10 \(10 is the digit 0\)"


def label_zero(directory, svhn):
    # Format 2 has no label 0: its zeros are 10s, so a 0 means another labelling.
    labels = LABELS.copy()
    labels[0] = 0
    path = rewrite(directory, svhn, X=np.zeros(X_SHAPE, np.uint8), y=labels)
    return path, r"label 0 out of range"


def fractional_label(directory, svhn):
    path = rewrite(directory, svhn, X=np.zeros(X_SHAPE, np.uint8), y=LABELS + 0.5)
    return path, r"y holds non-integer labels \(float64\)"


def truncated(directory, svhn):
    path = directory / "test_32x32.mat"
    path.write_bytes(path.read_bytes()[:5000])
    return path, "truncated: element at byte 128 declares"


def not_a_mat_file(directory, svhn):
    path = directory / "test_32x32.mat"
    path.write_bytes(b"<html>Not Found</html>\n" * 20)
    return path, r"not a MATLAB 5 \.mat file"


def matlab_73_file(directory, svhn):
    path = directory / "test_32x32.mat"
    content = bytearray(path.read_bytes())
    content[124:126] = b"\x00\x02"  # version 0x0200, little-endian: HDF5-based v7.3
    path.write_bytes(bytes(content))
    return path, "version 0x0200, expected 0x0100.*-v7 option"


# savemat puts X first: its element starts at byte 128, its array flags' class byte is
# at 144 and flags byte at 145, the tag of its data at 184.
def unknown_data_type(directory, svhn):
    # The damage that makes scipy's reader crash the interpreter if handed the file.
    path = directory / "train_32x32.mat"
    content = bytearray(path.read_bytes())
    assert content[184] == 2, "X's data is no longer at byte 184 (miUINT8)"
    content[185] = 0x9B
    path.write_bytes(bytes(content))
    return path, "variable X: damaged data element"


def complex_flag(directory, svhn):
    # Also a crash in scipy's reader: a complex array with no imaginary part.
    path = directory / "train_32x32.mat"
    content = bytearray(path.read_bytes())
    assert content[144] == 9, "X's class byte is no longer at byte 144 (uint8)"
    content[145] |= 0x08
    path.write_bytes(bytes(content))
    return path, r"variable X is not a real numeric array \(MATLAB class 9, flags 0x08\)"


def data_shorter_than_dimensions(directory, svhn):
    path = directory / "train_32x32.mat"
    content = bytearray(path.read_bytes())
    content[172] = 5  # X's number of images, the last of its 4 dimensions at 160..175
    path.write_bytes(bytes(content))
    return path, r"variable X: 18432 bytes of data, its dimensions \(32, 32, 3, 5\) need 15360"


def corrupt_compressed_variable(directory, svhn):
    path = directory / "train_32x32.mat"
    X_train, y_train, _, _ = svhn.arrays()
    content = bytearray(svhn.file(X_train, y_train, compress=True))
    content[400] ^= 0xFF
    path.write_bytes(bytes(content))
    return path, "compressed variable at byte 128 is (corrupt|truncated)"


SVHN_CORRUPTIONS = [
    no_images,
    no_labels,
    float_images,
    grey_images,
    fewer_labels_than_images,
    label_out_of_range,
    label_zero,
    fractional_label,
    truncated,
    not_a_mat_file,
    matlab_73_file,
    unknown_data_type,
    complex_flag,
    data_shorter_than_dimensions,
    corrupt_compressed_variable,
]


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize("damage", SVHN_CORRUPTIONS)
def test_corrupt_file_is_named_with_its_problem_and_nothing_cached(svhn, tmp_path, damage, verify):
    directory = svhn.write(tmp_path / "data", svhn.files(svhn.arrays()))
    path, problem = damage(directory, svhn)
    before = {file: file.read_bytes() for file in directory.iterdir()}
    # Verified, the damaged files are the published ones: the structure must refuse them.
    entry = svhn.entry_trusting(directory)

    with pytest.raises(CorruptDataError, match=problem) as caught:
        load_from(entry, directory, tmp_path, verify=verify)

    message = str(caught.value)
    assert message.startswith(f"{path}")
    assert "\n" not in message
    svhn.assert_nothing_cached(tmp_path)
    assert not (tmp_path / "no-cache").exists()
    assert {file: file.read_bytes() for file in directory.iterdir()} == before


# --- search order and missing files --------------------------------------------------------


def test_search_order_data_dir_then_system_then_cache(svhn, tmp_path, monkeypatch, dead_url):
    places = {
        "env": tmp_path / "env" / "svhn",
        "system": tmp_path / "system" / "svhn",
        "cache": tmp_path / "user-cache" / "svhn",
    }
    for seed, directory in enumerate(places.values()):
        svhn.write(directory, svhn.files(svhn.arrays(seed=seed)))
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    entry = dataclasses.replace(SVHN, mirrors=(dead_url,))

    def load():
        return load_catalog_entry(entry, system_root=tmp_path / "system", verify=False)

    for seed, directory in enumerate(places.values()):
        dataset = load()
        assert dataset.source == str(directory)
        np.testing.assert_array_equal(dataset.X_train, svhn.arrays(seed=seed)[0])
        # A folder lacking one of the two files is passed over.
        (directory / "test_32x32.mat").unlink()


def test_offline_without_files_says_where_it_looked_and_what_to_supply(tmp_path):
    with pytest.raises(DataNotFoundError) as caught:
        load_dataset("svhn", download=False)

    message = str(caught.value)
    assert message.startswith("SVHN files not found. Searched: $BENCH_DATA_DIR not set; ")
    assert "/usr/share/datasets/svhn" in message
    assert f"{tmp_path / 'user-cache' / 'svhn'} (download cache: no such folder)" in message
    assert "Downloading was turned off" in message
    assert (
        "set BENCH_DATA_DIR to a folder containing svhn/ with train_32x32.mat, test_32x32.mat "
        "(published at http://ufldl.stanford.edu/housenumbers/)"
    ) in message
    assert "\n" not in message


def test_unreachable_mirror_names_the_error_and_folders_searched(
    svhn, tmp_path, monkeypatch, dead_url
):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    svhn.write(tmp_path / "env" / "svhn", {"train_32x32.mat": b"only the train file"})
    entry = dataclasses.replace(SVHN, mirrors=(dead_url,))

    with pytest.raises(DataNotFoundError) as caught:
        load_catalog_entry(entry, system_root=tmp_path / "system", timeout=5)

    message = str(caught.value)
    assert f"{tmp_path / 'env' / 'svhn'} (BENCH_DATA_DIR: missing test_32x32.mat)" in message
    assert f"{tmp_path / 'system' / 'svhn'} (system folder: no such folder)" in message
    assert f"could not download {dead_url}train_32x32.mat" in message
    assert "connect to the internet and retry" in message
    assert list((tmp_path / "user-cache" / "svhn").iterdir()) == []


# --- the array cache -----------------------------------------------------------------------


def test_second_load_memory_maps_the_cached_arrays(svhn, tmp_path):
    arrays = svhn.arrays()
    files = svhn.files(arrays)
    directory = svhn.write(tmp_path / "data", files)
    entry = svhn.entry(files)

    first = load_from(entry, directory, tmp_path)
    cached = load_from(entry, directory, tmp_path)

    assert not isinstance(first.X_train, np.memmap)
    for array in (cached.X_train, cached.y_train, cached.X_test, cached.y_test):
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable
    assert_arrays(cached, arrays)
    assert cached.digest == first.digest == dataset_digest(*arrays)
    assert cached.source == str(directory)
    assert len(list((tmp_path / "user-cache" / "arrays" / "svhn").iterdir())) == 1


# --- downloading ---------------------------------------------------------------------------


def test_download_with_matching_md5_lands_in_cache_and_loads(svhn, tmp_path, server):
    arrays = svhn.arrays()
    files = svhn.files(arrays, compress=True)
    for name, content in files.items():
        server.serve(f"/housenumbers/{name}", content)
    entry = svhn.entry(files, mirrors=(f"{server.url}/housenumbers/",))
    cache = tmp_path / "cache"

    dataset = load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    assert_arrays(dataset, arrays)
    assert dataset.source == str(cache)
    assert {path.name: path.read_bytes() for path in cache.iterdir()} == files
    again = load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)
    assert again.digest == dataset.digest
    assert isinstance(again.X_train, np.memmap)
    assert len(server.requests) == 2


def test_download_with_wrong_md5_leaves_nothing(svhn, tmp_path, server):
    files = svhn.files(svhn.arrays())
    served = svhn.files(svhn.arrays(seed=1))
    for name, content in served.items():
        server.serve(f"/housenumbers/{name}", content)
    entry = svhn.entry(files, mirrors=(f"{server.url}/housenumbers/",))
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumError) as caught:
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    message = str(caught.value)
    assert f"{server.url}/housenumbers/train_32x32.mat" in message
    assert f"MD5 {svhn.md5(served['train_32x32.mat'])}, expected {entry.train.checksum}" in message
    assert list(cache.iterdir()) == []
    svhn.assert_nothing_cached(tmp_path)


def test_published_but_corrupt_download_is_removed_again(svhn, tmp_path, server):
    published = svhn.write(tmp_path / "published", svhn.files(svhn.arrays()))
    label_out_of_range(published, svhn)
    for name in svhn.FILES:
        server.serve(f"/housenumbers/{name}", (published / name).read_bytes())
    entry = svhn.entry_trusting(published, mirrors=(f"{server.url}/housenumbers/",))
    cache = tmp_path / "cache"

    with pytest.raises(CorruptDataError, match="label 11 out of range.*removed the files"):
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    assert list(cache.iterdir()) == []
    svhn.assert_nothing_cached(tmp_path)

"""Tests of a user's own data (bench.data.load_user_data): image folders, CSV, .npz, the
held-out split, the cache, and every mistake as one line before any training."""

import math
import os
from pathlib import Path

import numpy as np
import pytest

import bench.data.image_decoding
import bench.data.user_data
from bench.data import DEFAULT_TEST_SHARE, load_user_data
from bench.data.dataset import dataset_digest
from bench.errors import CorruptDataError, DataError, DataNotFoundError, UsageError
from tests.helpers.data import dataset_arrays
from tests.helpers.user_data import (
    digits,
    pixel_csv_text,
    sorted_rows,
    write_image_folder,
    write_npz,
    write_pixel_csv,
)

pytestmark = pytest.mark.usefixtures("isolated_data_env")

GREY = (28, 28)
COLOUR = (32, 32, 3)


def assert_nothing_cached(tmp_path: Path) -> None:
    """No decoded arrays were cached under the test's BENCH_CACHE_DIR."""
    assert not (tmp_path / "user-cache" / "arrays").exists()


def load_error(path, error=DataError, **kwargs) -> str:
    """The one-line message of the error loading ``path`` raises."""
    kwargs.setdefault("image_shape", GREY)
    with pytest.raises(error) as caught:
        load_user_data(path, **kwargs)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture
def mixed_folder(tmp_path):
    """70 digits (7 a class) as PNG and JPEG of 16, 28 and 40 pixels, every third colour."""
    images, labels = digits(7)
    root = tmp_path / "my-digits"
    write_image_folder(
        root, images, labels, suffixes=(".png", ".jpg"), sizes=(16, 28, 40), colour_every=3
    )
    return root


@pytest.fixture
def grey_folder(tmp_path):
    """70 grey 28x28 PNG digits and the arrays written."""
    images, labels = digits(7)
    root = tmp_path / "grey"
    write_image_folder(root, images, labels)
    return root, images, labels


def decoding_counted(monkeypatch) -> list[int]:
    """How many times image files are decoded from now on, one entry a call."""
    calls: list[int] = []
    decode = bench.data.user_data.decode_images

    def counting(paths, *args, **kwargs):
        calls.append(len(paths))
        return decode(paths, *args, **kwargs)

    monkeypatch.setattr(bench.data.user_data, "decode_images", counting)
    return calls


# --- image folders ---------------------------------------------------------------------------


def test_folder_of_mixed_images_is_fitted_to_grey_input_and_says_how(mixed_folder):
    data = load_user_data(mixed_folder, image_shape=GREY, test_split_seed=3)
    dataset = data.dataset

    assert dataset.name == "my-digits"
    assert dataset.source == str(mixed_folder.resolve())
    assert dataset.class_names == tuple(str(digit) for digit in range(10))
    assert dataset.pixel_max == 255
    assert dataset.X_train.dtype == np.uint8 and dataset.y_train.dtype == np.int64
    assert dataset.image_shape == GREY
    assert dataset.sizes == {"train": 60, "test": 10}  # ceil(70 / 7) held out
    assert sorted(dataset.y_test.tolist()) == list(range(10))  # stratified: one a class
    assert dataset.digest == dataset_digest(*dataset_arrays(dataset))
    assert data.test_share == DEFAULT_TEST_SHARE == 1 / 7
    assert data.test_split_seed == 3
    # 24 of 70 images are colour (indices 0, 3, ..., 69); 16 and 40 pixel ones resized.
    assert data.notes == (
        "converted 24 colour images to grey",
        "resized 47 images to 28x28: 24 from 16x16, 23 from 40x40",
        "held out 10 of 70 images for testing, stratified by class (test share 1/7, seed 3)",
    )
    # The digits survive: the resized JPEGs are still bright strokes on dark.
    assert dataset.X_train.mean() < 100 and dataset.X_train.max() > 200


def test_folder_is_fitted_to_colour_input(mixed_folder):
    data = load_user_data(mixed_folder, image_shape=COLOUR)

    assert data.dataset.image_shape == COLOUR
    assert data.notes[:2] == (
        "converted 46 grey images to colour (RGB)",
        "resized 70 images to 32x32: 24 from 16x16, 23 from 28x28, 23 from 40x40",
    )
    # The colour images were tinted red: their channels differ, the grey ones' do not.
    channels_differ = np.any(data.dataset.X_train[..., 0] != data.dataset.X_train[..., 2], (1, 2))
    assert 0 < channels_differ.sum() < len(data.dataset.X_train)


def test_png_files_of_the_input_size_load_exactly_with_nothing_to_note(grey_folder):
    root, images, labels = grey_folder

    data = load_user_data(root, image_shape=GREY)

    dataset = data.dataset
    loaded = np.concatenate([dataset.X_train, dataset.X_test])
    loaded_labels = np.concatenate([dataset.y_train, dataset.y_test])
    np.testing.assert_array_equal(sorted_rows(loaded, loaded_labels), sorted_rows(images, labels))
    assert len(data.notes) == 1 and data.notes[0].startswith("held out 10 of 70 images")


def test_train_and_test_folders_are_the_split(tmp_path):
    train, train_labels = digits(5)
    test, test_labels = digits(2, offset=5)
    root = tmp_path / "split"
    write_image_folder(root / "train", train, train_labels)
    # The test folder lacks the class 9: allowed, its classes are those of train/.
    keep = test_labels != 9
    write_image_folder(root / "test", test[keep], test_labels[keep])

    data = load_user_data(root, image_shape=GREY)

    dataset = data.dataset
    assert data.test_share is None and data.test_split_seed is None
    assert data.notes == ()
    assert dataset.class_names == tuple(str(digit) for digit in range(10))
    np.testing.assert_array_equal(dataset.X_train, train)  # class folders in name order
    np.testing.assert_array_equal(dataset.y_train, train_labels)
    np.testing.assert_array_equal(dataset.X_test, test[keep])
    np.testing.assert_array_equal(dataset.y_test, test_labels[keep])


def test_named_classes_sort_as_strings_and_skipped_files_are_noted(tmp_path):
    images, labels = digits(3)
    root = tmp_path / "animals"
    names = np.array(["cat", "dog", "ant", "bee", "cow", "elk", "fox", "gnu", "hen", "yak"])
    write_image_folder(root, images, names[labels])
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "README.md").write_text("my animals")
    (root / "dog" / ".DS_Store").write_bytes(b"hidden: skipped silently")

    data = load_user_data(root, image_shape=GREY, test_share=0.34)

    assert data.dataset.class_names == tuple(sorted(names))
    assert data.notes[0] == "skipped 2 files that are not images: README.md, cat/notes.txt"


# --- split and cache -----------------------------------------------------------------------


def test_same_seed_same_split_other_seed_other_split(grey_folder):
    root = grey_folder[0]

    first = load_user_data(root, image_shape=GREY, test_split_seed=1, cache_arrays=False)
    again = load_user_data(root, image_shape=GREY, test_split_seed=1)  # through the cache
    other = load_user_data(root, image_shape=GREY, test_split_seed=2)

    assert again.dataset.digest == first.dataset.digest
    for actual, expected in zip(
        dataset_arrays(again.dataset), dataset_arrays(first.dataset), strict=True
    ):
        np.testing.assert_array_equal(actual, expected)
    assert other.dataset.digest != first.dataset.digest
    assert other.dataset.sizes == first.dataset.sizes


def test_test_share_sets_the_held_out_count(grey_folder):
    data = load_user_data(grey_folder[0], image_shape=GREY, test_share=0.25)

    assert data.dataset.sizes == {"train": 52, "test": math.ceil(0.25 * 70)}
    assert data.test_share == 0.25
    assert "(test share 1/4, seed 0)" in data.notes[-1]


def test_cached_load_skips_decoding_until_a_file_changes(tmp_path, mixed_folder, monkeypatch):
    calls = decoding_counted(monkeypatch)
    first = load_user_data(mixed_folder, image_shape=GREY)
    cached = load_user_data(mixed_folder, image_shape=GREY)

    assert calls == [70]
    assert cached.dataset.digest == first.dataset.digest
    assert cached.notes == first.notes
    assert cached.dataset.class_names == first.dataset.class_names
    entries = list((tmp_path / "user-cache" / "arrays" / "user-data").iterdir())
    assert len(entries) == 1

    # Another input shape is another entry.
    load_user_data(mixed_folder, image_shape=COLOUR)
    assert calls == [70, 70]

    # Rewriting one file (same size, same name) decodes again, and the old entry goes.
    image = next((mixed_folder / "3").iterdir())
    image.write_bytes(image.read_bytes())
    os.utime(image, ns=(1, 1))
    load_user_data(mixed_folder, image_shape=GREY)
    assert calls == [70, 70, 70]

    # So does one more image.
    (mixed_folder / "3" / "extra.png").write_bytes(image.read_bytes())
    more = load_user_data(mixed_folder, image_shape=GREY)
    assert calls == [70, 70, 70, 71]
    assert len(more.dataset.y_train) + len(more.dataset.y_test) == 71
    assert load_user_data(mixed_folder, image_shape=GREY).dataset.digest == more.dataset.digest
    assert calls == [70, 70, 70, 71]


def test_worker_processes_decode_as_one_process_does(mixed_folder, monkeypatch):
    serial = load_user_data(mixed_folder, image_shape=GREY, cache_arrays=False)
    monkeypatch.setattr(bench.data.image_decoding, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(bench.data.image_decoding, "CHUNK_FILES", 8)
    monkeypatch.setattr(bench.data.image_decoding, "usable_cores", lambda: 2)
    done = []

    parallel = load_user_data(
        mixed_folder,
        image_shape=GREY,
        cache_arrays=False,
        progress=lambda images, total: done.append((images, total)),
    )

    assert parallel.dataset.digest == serial.dataset.digest
    assert parallel.notes == serial.notes
    assert done == [(min(8 * chunk, 70), 70) for chunk in range(1, 10)]


# --- CSV and .npz --------------------------------------------------------------------------


def test_kaggle_csv_loads_and_is_split(tmp_path):
    images, labels = digits(7)
    path = write_pixel_csv(tmp_path / "train.csv", images, labels)

    data = load_user_data(path, image_shape=GREY)

    dataset = data.dataset
    assert dataset.name == "train"
    assert dataset.class_names == tuple(str(digit) for digit in range(10))
    loaded = np.concatenate([dataset.X_train, dataset.X_test])
    loaded_labels = np.concatenate([dataset.y_train, dataset.y_test])
    np.testing.assert_array_equal(sorted_rows(loaded, loaded_labels), sorted_rows(images, labels))
    assert data.notes[0] == "read 70 images of 28x28 from 784 pixel columns"
    assert data.test_share == 1 / 7


@pytest.mark.parametrize("label_name", ["Label", "target", "y", "class"])
def test_csv_label_column_is_found_by_name(tmp_path, label_name):
    images, labels = digits(2, side=8)
    names = np.array(list("abcdefghij"))[labels]
    path = write_pixel_csv(tmp_path / "letters.csv", images, names, label_name=label_name)

    data = load_user_data(path, image_shape=(8, 8), test_share=0.5)

    assert data.dataset.class_names == tuple("abcdefghij")


def test_csv_label_column_given_and_fractions_scaled(tmp_path):
    images, labels = digits(2, side=8)
    lines = pixel_csv_text(images / 255, labels, label_name="digit")
    path = tmp_path / "fractions.csv"
    path.write_text("\n".join(lines))

    data = load_user_data(path, image_shape=GREY, label_column="digit", test_share=0.5)

    assert data.notes[:3] == (
        "read 20 images of 8x8 from 64 pixel columns",
        "scaled pixels from 0..1 to 0..255",
        "resized 20 images from 8x8 to 28x28",
    )


def test_npz_keeps_its_split_and_fits_colour_to_grey(tmp_path):
    train, train_labels = digits(3)
    test, test_labels = digits(1, offset=3)
    colour = np.stack([train, train, train], axis=-1)
    path = write_npz(
        tmp_path / "digits.npz",
        x_train=colour,  # Keras' mnist.npz spelling
        y_train=train_labels.reshape(-1, 1),
        x_test=np.stack([test] * 3, axis=-1),
        y_test=test_labels,
    )

    data = load_user_data(path, image_shape=GREY)

    assert data.test_share is None and data.test_split_seed is None
    assert data.notes == ("converted 40 colour images to grey",)
    np.testing.assert_array_equal(data.dataset.X_train, train)  # equal channels: same grey
    np.testing.assert_array_equal(data.dataset.y_test, test_labels)
    assert data.dataset.name == "digits"


# --- mistakes: one line, nothing cached ----------------------------------------------------


def test_missing_path(tmp_path):
    message = load_error(tmp_path / "nowhere", DataNotFoundError)
    assert message == (
        f"no file or folder {tmp_path / 'nowhere'}; data is a folder of class folders of "
        "images (PNG, JPEG, BMP, GIF, TIFF), a .csv of a label and pixels a row, or an "
        ".npz with X_train, y_train, X_test, y_test"
    )


@pytest.mark.parametrize("name", ["data.txt", "picture.png", "sheet.xlsx"])
def test_unsupported_file_type(tmp_path, name):
    (tmp_path / name).write_text("1,2,3")
    message = load_error(tmp_path / name, UsageError)
    assert message.startswith(f"cannot read {tmp_path / name} as data: give a folder of class")


def test_empty_folder(tmp_path):
    (tmp_path / "empty").mkdir()
    assert "empty; expected one folder of images per class" in load_error(tmp_path / "empty")
    assert_nothing_cached(tmp_path)


def test_images_outside_class_folders(tmp_path):
    images, labels = digits(1)
    for index, image in enumerate(images):
        write_image_folder(tmp_path / "flat", image[None], labels[:1])
        (tmp_path / "flat" / "0" / "0000.png").rename(tmp_path / "flat" / f"{index}.png")
    message = load_error(tmp_path / "flat")
    assert "holds images outside class folders (0.png, 1.png, 2.png and 7 more)" in message


def test_a_single_class(tmp_path):
    images, labels = digits(3)
    write_image_folder(tmp_path / "one", images[labels == 4], labels[labels == 4])
    message = load_error(tmp_path / "one")
    assert message.endswith(
        "holds one class folder (4/); a classifier needs at least 2 classes, one folder each"
    )


def test_a_class_too_small_to_split_is_refused_before_decoding(tmp_path, monkeypatch):
    calls = decoding_counted(monkeypatch)
    images, labels = digits(3)
    keep = np.flatnonzero(labels != 6).tolist() + [int(np.flatnonzero(labels == 6)[0])]
    write_image_folder(tmp_path / "small", images[keep], labels[keep])
    message = load_error(tmp_path / "small")
    assert message.startswith("class '6' of ")
    assert "has 1 image; holding out a test split takes at least 2 of each class" in message
    assert calls == []
    assert_nothing_cached(tmp_path)


def test_too_few_images_for_the_test_share(tmp_path):
    images, labels = digits(2)
    write_image_folder(tmp_path / "few", images, labels)
    message = load_error(tmp_path / "few")  # 1/7 of 20 is 3 test images for 10 classes
    assert "leaves 3 for testing and 17 for training, fewer than its 10 classes" in message


@pytest.mark.parametrize("share", [0, 1, 1.5, -0.1])
def test_test_share_out_of_range(grey_folder, share):
    assert "is not between 0 and 1" in load_error(grey_folder[0], UsageError, test_share=share)


def test_unreadable_image_is_named(tmp_path, grey_folder, monkeypatch):
    root = grey_folder[0]
    bad = root / "5" / "0052.png"
    bad.write_text("this is not a PNG")
    message = load_error(root, CorruptDataError)
    assert message.startswith(f"{bad} is not an image Pillow can read; images must be whole")
    assert_nothing_cached(tmp_path)
    # The same from a worker process.
    monkeypatch.setattr(bench.data.image_decoding, "PARALLEL_MIN_FILES", 1)
    monkeypatch.setattr(bench.data.image_decoding, "CHUNK_FILES", 8)
    monkeypatch.setattr(bench.data.image_decoding, "usable_cores", lambda: 2)
    assert load_error(root, CorruptDataError) == message


@pytest.mark.parametrize("suffix", [".png", ".jpg"])
def test_truncated_image_is_named(tmp_path, suffix):
    images, labels = digits(7, side=64)
    paths = write_image_folder(tmp_path / "cut", images, labels, suffixes=(suffix,))
    raw = paths[30].read_bytes()
    paths[30].write_bytes(raw[: len(raw) * 2 // 3])
    message = load_error(tmp_path / "cut", CorruptDataError)
    assert message.startswith(f"{paths[30]} cannot be read as an image: image file is truncated")
    assert_nothing_cached(tmp_path)


def test_train_folder_without_test_folder(tmp_path):
    images, labels = digits(2)
    write_image_folder(tmp_path / "half" / "train", images, labels)
    message = load_error(tmp_path / "half")
    assert "holds a train/ folder but no test/ folder; give both" in message


def test_test_classes_without_training_folder(tmp_path):
    images, labels = digits(2)
    write_image_folder(tmp_path / "odd" / "train", images[labels < 5], labels[labels < 5])
    write_image_folder(tmp_path / "odd" / "test", images, labels)
    message = load_error(tmp_path / "odd")
    assert "holds classes with no training images: 5/, 6/, 7/, 8/, 9/" in message


def test_class_folder_without_images(tmp_path, grey_folder):
    root = grey_folder[0]
    (root / "empty-class").mkdir()
    (root / "empty-class" / "notes.txt").write_text("no images here")
    message = load_error(root)
    assert message.startswith(f"class folder {root / 'empty-class'} holds no images (PNG, JPEG")


def csv_file(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "bad.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_csv_row_of_another_length_is_named(tmp_path):
    images, labels = digits(1)
    lines = pixel_csv_text(images, labels)
    lines[3] = lines[3].rsplit(",", 1)[0]  # file line 4: one pixel short
    message = load_error(csv_file(tmp_path, lines), CorruptDataError)
    assert "line 4 of " in message and "has 784 values, the header 785" in message
    lines = pixel_csv_text(images, labels)
    lines[5] += ",0"  # file line 6: one value too many
    message = load_error(csv_file(tmp_path, lines), CorruptDataError)
    assert "line 6 of " in message and "has 786 values, the header 785" in message
    assert_nothing_cached(tmp_path)


@pytest.mark.parametrize("value", ["x", "", "nan"])
def test_csv_non_numeric_pixel_is_named(tmp_path, value):
    images, labels = digits(1)
    lines = pixel_csv_text(images, labels)
    fields = lines[2].split(",")
    fields[6] = value  # pixel5
    lines[2] = ",".join(fields)
    message = load_error(csv_file(tmp_path, lines), CorruptDataError)
    assert f"line 3 of {tmp_path / 'bad.csv'} has {value!r} in column 'pixel5', not a number" in (
        message
    )


def test_csv_pixel_count_not_square(tmp_path):
    images, labels = digits(1)
    lines = [",".join(line.split(",")[:-1]) for line in pixel_csv_text(images, labels)]
    message = load_error(csv_file(tmp_path, lines), CorruptDataError)
    assert "has 783 pixel columns besides 'label', not a square number" in message


def test_csv_pixel_out_of_range(tmp_path):
    images, labels = digits(2)
    lines = pixel_csv_text(images.astype(np.int64) * 2, labels)
    message = load_error(csv_file(tmp_path, lines), CorruptDataError)
    assert "holds pixels from 0 to 510; expected whole numbers in 0..255" in message


def test_csv_without_label_column(tmp_path):
    images, labels = digits(1)
    path = write_pixel_csv(tmp_path / "nolabel.csv", images, labels, label_name="digit")
    message = load_error(path, CorruptDataError)
    assert "has no label column: none is named label, labels, class, target, y" in message
    message = load_error(path, UsageError, label_column="kind")
    columns = "digit, pixel0, pixel1, pixel2, pixel3, ..."
    assert message == f"{path} has no column 'kind'; its columns are {columns}"


def test_csv_with_two_label_columns(tmp_path):
    lines = ["label,y,pixel0", "1,1,0", "2,2,0"]
    message = load_error(csv_file(tmp_path, lines), CorruptDataError)
    assert "has columns label and y; either could hold the labels" in message


def test_npz_missing_keys(tmp_path):
    images, labels = digits(1)
    path = write_npz(tmp_path / "part.npz", X_train=images, y_train=labels)
    message = load_error(path, CorruptDataError)
    assert message == (
        f"{path} lacks X_test, y_test; it holds X_train, y_train, expected X_train, "
        "y_train, X_test, y_test"
    )


def test_npz_labels_not_matching_images(tmp_path):
    images, labels = digits(2)
    path = write_npz(
        tmp_path / "short.npz", X_train=images, y_train=labels[:-1], X_test=images, y_test=labels
    )
    message = load_error(path, CorruptDataError)
    assert "has 20 images in X_train but y_train is of shape (19,); expected one label" in message
    assert_nothing_cached(tmp_path)


def test_npz_test_class_without_training_images(tmp_path):
    images, labels = digits(2)
    train = labels < 8
    path = write_npz(
        tmp_path / "odd.npz",
        X_train=images[train],
        y_train=labels[train],
        X_test=images,
        y_test=labels,
    )
    message = load_error(path)
    assert message.endswith("the test labels hold classes with no training images: 8, 9")


def test_damaged_npz(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    assert "cannot read" in load_error(path, CorruptDataError)


def test_a_cached_folder_with_a_test_share_too_large_for_it(grey_folder):
    load_user_data(grey_folder[0], image_shape=GREY)  # cached now
    message = load_error(grey_folder[0], test_share=0.9)
    assert "leaves 63 for testing and 7 for training, fewer than its 10 classes" in message


def test_csv_with_a_header_only(tmp_path):
    message = load_error(csv_file(tmp_path, ["label,pixel0"]), CorruptDataError)
    assert message.endswith("bad.csv has a header but no rows; expected one image a row")


def test_npz_without_test_images(tmp_path):
    images, labels = digits(1)
    path = write_npz(
        tmp_path / "notest.npz",
        X_train=images,
        y_train=labels,
        X_test=images[:0],
        y_test=labels[:0],
    )
    assert load_error(path, CorruptDataError) == f"{path} holds no images in X_test"

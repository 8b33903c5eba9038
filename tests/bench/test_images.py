"""A user's own pictures prepared as the training images looked: MNIST's own
preprocessing for digits, on pictures the test draws itself."""

import numpy as np
import pytest
from PIL import Image, ImageDraw

from bench.errors import UsageError
from bench.images import image_style, preprocess, read_image

PAPER, INK = (245, 242, 235), (20, 20, 30)


def drawn_one(size=(240, 180), paper=PAPER, ink=INK, mode="RGB"):
    """A '1': one thick stroke, off-centre, on a page much larger than 28x28."""
    picture = Image.new(mode, size, paper)
    ImageDraw.Draw(picture).line([(150, 30), (150, 150)], fill=ink, width=14)
    return picture


def drawn_zero():
    picture = Image.new("RGB", (240, 180), PAPER)
    ImageDraw.Draw(picture).ellipse([(40, 25), (120, 155)], outline=INK, width=14)
    return picture


MNIST = image_style("mnist", (28, 28), 255.0)


def ink_box(image, threshold=40):
    rows, columns = np.nonzero(image > threshold)
    return rows.min(), rows.max(), columns.min(), columns.max()


def centre_of_mass(image):
    rows, columns = np.indices(image.shape)
    total = image.sum()
    return (rows * image).sum() / total, (columns * image).sum() / total


@pytest.mark.parametrize("picture", [drawn_one(), drawn_zero()], ids=["one", "zero"])
def test_mnist_preprocessing_crops_scales_to_20_pixels_and_centres_by_mass(picture):
    image = preprocess(picture, MNIST)
    assert image.shape == (28, 28) and image.dtype == np.uint8
    top, bottom, left, right = ink_box(image, threshold=0)
    assert max(bottom - top, right - left) + 1 <= 21  # the longer side: 20 pixels
    assert max(bottom - top, right - left) + 1 >= 18
    row, column = centre_of_mass(image.astype(float))
    assert abs(row - 13.5) <= 1 and abs(column - 13.5) <= 1
    assert image.max() > 200 and image[0].max() == 0  # bright ink, dark border


def test_light_ink_on_dark_gives_the_same_digit_as_dark_on_light():
    dark_on_light = preprocess(drawn_one(mode="L", paper=240, ink=15), MNIST)
    light_on_dark = preprocess(drawn_one(mode="L", paper=15, ink=240), MNIST)
    assert np.abs(dark_on_light.astype(int) - light_on_dark.astype(int)).max() <= 2


def test_digits_models_get_8x8_images_in_their_0_to_16_range():
    image = preprocess(drawn_one(), image_style("digits", (8, 8), 16.0))
    assert image.shape == (8, 8) and 12 <= image.max() <= 16


def test_colour_models_get_the_picture_resized():
    picture = Image.new("RGB", (100, 60), (200, 30, 10))
    image = preprocess(picture, image_style("cifar10", (32, 32, 3), 255.0))
    assert image.shape == (32, 32, 3)
    assert tuple(image[16, 16]) == (200, 30, 10)


def test_an_empty_page_is_blank_not_an_error():
    assert preprocess(Image.new("L", (50, 50), 255), MNIST).max() == 0


def test_a_file_that_is_not_an_image_is_one_line(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    with pytest.raises(UsageError, match=r"cannot read .*notes.txt as an image \(PNG, JPEG"):
        read_image(notes)
    with pytest.raises(UsageError, match="no image file"):
        read_image(tmp_path / "missing.png")

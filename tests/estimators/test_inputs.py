"""Bad input fails in fit, predict or transform with a ValueError a user understands.

Where scikit-learn has words for the mistake (NaN, infinity, 1-D X, no samples, a
wrong feature count) the message is scikit-learn's, naming X. Each case runs on each
estimator it applies to, with X given flat and as images where both are accepted.
"""

import numpy as np
import pytest
from sklearn.base import clone, is_classifier

from estimators import HOGTransformer, KerasCNNClassifier, KerasMLPClassifier, PixelScaler

N_IMAGES, SIDE = 20, 8
N_PIXELS = SIDE * SIDE


def mlp():
    return KerasMLPClassifier((4,), epochs=1, batch_size=8, random_state=0)


def cnn():
    return KerasCNNClassifier((2,), 3, 2, (4,), epochs=1, batch_size=8, random_state=0)


def hog():
    return HOGTransformer(orientations=4, pixels_per_cell=4, cells_per_block=1)


def scaler():
    return PixelScaler(max_value=1.0)


ALL = [mlp, cnn, hog, scaler]
CLASSIFIERS = [mlp, cnn]
NEED_IMAGES = [cnn, hog]  # a flat row must be a square image
FORMS = ["flat", "images"]


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    images = rng.random((N_IMAGES, SIDE, SIDE), dtype=np.float32)
    labels = rng.permutation(np.arange(N_IMAGES) % 2)
    return images, labels


@pytest.fixture(scope="module")
def fitted(data):
    """Each estimator fitted once on the images; only predicted with afterwards."""
    images, labels = data
    return {make: make().fit(images, labels) for make in ALL}


def as_form(images: np.ndarray, form: str) -> np.ndarray:
    return images.reshape(len(images), N_PIXELS) if form == "flat" else images


def with_value(images: np.ndarray, value: float) -> np.ndarray:
    bad = images.copy()
    bad[3, 2, 5] = value
    return bad


def use(estimator, X, y=None):
    """What a user calls after fit: predict for a classifier, transform otherwise."""
    return estimator.predict(X) if is_classifier(estimator) else estimator.transform(X)


NON_FINITE = [(np.nan, "Input X contains NaN"), (np.inf, "Input X contains infinity")]


@pytest.mark.parametrize("value, message", NON_FINITE, ids=["nan", "inf"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("make", ALL)
def test_non_finite_X_at_fit(data, make, form, value, message):
    images, labels = data
    with pytest.raises(ValueError, match=message):
        make().fit(as_form(with_value(images, value), form), labels)


@pytest.mark.parametrize("value, message", NON_FINITE, ids=["nan", "inf"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("make", ALL)
def test_non_finite_X_after_fit(data, fitted, make, form, value, message):
    images, _ = data
    with pytest.raises(ValueError, match=message):
        use(fitted[make], as_form(with_value(images, value), form))


ONE_D = "Expected 2D array, got 1D array instead"


@pytest.mark.parametrize("make", ALL)
def test_1d_X_at_fit(data, make):
    images, labels = data
    one_column = images.reshape(N_IMAGES, -1)[:, 0]
    with pytest.raises(ValueError, match=ONE_D):
        make().fit(one_column, labels)


@pytest.mark.parametrize("make", ALL)
def test_1d_X_after_fit(data, fitted, make):
    # The usual slip: one flattened image instead of a batch of one.
    images, _ = data
    advice = r"reshape\(1, -1\) if it contains a single sample"
    with pytest.raises(ValueError, match=f"(?s){ONE_D}.*{advice}"):
        use(fitted[make], images[0].ravel())


EMPTY = r"Found array with 0 sample\(s\) \(shape=\(0, "


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("make", ALL)
def test_empty_X_at_fit(data, make, form):
    images, labels = data
    with pytest.raises(ValueError, match=EMPTY):
        make().fit(as_form(images[:0], form), labels[:0])


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("make", ALL)
def test_empty_X_after_fit(data, fitted, make, form):
    images, _ = data
    with pytest.raises(ValueError, match=EMPTY):
        use(fitted[make], as_form(images[:0], form))


@pytest.mark.parametrize("label", [1, "cat"])
@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("make", CLASSIFIERS)
def test_single_class(data, make, form, label):
    images, _ = data
    estimator = make()
    name = type(estimator).__name__
    only = np.full(N_IMAGES, label)
    with pytest.raises(
        ValueError,
        match=f"^{name} needs samples of at least 2 classes; "
        f"the data contains only one class: {label!r}\\.$",
    ):
        estimator.fit(as_form(images, form), only)


NOT_SQUARE = {
    cnn: r"X has 60 features, which is not a square number; pass X shaped "
    r"\(n_samples, height, width\)",
    hog: r"X has 60 features per row, which is not a perfect square.*"
    r"\(n_images, height, width\)",
}


@pytest.mark.parametrize("make", NEED_IMAGES)
def test_non_square_flat_images(data, make):
    images, labels = data
    estimator = make()
    not_square = images[:, :6, :10]  # 6x8: 48 pixels would be square-free too

    with pytest.raises(ValueError, match=NOT_SQUARE[make]):
        estimator.fit(images.reshape(N_IMAGES, -1)[:, :60], labels)
    # What the message advises works: the same kind of images, shaped.
    fitted = clone(estimator).fit(not_square, labels)
    assert fitted.image_shape_[:2] == not_square.shape[1:]


def wrong_count_message(estimator, n_features: int) -> str:
    name = type(estimator).__name__
    return f"^X has {n_features} features, but {name} is expecting {N_PIXELS} features as input"


@pytest.mark.parametrize(
    "make, method",
    [
        (mlp, "predict"),
        (mlp, "predict_proba"),
        (mlp, "score"),
        (cnn, "predict"),
        (cnn, "predict_proba"),
        (cnn, "score"),
        (hog, "transform"),
        (scaler, "transform"),
    ],
)
def test_wrong_feature_count_after_fit(data, fitted, make, method):
    images, labels = data
    estimator = fitted[make]
    X = images.reshape(N_IMAGES, -1)[:, :49]
    args = (X, labels) if method == "score" else (X,)
    with pytest.raises(ValueError, match=wrong_count_message(estimator, 49)):
        getattr(estimator, method)(*args)


@pytest.mark.parametrize("make", ALL)
def test_images_of_another_size_after_fit(data, fitted, make):
    images, _ = data
    estimator = fitted[make]
    wider = np.concatenate([images, images[:, :, :1]], axis=2)  # 8x9
    if is_classifier(estimator):
        message = (
            rf"^X has images of shape \(8, 9, 1\), but {type(estimator).__name__} "
            rf"was fitted on images of shape \(8, 8, 1\)"
        )
    else:
        message = wrong_count_message(estimator, 72)
    with pytest.raises(ValueError, match=message):
        use(estimator, wider)

"""One validation split for every classifier: the rows a Keras network holds out are
the rows the harness holds out for a scikit-learn baseline with the same seed."""

import numpy as np
from sklearn.datasets import load_digits

from estimators import KerasMLPClassifier
from estimators.splits import holdout_indices


def test_the_split_is_stratified_and_follows_the_seed():
    labels = np.repeat(np.arange(10), 30)
    train, val = holdout_indices(labels, 0.1, random_state=4)
    assert len(val) == 30 and len(train) == 270 and not set(train) & set(val)
    assert np.bincount(labels[val]).tolist() == [3] * 10
    again, _ = holdout_indices(labels, 0.1, random_state=4)
    other, _ = holdout_indices(labels, 0.1, random_state=5)
    assert np.array_equal(train, again) and not np.array_equal(train, other)
    # A column of class indices (scikeras' encoding) and one-hot rows split alike.
    column, _ = holdout_indices(labels[:, None].astype(float), 0.1, random_state=4)
    one_hot, _ = holdout_indices(np.eye(10)[labels], 0.1, random_state=4)
    assert np.array_equal(column, train) and np.array_equal(one_hot, train)


def test_a_network_holds_out_the_same_rows():
    X, y = load_digits(return_X_y=True)
    network = KerasMLPClassifier(validation_split=0.1, random_state=7, epochs=1)
    network.initialize(X[:20], y[:20])
    encoded = network.target_encoder_.transform(y)
    carved_X, _, _, (val_X, _) = network._carve_validation(X, encoded, None)
    train, val = holdout_indices(y, 0.1, random_state=7)
    assert np.array_equal(carved_X, X[train]) and np.array_equal(val_X, X[val])

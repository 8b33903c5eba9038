"""The bare Keras script ``bench perf harness`` compares ``bench run mnist-cnn`` with.

It trains the seed CNN the way a careful user would by hand: the same arrays, the
same 10% stratified validation split, seeded and deterministic like bench, then one
evaluation on the test set. No tracking, no reports. Run as
``python -m bench.perf.bare_cnn ARRAYS.npz EPOCHS``.
"""

from __future__ import annotations

import sys

import numpy as np
from sklearn.model_selection import train_test_split

from bench.runtime.backend import import_keras


def build_seed_cnn(keras, n_classes: int):
    """The mnist-cnn network: 9@5x5, 9@5x5, 16@3x3, each max-pooled, dense 300-30."""
    layers = [keras.Input((28, 28, 1))]
    for filters, kernel in ((9, 5), (9, 5), (16, 3)):
        layers += [
            keras.layers.Conv2D(filters, kernel, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(2),
        ]
    layers.append(keras.layers.Flatten())
    for units in (300, 30):
        layers += [keras.layers.Dense(units, activation="relu"), keras.layers.Dropout(0.4)]
    layers.append(keras.layers.Dense(n_classes, activation="softmax"))
    return keras.Sequential(layers)


def main(path: str, epochs: int, seed: int = 0) -> float:
    keras = import_keras(quiet=True)
    from estimators.backends import enable_op_determinism

    arrays = np.load(path, allow_pickle=False)
    X = arrays["X_train"].astype("float32")[..., None] / 255.0
    X_test = arrays["X_test"].astype("float32")[..., None] / 255.0
    y, y_test = arrays["y_train"], arrays["y_test"]
    X, X_val, y, y_val = train_test_split(X, y, test_size=0.1, stratify=y, random_state=seed)
    keras.utils.set_random_seed(seed)
    enable_op_determinism()
    model = build_seed_cnn(keras, n_classes=10)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(X, y, epochs=epochs, batch_size=128, validation_data=(X_val, y_val), verbose=0)
    _, accuracy = model.evaluate(X_test, y_test, batch_size=128, verbose=0)
    return float(accuracy)


if __name__ == "__main__":
    print(f"{main(sys.argv[1], int(sys.argv[2])):.4f}")

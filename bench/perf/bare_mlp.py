"""The bare script ``bench perf startup`` compares ``bench run digits-mlp`` with.

What a user would write by hand for the same run: import Keras and MLflow, load
scikit-learn's digits, hold out the same stratified 10% for validation, train the
``digits-mlp`` network (MLP 128, dropout 0.1, Adam, batch 32) and score it on the test
split. No tracking, no reports. Prints the seconds spent in ``fit``. Run as
``python -m bench.perf.bare_mlp EPOCHS``.
"""

from __future__ import annotations

import sys
import time


def main(epochs: int, seed: int = 0) -> float:
    import keras
    import mlflow  # noqa: F401  (what a tracked script imports, even before it logs)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    X = digits.images.reshape(len(digits.images), -1).astype("float32") / 16.0
    X, X_test, y, y_test = train_test_split(
        X, digits.target, test_size=0.25, stratify=digits.target, random_state=0
    )
    X, X_val, y, y_val = train_test_split(X, y, test_size=0.1, stratify=y, random_state=seed)
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(128, activation="relu"),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    started = time.perf_counter()
    model.fit(X, y, epochs=epochs, batch_size=32, validation_data=(X_val, y_val), verbose=0)
    seconds = time.perf_counter() - started
    model.evaluate(X_test, y_test, verbose=0)
    return seconds


if __name__ == "__main__":
    print(f"fit_seconds {main(int(sys.argv[1])):.4f}")

"""The package's names are imported on first use: Keras only with a Keras estimator."""

import subprocess
import sys

import pytest

# Prints whether Keras or TensorFlow is loaded after each step.
STEPS = """
import sys

def keras_loaded():
    return any(name in sys.modules for name in ("keras", "tensorflow"))

import estimators
from estimators import HOGTransformer, ImageFlattener, PixelScaler, mlp_weights
print(keras_loaded())
from estimators import KerasMLPClassifier
print(keras_loaded(), KerasMLPClassifier.__module__)
"""


def test_keras_is_imported_only_with_a_keras_estimator():
    done = subprocess.run([sys.executable, "-c", STEPS], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "True", "estimators.mlp"]


def test_names_are_listed_and_unknown_ones_refused():
    import estimators

    assert {"KerasCNNClassifier", "HOGTransformer", "PixelScaler"} <= set(dir(estimators))
    assert set(estimators.__all__) == set(dir(estimators))
    with pytest.raises(AttributeError, match="KerasMLP"):
        estimators.KerasMLP  # noqa: B018

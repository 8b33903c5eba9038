"""scikit-learn estimators for image classification: Keras networks and HOG features."""

from estimators.activations import ACTIVATIONS, scaled_tanh
from estimators.cnn import KerasCNNClassifier
from estimators.hog import HOGTransformer
from estimators.mlp import KerasMLPClassifier
from estimators.scaling import PixelScaler

__all__ = [
    "ACTIVATIONS",
    "HOGTransformer",
    "KerasCNNClassifier",
    "KerasMLPClassifier",
    "PixelScaler",
    "scaled_tanh",
]

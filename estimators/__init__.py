"""scikit-learn estimators for image classification: Keras networks and HOG features.

Names are imported on first use (:func:`lazy_loader.attach`), so
``from estimators import HOGTransformer`` does not pay for importing Keras and its
backend.
"""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(
    __name__,
    submod_attrs={
        "activations": ["ACTIVATIONS", "lecun_tanh", "scaled_tanh"],
        "cnn": ["KerasCNNClassifier"],
        "hog": ["HOGTransformer"],
        "keras_base": ["KerasImageClassifier"],
        "mlp": ["KerasDeepMLPClassifier", "KerasMLPClassifier"],
        "scaling": ["ImageFlattener", "PixelScaler"],
        "sizes": ["cnn_weights", "hog_features", "mlp_weights"],
    },
)

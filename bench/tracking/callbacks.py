"""The Keras callback that logs each epoch to MLflow as it ends."""

from __future__ import annotations

import keras

from bench.runtime.interrupts import raise_if_interrupted
from bench.tracking.runs import TrackedRun


class EpochLogger(keras.callbacks.Callback):
    """Per-epoch metrics go to MLflow as they happen (step = epoch), so Ctrl-C
    keeps them.

    Attributes
    ----------
    epochs_done : int
        Epochs whose metrics were logged.
    """

    def __init__(self, run: TrackedRun):
        super().__init__()
        self.run = run
        self.epochs_done = 0

    def on_epoch_end(self, epoch, logs=None):
        self.run.log_metrics(dict(logs or {}), step=epoch + 1)
        self.epochs_done = epoch + 1
        raise_if_interrupted()

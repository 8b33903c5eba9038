"""Keras backend start-up: keep the libraries' own chatter out of the terminal.

TensorFlow's C++ runtime writes log lines straight to file descriptor 2 while it is
imported, whatever Python's logging says; the only way to keep them off the
terminal is to point that descriptor elsewhere for the duration of the import.
"""

from __future__ import annotations

import contextlib
import logging
import os
import warnings
from collections.abc import Iterator

NOISY_LOGGERS = ("tensorflow", "absl", "keras", "h5py", "matplotlib", "PIL", "optuna")


def quiet_libraries() -> None:
    """Silence TensorFlow, absl and Keras logging and library warnings."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("keras", "tensorflow", "sklearn", "scikeras", "absl", "google", "optuna"):
        warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")


def import_keras(*, quiet: bool = True):
    """Import Keras (and with it the backend framework), optionally silently."""
    if not quiet:
        import keras

        return keras
    quiet_libraries()
    with stderr_to_devnull():
        import keras
    return keras


@contextlib.contextmanager
def stderr_to_devnull() -> Iterator[None]:
    """Point file descriptor 2 at /dev/null, then restore it (even on errors)."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all (e.g. a detached process): nothing to hide
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)

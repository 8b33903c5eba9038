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


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def share_cores(workers: int) -> int:
    """Give each of ``workers`` concurrent worker processes its share of the cores.

    Every framework sizes its thread pools to all cores by default, so two trials
    training at once would each start that many threads and fight over the cores.
    The pools are sized when the framework starts, so this must run before Keras is
    imported; worker processes inherit the setting. Returns the threads each gets.
    """
    threads = max(1, usable_cores() // max(1, workers))
    if workers > 1:
        # TensorFlow reads these when its runtime starts: the op kernels of a worker
        # use ``threads`` threads, with up to two ops in flight at once.
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", str(threads))
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", "2")
        if threads == 1:
            flags = os.environ.get("XLA_FLAGS", "")
            os.environ["XLA_FLAGS"] = f"{flags} --xla_cpu_multi_thread_eigen=false".strip()
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))  # torch's CPU kernels
    return threads


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

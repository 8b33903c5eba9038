"""Keras backend start-up for the command line: keep the libraries' own chatter out
of the terminal (``estimators.backends`` hides TensorFlow's start-up lines, which its
C++ runtime writes straight to file descriptor 2), and share the cores among workers.
"""

from __future__ import annotations

import logging
import os
import warnings

import psutil

from bench.errors import UsageError

NOISY_LOGGERS = ("tensorflow", "absl", "keras", "h5py", "matplotlib", "PIL", "optuna")


def quiet_libraries() -> None:
    """Silence TensorFlow, absl and Keras logging and library warnings."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("ABSL_MIN_LOG_LEVEL", "3")
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    for module in ("keras", "tensorflow", "sklearn", "scikeras", "absl", "google", "optuna"):
        warnings.filterwarnings("ignore", module=rf"{module}(\.|$)")


# A SLURM task's share of its node. SLURM without CPU binding (task/none, common) leaves
# the process's affinity at the whole node, so its grant has to be read from here.
SLURM_CPUS_VARIABLE = "SLURM_CPUS_PER_TASK"
SLURM_MEMORY_VARIABLES = ("SLURM_MEM_PER_NODE", "SLURM_MEM_PER_CPU")  # megabytes


def usable_cores() -> int:
    """CPU cores this process may run on: its affinity, not the machine's count, and
    no more than a SLURM task's ``--cpus-per-task``."""
    cores = _affinity()
    granted = _slurm_number(SLURM_CPUS_VARIABLE)
    return min(cores, granted) if granted else cores


def _affinity() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS, Windows
        return os.cpu_count() or 1


def available_memory() -> int:
    """Bytes this process may still use: the machine's available memory, no more than a
    SLURM task's ``--mem`` (or ``--mem-per-cpu`` times its cores)."""
    available = psutil.virtual_memory().available
    per_node, per_cpu = (_slurm_number(name) for name in SLURM_MEMORY_VARIABLES)
    granted = per_node or (per_cpu * usable_cores() if per_cpu else 0)
    return min(available, granted * 2**20) if granted else available


def _slurm_number(name: str) -> int:
    """A whole number SLURM set in the environment; 0 if unset (or not a number)."""
    text = os.environ.get(name, "").strip()
    return int(text) if text.isdigit() else 0


JOBS_VARIABLE = "BENCH_JOBS"
# A study trial's process at its peak: 1.08 GB RSS after 30 trials (`bench perf
# memory`), so 1.5 GiB each leaves the rest of the machine room.
TRIAL_MEMORY_BYTES = int(1.5 * 2**30)


def machine_jobs() -> int:
    """How many trials this machine runs at once when the user does not say:
    ``$BENCH_JOBS`` if set, else one per usable core (two trial processes on 2 cores
    completed 1.88x the trials of one), no more than the available memory holds.

    Raises
    ------
    UsageError
        If ``$BENCH_JOBS`` is set to anything but a whole number >= 1.
    """
    text = os.environ.get(JOBS_VARIABLE, "").strip()
    if text:
        if not text.isdigit() or int(text) < 1:
            raise UsageError(f"{JOBS_VARIABLE}={text!r} is not valid; use a whole number >= 1")
        return int(text)
    memory = available_memory() // TRIAL_MEMORY_BYTES
    return max(1, min(usable_cores(), memory))


def share_cores(workers: int) -> int:
    """Give each of ``workers`` concurrent worker processes its share of the cores.

    Every framework sizes its thread pools to all cores by default, so two trials
    training at once would each start that many threads and fight over the cores.
    The pools are sized when the framework starts, so this must run before Keras is
    imported; worker processes inherit the setting. Returns the threads each gets.
    """
    threads = max(1, usable_cores() // max(1, workers))
    # One worker on all the cores it may use keeps the frameworks' defaults; a SLURM
    # task granted fewer cores than its affinity shows must not spread over the node.
    if workers > 1 or threads < _affinity():
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
    """Import Keras (and with it the backend framework), optionally silently (see
    :func:`estimators.backends.tensorflow_start_up_hidden`)."""
    if not quiet:
        # Before any of our estimators: they would hide TensorFlow's start-up lines.
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0")
        import keras

        return keras
    quiet_libraries()
    from estimators import backends  # Keras starts there, its start-up lines hidden

    return backends.keras

"""Which process on which machine owns a run or trial, and whether it is still there.

Optuna's heartbeat finds dead workers only on RDB storage; the journal file (the
default store) has none. Instead every trial and MLflow run records its process as
``host:pid:start`` (the start time tells a reused pid from the original process),
and a later invocation on the same host closes what a vanished process left open.
"""

from __future__ import annotations

import os
import socket

import psutil

# The name this machine goes by in the records: the host name, unless set (containers
# that share a host name, or tests that play several machines on one).
HOST_VARIABLE = "BENCH_HOST"


def this_host() -> str:
    """``$BENCH_HOST`` if set, else this machine's host name."""
    return os.environ.get(HOST_VARIABLE) or socket.gethostname()


def this_process() -> str:
    """``host:pid:start`` of the current process."""
    return process_identity(os.getpid())


def process_identity(pid: int) -> str:
    """``host:pid:start`` of process ``pid`` on this host (``start`` is ``?`` if gone)."""
    try:
        start = _start_text(psutil.Process(pid))
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        start = "?"
    return f"{this_host()}:{pid}:{start}"


def process_is_gone(identity: str) -> bool:
    """True if ``identity`` ran on this host and that process no longer exists.

    A process on another host, or a malformed record, is never declared gone: this
    host cannot know, and closing a live run would be worse than leaving it open.
    """
    host, _, rest = identity.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != this_host() or not pid_text.isdigit():
        return False
    try:
        process = psutil.Process(int(pid_text))
        if process.status() == psutil.STATUS_ZOMBIE:  # exited, not yet reaped
            return True
        return start not in ("", "?") and _start_text(process) != start
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:  # someone else's process: it exists
        return False


def _start_text(process: psutil.Process) -> str:
    # Seconds since the epoch, to the clock tick psutil reads them in.
    return f"{process.create_time():.2f}"


def slurm_job() -> tuple[str, str]:
    """The SLURM job this process runs in and its array task: ``("1234", "2")`` for
    task 2 of array job 1234, ``("1235", "")`` for a plain job, ``("", "")`` outside
    SLURM."""
    array = os.environ.get("SLURM_ARRAY_JOB_ID", "")
    if array:
        return array, os.environ.get("SLURM_ARRAY_TASK_ID", "")
    return os.environ.get("SLURM_JOB_ID", ""), ""

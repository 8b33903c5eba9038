"""Which process on which machine owns a run or trial, and whether it is still there.

Optuna's heartbeat finds dead workers only on RDB storage; the journal file (the
default store) has none. Instead every trial and MLflow run records its worker as
``host:pid:start`` (the start time tells a reused pid from the original process),
and a later invocation on the same host closes what a vanished worker left open.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path


def this_worker() -> str:
    """``host:pid:start`` of the current process."""
    return worker_id(os.getpid())


def worker_id(pid: int) -> str:
    """``host:pid:start`` of process ``pid`` on this host."""
    return f"{socket.gethostname()}:{pid}:{_start_ticks(pid)}"


def worker_is_gone(worker: str) -> bool:
    """True if ``worker`` ran on this host and that process no longer exists.

    A worker on another host, or a malformed record, is never declared gone: this
    host cannot know, and closing a live run would be worse than leaving it open.
    """
    host, _, rest = worker.partition(":")
    pid_text, _, start = rest.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if not _pid_exists(pid) or _stat_fields(pid)[:1] == ["Z"]:  # a zombie is dead too
        return True
    current = _start_ticks(pid)
    return bool(start) and start != "?" and current != "?" and current != start


def _pid_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def _start_ticks(pid: int) -> str:
    """The process start time in clock ticks since boot (Linux), else ``?``."""
    fields = _stat_fields(pid)
    return fields[19] if len(fields) > 19 else "?"


def _stat_fields(pid: int) -> list[str]:
    """Fields of ``/proc/PID/stat`` from the state on; empty where there is no /proc."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name (field 2) may hold spaces; the fields after it are plain.
    return stat.rpartition(")")[2].split()

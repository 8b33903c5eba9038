"""``bench study --jobs K``: K-1 extra worker processes on the same study.

Threads in one process share the GIL, so model building, tracing and MLflow logging
of concurrent trials queue behind each other (measured: 1.24x for 2 threads on 2
cores). Worker processes share nothing but the study and MLflow stores, which are
made for several processes on one machine; each trains with its share of the cores.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

_STOP_WAIT_S = 60  # for a terminated worker to close its runs before it is killed


@contextlib.contextmanager
def worker_processes(arguments: Sequence[str], count: int) -> Iterator[list[str]]:
    """Run ``count`` copies of ``python -m bench study ARGUMENTS --worker-index k``.

    Yields a list that, once the block ends, holds one line per worker that failed.
    If the block is left by an exception (Ctrl-C, SIGTERM) the workers are
    terminated, so their trials fail and their runs close as KILLED.
    """
    failures: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-workers-") as folder:
        workers = [_start(arguments, index, Path(folder)) for index in range(1, count + 1)]
        try:
            yield failures
        except BaseException:
            _stop(workers)
            raise
        for index, (process, log) in enumerate(workers, start=1):
            if process.wait() != 0:
                failures.append(f"worker {index} exited with {process.returncode}: {_last(log)}")


def _start(arguments: Sequence[str], index: int, folder: Path):
    log = folder / f"worker-{index}.log"
    command = [sys.executable, "-m", "bench", "study", *arguments, "--worker-index", str(index)]
    with log.open("w") as stream:
        # Its own process group: Ctrl-C at the terminal reaches the main process,
        # which stops the workers itself, once, and reports for all.
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env=os.environ.copy(),
            start_new_session=True,
        )
    return process, log


def _stop(workers) -> None:
    for process, _ in workers:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process, _ in workers:
        try:
            process.wait(timeout=_STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _last(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"

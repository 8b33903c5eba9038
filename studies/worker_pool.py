"""``bench study --jobs K``: K-1 extra worker processes on the same study.

Threads in one process share the GIL, so model building, tracing and MLflow logging
of concurrent trials queue behind each other (measured: 1.24x for 2 threads on 2
cores). Worker processes share nothing but the study and MLflow stores, which are
made for several processes on one machine; each trains with its share of the cores.

The workers start before this process imports Keras, so their start-up overlaps
its own; each then waits until this process has opened the parent run, whose id it
reads from the study (``parent_run_attr``).
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.runtime.environment import seconds_setting
from bench.runtime.processes import process_identity

# How long terminated workers have to close their runs and exit before they are killed,
# and this process closes what they left open. Under the 30 s SLURM leaves between
# SIGTERM and SIGKILL (KillWait), so that this process still has time to do so.
STOP_WAIT_VARIABLE = "BENCH_STOP_WAIT_S"
STOP_WAIT_S = 20
_PARENT_WAIT_S = 600  # for the main process to open the parent run


def parent_run_attr(token: str) -> str:
    """The study user attribute holding the parent run id of invocation ``token``."""
    return f"parent_run:{token}"


class WorkerPool:
    """Worker processes running ``python -m bench study ARGUMENTS`` as workers."""

    def __init__(self, arguments: Sequence[str], count: int):
        self.token = secrets.token_hex(8)
        self.stop_wait = seconds_setting(STOP_WAIT_VARIABLE, STOP_WAIT_S)
        self._folder = tempfile.TemporaryDirectory(prefix="bench-workers-")
        self._workers = [self._start(arguments, index) for index in range(1, count + 1)]
        self.processes = [process for process, _ in self._workers]
        # host:pid:start, as each worker records itself on its trials and runs.
        self.identities = [process_identity(process.pid) for process in self.processes]
        self._killer: threading.Timer | None = None  # set when the workers are stopped
        self._killed: set[int] = set()

    def wait(self) -> list[str]:
        """Wait for every worker to finish; one line per worker that failed."""
        failures = []
        for index, (process, log) in enumerate(self._workers, start=1):
            if process.wait() != 0:
                failures.append(f"worker {index} exited with {process.returncode}: {_last(log)}")
        return failures

    def terminate(self) -> None:
        """Send SIGTERM to the running workers, once, and start the stop wait: a worker
        still running when it ends (``$BENCH_STOP_WAIT_S`` seconds, default 20) is
        killed. Called from the signal handler as soon as Ctrl-C or SIGTERM arrives,
        so the workers stop while this process closes its own runs, and a worker stuck
        on a lock this process needs is killed without this process's help."""
        running = [process for process in self.processes if process.poll() is None]
        if self._killer is not None or not running:
            return
        for process in running:
            process.send_signal(signal.SIGTERM)
        self._killer = threading.Timer(self.stop_wait, self._kill_remaining)
        self._killer.daemon = True
        self._killer.start()

    def stop(self) -> list[str]:
        """Terminate the workers (their trials fail, their runs close as KILLED) and
        wait for them to exit, or be killed at the end of the stop wait.

        Returns the identities (host:pid:start) of the workers killed: what they had
        not closed yet is left for the caller to close.
        """
        self.terminate()
        for process in self.processes:
            process.wait()
        if self._killer is not None:
            self._killer.cancel()
        return [self.identities[index] for index in sorted(self._killed)]

    def _kill_remaining(self) -> None:
        for index, process in enumerate(self.processes):
            if process.poll() is None:
                process.kill()  # also ends a stopped process (SIGSTOP, Ctrl-Z)
                self._killed.add(index)

    def close(self) -> None:
        """Stop any worker still running and remove their logs."""
        self.stop()
        self._folder.cleanup()

    def _start(self, arguments: Sequence[str], index: int) -> tuple[subprocess.Popen[bytes], Path]:
        log = Path(self._folder.name) / f"worker-{index}.log"
        command = [sys.executable, "-m", "bench", "study", *arguments]
        command += ["--worker-index", str(index), "--worker-of", f"{os.getpid()}:{self.token}"]
        with log.open("w") as stream:
            # Its own process group: Ctrl-C at the terminal reaches the main process,
            # which stops the workers itself, once, and reports for all.
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stream,
                start_new_session=True,
            )
        return process, log


def wait_for_parent_run(read_attr: Callable[[str], str | None], worker_of: str) -> str:
    """The parent run id the main process ``pid:token`` stores in the study.

    Raises
    ------
    RuntimeError
        If the main process ended, or took too long, before opening the run.
    """
    pid, _, token = worker_of.partition(":")
    deadline = time.monotonic() + _PARENT_WAIT_S
    while time.monotonic() < deadline:
        run_id = read_attr(parent_run_attr(token))
        if run_id:
            return run_id
        if os.getppid() != int(pid):  # the main process is gone
            break
        time.sleep(0.5)
    raise RuntimeError(f"the main process {pid} never opened the study's parent run")


def _last(log: Path) -> str:
    lines = log.read_text(errors="replace").strip().splitlines()
    return lines[-1] if lines else "no message"

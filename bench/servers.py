"""Local servers bench starts for the user (the MLflow UI, Optuna's dashboard, a
tracking server): started in their own process group, waited for until they answer
over HTTP, and stopped with every process they started.

Servers bind to 127.0.0.1 unless the user asks otherwise. Nothing here knows which
server it runs; the callers build the commands.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.errors import BenchError

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 10


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens on it, else a port the system picks."""
    for port in ((preferred,) if preferred else ()) + (0,):
        with socket.socket() as probe:
            try:
                probe.bind((host, port))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError(f"no free port on {host}")


@dataclass
class Server:
    """A server process and the group of processes it started.

    Attributes
    ----------
    name : str
        What it is, for messages (``"MLflow UI"``).
    address : str
        Its base address, e.g. ``http://127.0.0.1:5000``.
    process : subprocess.Popen
    log : pathlib.Path
        Its stdout and stderr.
    """

    name: str
    address: str
    process: subprocess.Popen
    log: Path
    _log_folder: tempfile.TemporaryDirectory | None = field(default=None, repr=False)

    def stop(self) -> None:
        """Stop the server and every process in its group (the MLflow UI, for one,
        starts uvicorn workers and job consumers), politely, then by force."""
        _signal_group(self.process, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            _signal_group(self.process, signal.SIGKILL)
            self.process.wait()
        _signal_group(self.process, signal.SIGKILL)  # children that outlived the leader
        if self._log_folder is not None:
            self._log_folder.cleanup()

    def last_lines(self, count: int = 5) -> str:
        """The end of the server's log, for an error message."""
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " / ".join(lines[-count:]) or "no output"


def start_server(
    name: str,
    command: Sequence[str],
    address: str,
    *,
    health_path: str = "/",
    env: dict[str, str] | None = None,
    timeout: float = START_TIMEOUT_S,
) -> Server:
    """Start ``command`` and return once ``address + health_path`` answers over HTTP.

    Raises
    ------
    BenchError
        If the server exits or does not answer within ``timeout`` seconds; the
        message ends with its last log lines.
    """
    folder = tempfile.TemporaryDirectory(prefix="bench-server-")
    log = Path(folder.name) / "server.log"
    with log.open("w") as output:
        # Its own session: Ctrl-C at the terminal reaches bench, which stops the whole
        # group itself; and a file, not a pipe, which nobody would read while it runs.
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    server = Server(name, address, process, log, folder)
    try:
        _wait_until_answering(server, address.rstrip("/") + health_path, timeout)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_until_answering(server: Server, url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(
                f"{server.name} exited with code {server.process.returncode}: {server.last_lines()}"
            )
        if _answers(url):
            return
        time.sleep(0.3)
    raise BenchError(f"{server.name} did not answer at {url} within {timeout:.0f} s")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # it answered
    except OSError:
        return False


def _signal_group(process: subprocess.Popen, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal_number)

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
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from bench.errors import BenchError, UsageError

START_TIMEOUT_S = 90
STOP_TIMEOUT_S = 10
PORT_TRIES = 3  # another server taking a free port in the instant before ours is rare


class PortTaken(BenchError):
    """Another server took the port between the check that it was free and the bind."""


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``port`` of ``host`` now.

    A port left in TIME_WAIT by connections closed in the last minute (a browser's,
    say) counts as free: servers, uvicorn's among them, bind with ``SO_REUSEADDR``,
    and so does this probe. A port something listens on is not free.
    """
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def free_port(preferred: int | None = None, host: str = "127.0.0.1") -> int:
    """``preferred`` if nothing listens on it, else a port the system picks."""
    if preferred and port_is_free(preferred, host):
        return preferred
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


def serving_port(requested: int | None, default: int, host: str = "127.0.0.1") -> int:
    """The port to serve on: ``requested`` as asked, or ``default`` if free, else a
    free one. A port the user asked for is never swapped for another in silence.

    Raises
    ------
    UsageError
        If ``requested`` is in use.
    """
    if requested is None:
        return free_port(default, host)
    if not port_is_free(requested, host):
        raise UsageError(
            f"port {requested} is in use on {host}; choose another with --port, "
            "or leave --port out to take a free one"
        )
    return requested


def serve_on_free_port(
    start: Callable[[int], Server], requested: int | None, default: int, host: str = "127.0.0.1"
) -> Server:
    """``start(port)`` on the port :func:`serving_port` picks; if another server takes
    that port first (two ``bench ui`` started at once), again on a free one, unless the
    user asked for that port.

    Raises
    ------
    UsageError
        If ``requested`` is in use.
    BenchError
        If the server exits or does not answer.
    """
    port = serving_port(requested, default, host)
    for _ in range(PORT_TRIES - 1):
        try:
            return start(port)
        except PortTaken as taken:
            if requested is not None:
                raise UsageError(str(taken)) from None
            port = free_port(None, host)
    return start(port)


def answers_ok(url: str, timeout: float = 2.0) -> bool:
    """Whether ``url`` answers with a success (2xx) now."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, ValueError):  # refused, timed out, an HTTP error, a bad address
        return False


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

    @property
    def port(self) -> int:
        """The port in :attr:`address`."""
        port = urllib.parse.urlsplit(self.address).port
        assert port is not None  # an address is made with its port
        return port

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
            if not port_is_free(server.port, _host(server.address)):
                raise PortTaken(
                    f"port {server.port} was taken by another server as the {server.name} started"
                )
            raise BenchError(
                f"{server.name} exited with code {server.process.returncode}: {server.last_lines()}"
            )
        # An answer alone may come from another server that took the port first.
        if _answers(url) and _listens(server.process, server.port):
            return
        time.sleep(0.3)
    raise BenchError(f"{server.name} did not answer at {url} within {timeout:.0f} s")


def _host(address: str) -> str:
    return urllib.parse.urlsplit(address).hostname or "127.0.0.1"


def _listens(process: subprocess.Popen, port: int) -> bool:
    """Whether ``process`` or a process it started listens on ``port``."""
    try:
        leader = psutil.Process(process.pid)
        members = [leader, *leader.children(recursive=True)]
    except psutil.NoSuchProcess:
        return False
    for member in members:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            for connection in member.net_connections(kind="inet"):
                if connection.status == psutil.CONN_LISTEN and connection.laddr.port == port:
                    return True
    return False


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

"""The MLflow UI command bench prints, and the README shows, is safe to run as given.

It binds to this machine only and keeps MLflow's own protections on: Host-header
validation against DNS rebinding, and CORS. The test runs exactly the printed
command, with only the port changed to a free one.
"""

import contextlib
import http.client
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench.tracking.ui import ui_command

README = Path(__file__).resolve().parents[3] / "README.md"
START_TIMEOUT_S = 60
# Options that would switch a protection off or open it to every host or origin.
UNSAFE = re.compile(
    r"--disable-security-middleware|--allowed-hosts[ =]['\"]?\*|"
    r"--cors-allowed-origins[ =]['\"]?\*|--host[ =]0\.0\.0\.0|--host[ =]::(\s|$)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _printed_command(store: Path, port: int) -> list[str]:
    """The UI command ``bench run`` prints for ``store``, on ``port``."""
    words = shlex.split(ui_command(f"sqlite:///{store}"))
    assert words[:2] == ["mlflow", "ui"], words
    words[words.index("--port") + 1] = str(port)
    # The same mlflow as this test's, whether or not the venv's bin is on PATH.
    return [sys.executable, "-m", "mlflow", *words[1:]]


def _request(port: int, *, host: str, path: str = "/", origin: str | None = None, payload=None):
    """Status and body of one request to 127.0.0.1:``port`` with the given Host header:
    a GET, or a POST of the JSON text ``payload`` when given."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # http.client would otherwise send its own Host header, the address connected to.
        connection.putrequest("GET" if payload is None else "POST", path, skip_host=True)
        connection.putheader("Host", host)
        if origin is not None:
            connection.putheader("Origin", origin)
        body = None if payload is None else payload.encode()
        if body is not None:
            connection.putheader("Content-Type", "application/json")
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def _wait_until_answering(server: subprocess.Popen, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"mlflow ui exited with {server.returncode}:\n{log.read_text()}")
        try:
            _request(port, host=f"127.0.0.1:{port}")
            return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"mlflow ui did not answer on port {port} within {START_TIMEOUT_S} s")


def _stop(server: subprocess.Popen) -> None:
    # The UI starts uvicorn workers and job consumers as children; they share the
    # process group it was started in (start_new_session), so the group is stopped.
    _signal_group(server, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        _signal_group(server, signal.SIGKILL)
        server.wait()


def _signal_group(server: subprocess.Popen, signal_number: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has already gone
        os.killpg(server.pid, signal_number)


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """The printed ``mlflow ui`` command, running on a fresh store; yields its port."""
    store = tmp_path_factory.mktemp("ui") / "mlflow.db"
    port = _free_port()
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = store.parent / "mlflow-ui.log"
    with log.open("w") as output:
        # A file, not a pipe: nobody reads the server's log while it runs, and a full
        # pipe would block it.
        server = subprocess.Popen(
            _printed_command(store, port),
            cwd=store.parent,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_until_answering(server, port, log)
        yield port
    finally:
        _stop(server)


def test_printed_ui_command_binds_to_this_machine_only():
    command = ui_command("sqlite:///mlruns/mlflow.db")
    assert "--host 127.0.0.1" in command
    assert not UNSAFE.search(command), command


def test_every_readme_mlflow_ui_or_server_command_binds_to_127_0_0_1():
    # Shell line continuations are joined, so an option on the next line counts.
    text = README.read_text().replace("\\\n", " ")
    commands = [line for line in text.splitlines() if re.search(r"\bmlflow (ui|server)\b", line)]
    assert commands, "README.md shows no mlflow ui / mlflow server command"
    for command in commands:
        assert re.search(r"--host[ =]127\.0\.0\.1\b", command), command
        assert not UNSAFE.search(command), command


@pytest.mark.slow
def test_ui_refuses_a_foreign_host_header(ui):
    status, body = _request(ui, host="evil.example.com")
    assert 400 <= status < 500, (status, body[:200])
    api = "/api/2.0/mlflow/experiments/search?max_results=1"
    status, _ = _request(ui, host="evil.example.com:80", path=api)
    assert 400 <= status < 500


@pytest.mark.slow
@pytest.mark.parametrize("name", ["127.0.0.1", "localhost"])
def test_ui_answers_its_own_host_names(ui, name):
    status, _ = _request(ui, host=f"{name}:{ui}")
    assert 200 <= status < 400
    status, body = _request(
        ui, host=f"{name}:{ui}", path="/api/2.0/mlflow/experiments/search?max_results=1"
    )
    assert status == 200 and "experiments" in body, body[:200]


def _create_experiment(port: int, name: str, origin: str):
    return _request(
        port,
        host=f"127.0.0.1:{port}",
        path="/api/2.0/mlflow/experiments/create",
        origin=origin,
        payload=f'{{"name": "{name}"}}',
    )


@pytest.mark.slow
def test_ui_refuses_a_write_from_a_foreign_origin(ui):
    # CORS protection: a page on another site must not change the store through the
    # user's browser; the UI's own origin may.
    status, _ = _create_experiment(ui, "from-evil", "http://evil.example.com")
    assert 400 <= status < 500
    status, body = _create_experiment(ui, "from-ui", f"http://127.0.0.1:{ui}")
    assert status == 200, body[:200]
    status, body = _request(
        ui, host=f"127.0.0.1:{ui}", path="/api/2.0/mlflow/experiments/search?max_results=50"
    )
    assert status == 200
    assert '"from-ui"' in body and '"from-evil"' not in body


def _outward_address() -> str | None:
    """This machine's address on its default route, if it has one besides loopback."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # UDP: no packet is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


@pytest.mark.slow
def test_ui_is_not_reachable_on_other_interfaces(ui):
    address = _outward_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    with pytest.raises(ConnectionRefusedError), socket.create_connection((address, ui), 5):
        pass

"""The ports ``bench ui`` and ``bench server`` serve on, and the addresses ``bench run``
prints: a port asked for is used or refused in one line, never swapped in silence; a
port in TIME_WAIT is free; the printed addresses lead to the UI that runs."""

import re
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest

from bench.errors import UsageError
from bench.runtime.servers import (
    PortTaken,
    Server,
    free_port,
    serve_on_free_port,
    start_server,
)

START_S = 120
STOP_S = 20


def test_a_port_in_time_wait_is_free(port_in_time_wait):
    # uvicorn binds with SO_REUSEADDR: it serves on such a port, so bench must offer it.
    assert free_port(port_in_time_wait) == port_in_time_wait


def _listening() -> socket.socket:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    return listener


def _finished(process: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    """stdout and stderr of ``process`` once it exits; one still serving after
    ``timeout`` seconds is stopped with Ctrl-C and fails the test."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=STOP_S)
        pytest.fail(f"it served instead of refusing the port: {out} {err}")


@pytest.mark.parametrize("command", ["ui", "server"])
def test_a_port_in_use_is_refused_in_one_line_and_nothing_starts(
    command, tmp_path, child_environment
):
    from bench.tracking.store import open_client

    open_client(f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}")  # `bench ui` needs a store
    arguments = {
        "ui": ["ui"],
        "server": ["server", "sqlite:///server.db", "--artifacts", "artifacts"],
    }[command]
    with _listening() as listener:
        port = listener.getsockname()[1]
        process = subprocess.Popen(
            [sys.executable, "-m", "bench", *arguments, "--port", str(port)],
            cwd=tmp_path,
            env=child_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        out, err = _finished(process)
    assert process.returncode == 2
    assert out == ""
    assert err.splitlines() == [
        f"bench: error: port {port} is in use on 127.0.0.1; choose another with --port, "
        "or leave --port out to take a free one"
    ]
    started = [
        found.info["cmdline"]
        for found in psutil.process_iter(["cmdline"])
        if str(port) in (found.info["cmdline"] or [])
    ]
    assert started == []


@pytest.mark.slow
def test_bench_ui_serves_on_a_port_in_time_wait_closes_orphans_and_run_addresses_follow_it(
    tmp_path, port_in_time_wait, killed_run, child_environment
):
    from bench.cli.summaries import where_to_look
    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client

    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    with tracked_run("finished", "done", {}, client=open_client(uri)) as run:
        pass
    (killed,) = killed_run(tmp_path, "killed")
    port = port_in_time_wait
    process = subprocess.Popen(
        [sys.executable, "-m", "bench", "ui", "--port", str(port)],
        cwd=tmp_path,
        env=child_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline, lines = time.monotonic() + START_S, []
        for line in process.stdout:
            lines.append(line)
            if line.startswith("latest run") or time.monotonic() > deadline:
                break
        assert lines and lines[0].split() == ["MLflow", "UI", f"http://127.0.0.1:{port}"], lines
        # What `bench run` prints while this UI runs: addresses on its port.
        rows = dict(where_to_look(uri, run.experiment_id, run.run_id))
        assert rows["run page"].startswith(f"http://127.0.0.1:{port}/#/experiments/")
        assert rows["MLflow UI"] == f"running at http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=STOP_S)
    assert process.returncode == 0, err
    assert (
        f"closed as FAILED 1 run whose process on this machine is gone (killed?): "
        f"{killed} (killed mid-run, in 'killed')"
    ) in err.splitlines()
    assert open_client(uri).get_run(killed).info.status == "FAILED"
    # Once it stopped, the addresses say how to start it again, on the port they use.
    rows = dict(where_to_look(uri, run.experiment_id, run.run_id))
    suggested = re.search(r"python -m bench ui --port (\d+)", rows["MLflow UI"])
    assert suggested and rows["MLflow UI"].startswith("not running"), rows
    assert rows["run page"].startswith(f"http://127.0.0.1:{suggested.group(1)}/#/")


def _http_server(port: int) -> subprocess.Popen:
    """Python's own HTTP server on ``port`` of 127.0.0.1: any server a user may run."""
    return subprocess.Popen(
        [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _answering(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        assert time.monotonic() < deadline, f"nothing answers on port {port}"
        time.sleep(0.1)


def test_a_server_that_lost_its_port_to_another_is_not_taken_for_started():
    """Two servers started at once may both find a port free; the one that loses the
    bind must not take the winner's answers for its own."""
    port = free_port()
    winner = _http_server(port)
    try:
        _answering(port)
        loser = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        with pytest.raises(PortTaken, match=f"port {port} was taken by another server"):
            start_server("second server", loser, f"http://127.0.0.1:{port}", timeout=30)
    finally:
        winner.terminate()
        winner.wait()


def test_a_port_taken_in_the_race_is_replaced_by_a_free_one_unless_asked_for():
    intruders: list[subprocess.Popen] = []

    def start_after_an_intruder(port: int) -> Server:
        if not intruders:  # the first try loses its port in the instant after the check
            intruders.append(_http_server(port))
            _answering(port)
        command = [sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"]
        return start_server("server", command, f"http://127.0.0.1:{port}", timeout=30)

    port = free_port()
    try:
        server = serve_on_free_port(start_after_an_intruder, None, port)
        try:
            assert server.port != port
            assert psutil.Process(server.process.pid).is_running()
        finally:
            server.stop()
        first = intruders.pop()
        first.terminate()
        first.wait()
        with pytest.raises(UsageError, match=f"port {port} was taken"):
            serve_on_free_port(start_after_an_intruder, port, port)
    finally:
        for intruder in intruders:
            intruder.terminate()
            intruder.wait()

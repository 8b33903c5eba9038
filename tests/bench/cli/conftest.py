"""Set-up of the command-line tests: a run whose process was killed with SIGKILL, and a
port left in TIME_WAIT by a closed connection, both real."""

import socket
import subprocess
import sys
import textwrap
import time

import psutil
import pytest


@pytest.fixture(scope="session")
def killed_run(child_environment):
    """``killed_run(folder, *experiments)``: the ids of runs, one per experiment, that
    a real process opened with bench's ``tracked_run`` in ``folder/mlruns`` before it
    was SIGKILLed, so that they are left RUNNING."""

    def make(folder, *experiments: str) -> list[str]:
        script = textwrap.dedent(
            f"""
            import contextlib, time
            from bench.tracking.runs import tracked_run
            with contextlib.ExitStack() as runs:
                for name in {experiments!r}:
                    run = runs.enter_context(tracked_run(name, "killed mid-run", {{}}))
                    print(run.run_id, flush=True)
                time.sleep(600)
            """
        )
        process = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=folder,
            env=child_environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        run_ids = [process.stdout.readline().strip() for _ in experiments]
        process.kill()
        process.wait()
        assert all(len(run_id) == 32 for run_id in run_ids), process.stderr.read()
        return run_ids

    return make


@pytest.fixture
def port_in_time_wait() -> int:
    """A port of 127.0.0.1 nothing listens on, left in TIME_WAIT as a stopped UI that
    was browsed leaves it: the server side of a connection closed first, and the server
    listened with SO_REUSEADDR, as uvicorn does (without it no server could bind the
    port until TIME_WAIT ends, and bench would rightly call it in use)."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        accepted, _ = listener.accept()
        accepted.close()  # the side that closes first is the one kept in TIME_WAIT
        time.sleep(0.2)
        client.close()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        states = {
            connection.status
            for connection in psutil.net_connections("tcp4")
            if connection.laddr and connection.laddr.port == port
        }
        if states == {psutil.CONN_TIME_WAIT}:
            return port
        time.sleep(0.1)
    raise AssertionError(f"port {port} is not in TIME_WAIT alone: {states}")

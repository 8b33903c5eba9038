"""Optuna's own dashboard on a study's storage, when ``optuna-dashboard`` is installed
(the optional extra ``pip install -e ".[dashboard]"``)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from bench.errors import UsageError
from bench.runtime.servers import Server, serve_on_free_port, start_server
from studies.storage import default_storage

DEFAULT_DASHBOARD_PORT = 8080


def start_dashboard(storage: str | None = None, port: int | None = None) -> Server:
    """Optuna's dashboard on ``storage`` (default: bench's journal), on 127.0.0.1.

    Raises
    ------
    UsageError
        If optuna-dashboard is not installed, or the storage does not exist.
    BenchError
        If the dashboard exits or does not answer.
    """
    program = shutil.which("optuna-dashboard", path=str(Path(sys.executable).parent))
    if program is None:
        raise UsageError(
            "optuna-dashboard is not installed; install the extra: pip install -e '.[dashboard]'"
        )
    target = storage or default_storage()
    if not target.partition("://")[1]:  # a journal file, by absolute path from any folder
        path = Path(target).resolve()
        if not path.is_file():
            raise UsageError(f"no study storage at {path}; run `python -m bench study` first")
        target = str(path)

    def start(port: int) -> Server:
        command = [program, target, "--host", "127.0.0.1", "--port", str(port), "--quiet"]
        return start_server(
            "Optuna dashboard", command, f"http://127.0.0.1:{port}", health_path="/"
        )

    # The port asked for if free, else another, as before; and another again if a
    # second server takes it as this one starts.
    return serve_on_free_port(start, None, port or DEFAULT_DASHBOARD_PORT)

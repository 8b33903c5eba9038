"""SIGTERM handled like Ctrl-C, so a scheduler's ``kill`` closes runs the same way.

Python's default for SIGTERM ends the process at once: no ``finally`` runs, so open
MLflow runs would stay RUNNING and Optuna trials RUNNING for ever. Raising an
exception instead unwinds through the code that closes them as KILLED/FAIL.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; unwinds like Ctrl-C so every open run is closed as KILLED."""


_TERMINATED = {"signalled": False}


def raise_if_terminated() -> None:
    """Raise :class:`Terminated` again if SIGTERM arrived: a safety net at each epoch's
    end, should library code have swallowed the exception the signal raised."""
    if _TERMINATED["signalled"]:
        raise Terminated()


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within this block SIGTERM raises :class:`Terminated` in the main thread."""

    def terminate(signum, frame):
        _TERMINATED["signalled"] = True
        # A second SIGTERM while runs are being closed must not cut that short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    _TERMINATED["signalled"] = False
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def exit_code_for(stop: BaseException) -> tuple[int, str]:
    """The exit code and the word for a Ctrl-C or SIGTERM that ended the command."""
    chain = [stop, stop.__cause__, stop.__context__]
    if any(isinstance(error, Terminated) for error in chain):
        return EXIT_TERMINATED, "terminated"
    return EXIT_INTERRUPTED, "interrupted"

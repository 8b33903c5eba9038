"""SIGTERM handled like Ctrl-C, so a scheduler's ``kill`` closes runs the same way, and
neither lost should a library swallow the exception it raised.

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


# The signal that arrived, if any: SIGINT or SIGTERM.
_SIGNALLED: dict[str, int | None] = {"signal": None}


def raise_if_interrupted() -> None:
    """Raise again for a Ctrl-C or SIGTERM that arrived: a safety net at each epoch's
    end, should library code have swallowed the exception the signal raised. (Seen
    for both: a study went on to its end after a Ctrl-C, and a run after SIGTERM,
    probably when the signal landed in a finalizer, where Python prints an exception
    and drops it.)"""
    if _SIGNALLED["signal"] == signal.SIGTERM:
        raise Terminated()
    if _SIGNALLED["signal"] == signal.SIGINT:
        raise KeyboardInterrupt()


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within this block SIGTERM raises :class:`Terminated` in the main thread, and
    both it and Ctrl-C are remembered for :func:`raise_if_interrupted`."""

    def terminate(signum, frame):
        _SIGNALLED["signal"] = signal.SIGTERM
        # A second SIGTERM while runs are being closed must not cut that short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        raise Terminated()

    def interrupt(signum, frame):
        _SIGNALLED["signal"] = signal.SIGINT
        raise KeyboardInterrupt()

    _SIGNALLED["signal"] = None
    previous_term = signal.signal(signal.SIGTERM, terminate)
    # Python's own handler only where Python installed one: a process started with
    # Ctrl-C ignored (a background job) keeps ignoring it.
    ctrl_c = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous_int = signal.signal(signal.SIGINT, interrupt) if ctrl_c else None
    try:
        yield
    finally:
        _SIGNALLED["signal"] = None  # code after the block (a test runner's) is not cut
        signal.signal(signal.SIGTERM, previous_term)
        if ctrl_c:
            signal.signal(signal.SIGINT, previous_int)


def exit_code_for(stop: BaseException) -> tuple[int, str]:
    """The exit code and the word for a Ctrl-C or SIGTERM that ended the command."""
    chain = [stop, stop.__cause__, stop.__context__]
    if any(isinstance(error, Terminated) for error in chain):
        return EXIT_TERMINATED, "terminated"
    return EXIT_INTERRUPTED, "interrupted"

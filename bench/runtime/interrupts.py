"""SIGTERM handled like Ctrl-C, so a scheduler's ``kill`` closes runs the same way, and
neither lost should a library swallow the exception it raised, or turn it into another.

Python's default for SIGTERM ends the process at once: no ``finally`` runs, so open
MLflow runs would stay RUNNING and Optuna trials RUNNING for ever. Raising an
exception instead unwinds through the code that closes them as KILLED/FAIL.

Python runs a signal's handler wherever the main thread is, including in Python code
that TensorFlow's C++ calls back during training; the handler's exception then comes
out of TensorFlow as another error (seen: a study's trial closed as FAILED with
``TypeError``, after ``<built-in function __import__> returned a result with an
exception set``; ``tf.nest.flatten`` makes a ``RuntimeError`` of it). So during Keras
training, and around each MLflow call, the signal is only recorded
(:func:`interrupts_held`) and raised where stopping is clean, and code that closes a
run treats any error after a signal as the signal (:func:`pending_interrupt`).
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Callable, Iterator

EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C
EXIT_TERMINATED = 143  # 128 + SIGTERM


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; unwinds like Ctrl-C so every open run is closed as KILLED."""


# The signal that arrived, if any: SIGINT or SIGTERM; whether its handler only records
# it (within interrupts_held), and whether an exception is owed for one held back.
_SIGNALLED: dict[str, int | None] = {"signal": None}
_HELD = {"depth": 0, "owed": False}
# What runs as soon as a signal arrives (see on_signal).
_ACTIONS: list[Callable[[], None]] = []


def pending_interrupt() -> KeyboardInterrupt | None:
    """The exception for the Ctrl-C (``KeyboardInterrupt``) or SIGTERM
    (:class:`Terminated`) that arrived in this command, or None.

    Whatever ends a run after one of them is the signal's doing, even when it reaches
    the caller as another exception: TensorFlow's C++ code turns the handler's
    exception into a ``RuntimeError``, ``TypeError`` or ``SystemError``."""
    if _SIGNALLED["signal"] == signal.SIGTERM:
        return Terminated()
    if _SIGNALLED["signal"] == signal.SIGINT:
        return KeyboardInterrupt()
    return None


def interruption(error: BaseException) -> KeyboardInterrupt | None:
    """The Ctrl-C or SIGTERM behind ``error``, which ended a run or trial: ``error``
    itself, or the signal that arrived before it (a library turned it into ``error``),
    or None for an error of its own."""
    return error if isinstance(error, KeyboardInterrupt) else pending_interrupt()


def raise_if_interrupted() -> None:
    """Raise for a Ctrl-C or SIGTERM that arrived: where :func:`interrupts_held` holds
    it back (at each batch's end), and as a safety net at each epoch's end, should
    library code have swallowed the exception the signal raised. (Seen for both: a
    study went on to its end after a Ctrl-C, and a run after SIGTERM, probably when the
    signal landed in a finalizer, where Python prints an exception and drops it.)"""
    stop = pending_interrupt()
    if stop is not None:
        _HELD["owed"] = False
        raise stop


@contextlib.contextmanager
def interrupts_held() -> Iterator[None]:
    """Within this block a Ctrl-C or SIGTERM is only recorded, for the next
    :func:`raise_if_interrupted` to raise (Keras training calls it at each batch's
    end), and raised at the end of the block if nothing did.

    Also around each call to the MLflow store, so no write is cut in half: a signal
    raised inside SQLAlchemy in the middle of a write can leave the SQLite file locked,
    and the write that closes the runs as KILLED then waits on the lock for minutes
    (seen: a ``--jobs`` worker stuck in that write until the main process killed it,
    its run left RUNNING)."""
    _HELD["depth"] += 1
    try:
        yield
    finally:
        _HELD["depth"] -= 1
    if _HELD["owed"]:
        raise_if_interrupted()


@contextlib.contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within this block SIGTERM raises :class:`Terminated` in the main thread, and
    both it and Ctrl-C are remembered for :func:`raise_if_interrupted`."""

    def terminate(signum, frame):
        _SIGNALLED["signal"] = signal.SIGTERM
        # A second SIGTERM while runs are being closed must not cut that short.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _signal_arrived(Terminated())

    def interrupt(signum, frame):
        _SIGNALLED["signal"] = signal.SIGINT
        _signal_arrived(KeyboardInterrupt())

    _SIGNALLED["signal"] = None
    _HELD.update(depth=0, owed=False)
    previous_term = signal.signal(signal.SIGTERM, terminate)
    # Python's own handler only where Python installed one: a process started with
    # Ctrl-C ignored (a background job) keeps ignoring it.
    ctrl_c = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    previous_int = signal.signal(signal.SIGINT, interrupt) if ctrl_c else None
    try:
        yield
    finally:
        # Code after the block (a test runner's) is not cut.
        _SIGNALLED["signal"] = None
        _HELD["owed"] = False
        signal.signal(signal.SIGTERM, previous_term)
        if ctrl_c:
            signal.signal(signal.SIGINT, previous_int)


@contextlib.contextmanager
def on_signal(action: Callable[[], None]) -> Iterator[None]:
    """Within this block ``action()`` runs in the handler, as soon as a Ctrl-C or
    SIGTERM arrives, before this process unwinds (which may wait on locks): to pass
    the signal on to worker processes. It must be quick, and safe to call twice."""
    _ACTIONS.append(action)
    try:
        yield
    finally:
        _ACTIONS.remove(action)


def _signal_arrived(stop: KeyboardInterrupt) -> None:
    """Run the on_signal actions, then raise ``stop``, or owe it within interrupts_held."""
    for action in list(_ACTIONS):
        action()
    if _HELD["depth"]:
        _HELD["owed"] = True
    else:
        raise stop


def exit_code_for(stop: BaseException) -> tuple[int, str]:
    """The exit code and the word for a Ctrl-C or SIGTERM that ended the command."""
    chain = [stop, stop.__cause__, stop.__context__]
    if any(isinstance(error, Terminated) for error in chain):
        return EXIT_TERMINATED, "terminated"
    return EXIT_INTERRUPTED, "interrupted"

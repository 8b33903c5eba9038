"""Ctrl-C and SIGTERM are not lost when library code swallows the exception the
signal raised: the next epoch's end raises it again. Real signals, to this process."""

import os
import signal
import time

import pytest

from bench.interrupts import Terminated, raise_if_interrupted, signals_as_interrupts


@pytest.fixture
def ctrl_c_raises():
    """Python's own Ctrl-C handler, as in a terminal (a test runner's worker may have
    another)."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def _swallowed(signum: int) -> None:
    """Deliver ``signum`` to this process inside code that swallows what it raises."""
    try:
        os.kill(os.getpid(), signum)
        time.sleep(5)  # the handler runs at the next bytecode: well before this ends
        pytest.fail("the signal raised nothing")
    except KeyboardInterrupt:  # a library catching it
        pass


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)]
)
def test_a_swallowed_signal_is_raised_again_at_the_next_check(ctrl_c_raises, signum, raised):
    with signals_as_interrupts():
        raise_if_interrupted()  # nothing arrived yet
        _swallowed(signum)
        with pytest.raises(raised):
            raise_if_interrupted()


def test_a_signal_is_forgotten_when_its_command_ends(ctrl_c_raises):
    with signals_as_interrupts():
        _swallowed(signal.SIGINT)
    raise_if_interrupted()  # outside the block: the code that runs next is not cut
    with signals_as_interrupts():
        raise_if_interrupted()


def test_the_epoch_logger_raises_a_swallowed_ctrl_c_at_the_epoch_end(ctrl_c_raises, mlflow_store):
    from bench.tracking.callbacks import EpochLogger
    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client

    client = open_client(f"sqlite:///{mlflow_store}")
    with (
        pytest.raises(KeyboardInterrupt),
        signals_as_interrupts(),
        tracked_run("e", "r", {}, client=client) as run,
    ):
        logger = EpochLogger(run)
        logger.on_epoch_end(0, {"loss": 1.0})
        _swallowed(signal.SIGINT)
        logger.on_epoch_end(1, {"loss": 0.5})
    assert logger.epochs_done == 2  # the epoch's metrics are logged before it raises
    assert client.get_run(run.run_id).info.status == "KILLED"

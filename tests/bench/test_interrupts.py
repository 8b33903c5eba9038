"""Ctrl-C and SIGTERM are not lost when library code swallows the exception the
signal raised (the next epoch's end raises it again) or turns it into another error
(the run is closed as KILLED all the same); they are held back during Keras training
and MLflow writes, and raised when those reach a point where stopping is clean. Real
signals, to this process; real TensorFlow, Keras, SQLAlchemy and MLflow."""

import collections.abc
import os
import signal
import time

import pytest

from bench.runtime.interrupts import (
    Terminated,
    interrupts_held,
    raise_if_interrupted,
    signals_as_interrupts,
)


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


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGINT, KeyboardInterrupt), (signal.SIGTERM, Terminated)]
)
def test_a_held_signal_is_raised_once_where_its_block_ends(ctrl_c_raises, signum, raised):
    went_on = False
    with signals_as_interrupts():
        with pytest.raises(raised), interrupts_held():
            os.kill(os.getpid(), signum)
            time.sleep(0.2)  # the handler has run by now, and raised nothing
            went_on = True
        assert went_on
        # The code that then closes runs (each MLflow call in a held block) is not cut.
        with interrupts_held():
            pass


class SignalOnRead(collections.abc.Mapping):
    """A mapping that sends SIGTERM to this process when TensorFlow reads it, so the
    handler runs inside a Python call made from TensorFlow's C++ code."""

    def __getitem__(self, key):
        os.kill(os.getpid(), signal.SIGTERM)
        return {"a": 1}[key]

    def __iter__(self):
        return iter(["a"])

    def __len__(self):
        return 1


def test_sigterm_that_tensorflow_turns_into_another_error_closes_the_run_as_killed(
    mlflow_store,
):
    tf = pytest.importorskip("tensorflow")
    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client

    client = open_client(f"sqlite:///{mlflow_store}")
    with (
        pytest.raises(Terminated) as raised,
        signals_as_interrupts(),
        tracked_run("e", "r", {}, client=client) as run,
    ):
        tf.nest.flatten(SignalOnRead())
    # What TensorFlow raised instead (seen in a study: TypeError, SystemError).
    assert not isinstance(raised.value.__cause__, KeyboardInterrupt)
    assert isinstance(raised.value.__cause__, Exception)
    assert client.get_run(run.run_id).info.status == "KILLED"


def test_sigterm_inside_an_mlflow_write_is_raised_once_the_write_is_done(mlflow_store):
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from bench.tracking.runs import tracked_run
    from bench.tracking.store import open_client

    def signal_on_metrics_insert(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("INSERT INTO METRICS"):
            os.kill(os.getpid(), signal.SIGTERM)  # mid-transaction, inside SQLAlchemy

    client = open_client(f"sqlite:///{mlflow_store}")
    event.listen(Engine, "before_cursor_execute", signal_on_metrics_insert)
    try:
        started = time.monotonic()
        with (
            pytest.raises(Terminated),
            signals_as_interrupts(),
            tracked_run("e", "r", {}, client=client) as run,
        ):
            run.log_metrics({"loss": 0.5}, step=1)
    finally:
        event.remove(Engine, "before_cursor_execute", signal_on_metrics_insert)
    stored = client.get_run(run.run_id)
    assert stored.data.metrics == {"loss": 0.5}
    assert stored.info.status == "KILLED"
    # Closing the run did not wait on a lock the interrupted write left behind.
    assert time.monotonic() - started < 15


def test_sigterm_during_keras_training_is_raised_at_the_end_of_its_batch():
    import keras

    from bench.benchmarks import get_benchmark
    from bench.data import load_digits
    from bench.training import fit_pipeline

    class SignalAtBatch(keras.callbacks.Callback):
        began, went_on = [], False

        def on_train_batch_begin(self, batch, logs=None):
            self.began.append(batch)
            if batch == 2:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.2)  # the handler has run by now, and raised nothing
                SignalAtBatch.went_on = True

    pipeline = get_benchmark("digits-mlp").build(pixel_max=16.0, seed=0, epochs=2)
    with pytest.raises(Terminated), signals_as_interrupts():
        fit_pipeline(pipeline, load_digits(), callbacks=[SignalAtBatch()])
    assert SignalAtBatch.went_on
    assert SignalAtBatch.began == [0, 1, 2]  # stopped where batch 2 ended

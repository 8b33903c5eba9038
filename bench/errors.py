"""Exceptions for problems a user can fix.

The CLI catches :class:`BenchError` once and prints its message as a single line;
anything else is a bug and keeps its traceback.
"""


class BenchError(Exception):
    """A problem the user can fix; the message says what is wrong and what to do."""

    exit_code = 1


class UsageError(BenchError):
    """An unknown name or a bad value on the command line."""

    exit_code = 2


class DataError(BenchError):
    """Data that cannot be found, read or trusted."""


class DataNotFoundError(DataError):
    """A dataset's files are in none of the places searched."""


class CorruptDataError(DataError):
    """A data file exists but is truncated, malformed or inconsistent."""


class ChecksumError(DataError):
    """A downloaded file does not match its published checksum."""


class TrainingDiverged(BenchError):
    """The training loss became NaN or infinite: the settings make the network diverge."""


class TrackingError(BenchError):
    """The MLflow tracking store cannot be reached or written."""


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM) stopped a run; it was closed in MLflow as KILLED."""

    def __init__(self, run_id: str, epochs_done: int):
        super().__init__(run_id, epochs_done)
        self.run_id = run_id
        self.epochs_done = epochs_done

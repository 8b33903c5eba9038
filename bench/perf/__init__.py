"""``bench perf``: performance figures, each a ratio measured side by side.

These machines are noisy, so a figure compares two things timed in the same process
run, interleaved, rather than an absolute time against a number written down. Each
check is a function in its own module returning :class:`Figure` rows; ``CHECKS``
names them for the command line.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.errors import BenchError


@dataclass(frozen=True)
class Figure:
    """One measured figure and the target it is held to.

    ``higher_is_better`` says which side of ``target`` passes: a speed-up must reach
    it, a time or memory ratio must stay under it.
    """

    check: str
    name: str
    value: float
    target: float
    unit: str
    higher_is_better: bool
    detail: str = ""

    @property
    def passed(self) -> bool:
        if self.higher_is_better:
            return self.value >= self.target
        return self.value <= self.target

    @property
    def target_text(self) -> str:
        return f"{'>=' if self.higher_is_better else '<='} {self.target:g}{self.unit}"


Check = Callable[..., list[Figure]]


class CommandFailed(BenchError):
    """A ``bench`` command a check ran failed, so there is no figure: one line, the
    command and the last line it printed (data missing, say), not a traceback."""

    def __init__(self, what: str, stderr: str):
        last = (stderr.strip().splitlines() or ["no message"])[-1]
        super().__init__(f"{what} failed: {last.removeprefix('bench: error: ')}")


def checks() -> dict[str, Check]:
    """Check name -> function(quick: bool) returning its figures, in report order."""
    # Imported here so ``bench perf --help`` does not load Keras or scikit-image.
    from bench.perf import (
        harness,
        hog,
        jobs,
        load,
        memory,
        mnist_fast,
        pruners,
        startup,
        user_data,
    )

    return {
        "hog": hog.measure,
        "load": load.measure,
        "user-data": user_data.measure,
        "startup": startup.measure,
        "harness": harness.measure,
        "jobs": jobs.measure,
        "mnist-fast": mnist_fast.measure,
        "memory": memory.measure,
        "search": pruners.measure,  # the search each pruner makes in one budget
    }


CHECK_NAMES = (
    "hog",
    "load",
    "user-data",
    "startup",
    "harness",
    "jobs",
    "mnist-fast",
    "memory",
    "search",
)
# Run only when named: 45 minutes of studies.
LONG_CHECKS = ("search",)


@contextlib.contextmanager
def scratch_tracking_store(prefix: str) -> Iterator[Path]:
    """A throwaway folder whose ``mlflow.db`` is ``MLFLOW_TRACKING_URI`` within the block,
    so a check's runs never land in the user's store."""
    saved = os.environ.get("MLFLOW_TRACKING_URI")
    with tempfile.TemporaryDirectory(prefix=prefix) as folder:
        os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{folder}/mlflow.db"
        try:
            yield Path(folder)
        finally:
            if saved is None:
                os.environ.pop("MLFLOW_TRACKING_URI", None)
            else:
                os.environ["MLFLOW_TRACKING_URI"] = saved

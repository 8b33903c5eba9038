"""The benchmark registry: one small declaration per benchmark, found by name.

A leaf module: it never imports the declarations. ``bench.benchmarks`` (the
package) imports them once, so that looking a name up finds every benchmark.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from bench.errors import UsageError

if TYPE_CHECKING:  # a name lookup must not pay for importing scikit-learn or Optuna
    from optuna.distributions import BaseDistribution
    from sklearn.pipeline import Pipeline


@dataclass(frozen=True)
class Benchmark:
    """A named experiment: a dataset and a pipeline with its default settings.

    Parameters
    ----------
    name : str
        What users type, e.g. ``"mnist-cnn"``.
    dataset : str
        Name understood by :func:`bench.data.load_dataset`. With ``data``, the dataset
        whose images the network takes (``"mnist"``: 28x28 grey).
    summary : str
        One line for ``bench list``.
    pipeline : callable
        Pure factory ``pipeline(pixel_max=..., **params) -> Pipeline`` (unfitted).
    params : mapping
        Keyword arguments for ``pipeline``: topology and optimizer settings.
    epochs : int or None
        Training budget of a network; ``None`` for a classic scikit-learn baseline,
        trained in one call (epoch options do not apply to it).
    batch_size : int
        Images per gradient step of a network.
    validation_split : float
        Share of the training data held out for validation; the test set is only used
        for the final scores. A network carves it in ``fit``; for a baseline the
        harness carves the same rows (:func:`estimators.splits.holdout_indices`).
    search_space : mapping or None
        What ``bench study`` searches: full pipeline parameter names -> Optuna
        distributions, e.g. ``{"clf__C": FloatDistribution(1e-2, 1e2, log=True)}``.
        ``None``: the space of the factory's family (:data:`studies.spaces.FAMILIES`).
    data : str or path-like, optional
        The user's own images to train on instead of ``dataset``'s: a folder of class
        folders, a CSV or an ``.npz`` (see :func:`bench.data.load_user_data`), fitted
        to ``dataset``'s images. A relative path is taken from the folder a command
        runs in, as ``--data`` is; ``--data`` replaces it.
    label_column : str, optional
        The label column of a CSV ``data``, when it is not ``label``, ``class``, ...
    """

    name: str
    dataset: str
    summary: str
    pipeline: Callable[..., Pipeline]
    params: Mapping[str, Any] = field(default_factory=dict)
    epochs: int | None = 10
    batch_size: int = 128
    validation_split: float = 0.1
    search_space: Mapping[str, BaseDistribution] | None = None
    data: str | os.PathLike | None = None
    label_column: str | None = None

    @property
    def trains_by_epoch(self) -> bool:
        """A network trained epoch by epoch, not a baseline fitted in one call."""
        return self.epochs is not None

    def build(self, *, pixel_max: float, seed: int | None, epochs: int | None = None) -> Pipeline:
        """Return the unfitted pipeline with this benchmark's defaults."""
        if not self.trains_by_epoch:
            return self.pipeline(pixel_max=pixel_max, random_state=seed, **self.params)
        return self.pipeline(
            pixel_max=pixel_max,
            epochs=self.epochs if epochs is None else epochs,
            batch_size=self.batch_size,
            validation_split=self.validation_split,
            random_state=seed,
            **self.params,
        )


SHIPPED = "bench"  # the origin of the benchmarks declared in bench itself

_BENCHMARKS: dict[str, Benchmark] = {}
_ORIGINS: dict[str, str] = {}
_declaring = [SHIPPED]  # the origin of what register() adds now: a stack


def register(benchmark: Benchmark) -> Benchmark:
    """Add ``benchmark`` to the registry; names must be unique.

    Raises
    ------
    UsageError
        If the name is taken; the message names where both declarations come from.
    """
    origin = _declaring[-1]
    if benchmark.name in _BENCHMARKS:
        raise UsageError(
            f"benchmark '{benchmark.name}' is declared twice: in {_ORIGINS[benchmark.name]} "
            f"and in {origin}; rename one of them"
        )
    _BENCHMARKS[benchmark.name] = benchmark
    _ORIGINS[benchmark.name] = origin
    return benchmark


@contextlib.contextmanager
def declaring(origin: str) -> Iterator[None]:
    """Record ``origin`` (a file's path, a package's name) as where the benchmarks
    registered inside this block come from."""
    _declaring.append(origin)
    try:
        yield
    finally:
        _declaring.pop()


UNREGISTERED = "not registered"  # the origin of a Benchmark built in code and used as is


def benchmark_origin(name: str) -> str:
    """Where the registered benchmark ``name`` was declared: ``"bench"``, a file's
    path or an installed package's name; :data:`UNREGISTERED` for another name."""
    return _ORIGINS.get(name, UNREGISTERED)


def benchmark_names() -> list[str]:
    """Registered benchmark names, sorted."""
    return sorted(_BENCHMARKS)


def get_benchmark(name: str) -> Benchmark:
    """Look a benchmark up by name.

    Raises
    ------
    UsageError
        If no benchmark has that name; the message lists the valid ones.
    """
    if name not in _BENCHMARKS:
        raise UsageError(f"unknown benchmark '{name}'; valid: {', '.join(benchmark_names())}")
    return _BENCHMARKS[name]

"""The named benchmarks: a registry, the pipeline factories and one declaration each.

Importing this package registers every declaration (as timm's ``timm.models``
does); :mod:`bench.benchmarks.registry` itself never imports them, so the registry
has no dependency on what is registered. Adding a benchmark touches only
:mod:`bench.benchmarks.declarations`.
"""

from bench.benchmarks import declarations  # noqa: F401  (registers the benchmarks)
from bench.benchmarks.registry import Benchmark, benchmark_names, get_benchmark, register

__all__ = ["Benchmark", "benchmark_names", "get_benchmark", "register"]

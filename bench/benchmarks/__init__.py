"""The named benchmarks: a registry, the pipeline factories and one declaration each.

Importing this package registers every declaration (as timm's ``timm.models``
does); :mod:`bench.benchmarks.registry` itself never imports them, so the registry
has no dependency on what is registered. Adding a benchmark touches only
:mod:`bench.benchmarks.declarations`; a user's own benchmarks come from a file or an
installed package (:mod:`bench.benchmarks.user`), whose packages ``get_benchmark``
and ``benchmark_names`` load when they need them.
"""

from bench.benchmarks import declarations  # noqa: F401  (registers the benchmarks)
from bench.benchmarks.registry import Benchmark, benchmark_origin, register
from bench.benchmarks.user import benchmark_names, get_benchmark

__all__ = ["Benchmark", "benchmark_names", "benchmark_origin", "get_benchmark", "register"]

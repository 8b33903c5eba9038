"""Benchmarks declared outside bench: in a Python file, or by an installed package.

A benchmark file declares benchmarks as :mod:`bench.benchmarks.declarations` does,
with the same public API (:class:`~bench.benchmarks.registry.Benchmark`,
:func:`~bench.benchmarks.registry.register`, the factories of
:mod:`bench.benchmarks.pipelines`, the estimators); ``--benchmarks FILE`` and
``$BENCH_BENCHMARKS`` name such files. A file is imported as a module named after it
(``my_benchmarks.py`` is ``my_benchmarks``), as Python would import it from its own
folder, so that a model pickled from one of its classes loads wherever that module
imports.

An installed package declares them under the entry-point group ``bench.benchmarks``:
the entry point's object is a module whose import registers them, or a function
called with no arguments that registers them. Packages are loaded lazily: only when
a name is not found among the benchmarks already registered, or to list them all.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from importlib import metadata
from pathlib import Path
from types import ModuleType

from bench.benchmarks import registry
from bench.benchmarks.registry import Benchmark, declaring
from bench.errors import UsageError

FILES_VARIABLE = "BENCH_BENCHMARKS"  # files for every command, separated by os.pathsep
ENTRY_POINT_GROUP = "bench.benchmarks"

_loaded_files: dict[Path, str] = {}  # resolved path -> module name
_packages_loaded = False


def benchmark_files(option: list[str] | None = None) -> list[str]:
    """The benchmark files of ``$BENCH_BENCHMARKS``, then those of ``--benchmarks``
    (each of which may also hold several, separated by ``os.pathsep``)."""
    texts = [os.environ.get(FILES_VARIABLE, ""), *(option or [])]
    return [path for text in texts for path in text.split(os.pathsep) if path.strip()]


def load_benchmark_files(paths: list[str]) -> None:
    """Import each benchmark file once, registering what it declares.

    Raises
    ------
    UsageError
        If a file is missing, is not a Python file, or fails to import (the message
        names its file and line), or if a name is declared twice.
    """
    for text in paths:
        path = Path(text.strip()).expanduser()
        if not path.is_file():
            raise UsageError(f"benchmark file {path} not found")
        if path.resolve() not in _loaded_files:
            _loaded_files[path.resolve()] = _import_file(path).__name__


def load_installed_benchmarks() -> None:
    """Load the benchmarks of every installed package's ``bench.benchmarks`` entry
    point, once.

    Raises
    ------
    UsageError
        If a package's benchmarks fail to load (the message names the package, its
        file and line), or if a name is declared twice.
    """
    global _packages_loaded
    if _packages_loaded:
        return
    _packages_loaded = True
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        package = entry.dist.name if entry.dist is not None else entry.value
        with declaring(package):
            try:
                loaded = entry.load()
                if callable(loaded) and not isinstance(loaded, ModuleType):
                    loaded()
            except UsageError:
                raise  # a name declared twice, say: already one line naming both places
            except Exception as error:  # the package's own code failed: say where
                where = _failing_line(error, _package_folder(entry.module))
                raise UsageError(
                    f"the benchmarks of package {package} (entry point {entry.name} = "
                    f"{entry.value}) fail to load{where}: {_one_line(error)}"
                ) from None


def get_benchmark(name: str) -> Benchmark:
    """Look a benchmark up by name: bench's own, those of the benchmark files loaded,
    then those of installed packages (loaded only if the name is not found before).

    Raises
    ------
    UsageError
        If no benchmark has that name; the message lists the valid ones.
    """
    if name not in registry.benchmark_names():
        load_installed_benchmarks()
    return registry.get_benchmark(name)


def benchmark_names() -> list[str]:
    """Every benchmark name, installed packages' included, sorted."""
    load_installed_benchmarks()
    return registry.benchmark_names()


def _import_file(path: Path) -> ModuleType:
    name = path.stem
    if name in sys.modules:
        raise UsageError(
            f"benchmark file {path} would be imported as '{name}', the name of a module "
            f"already imported ({getattr(sys.modules[name], '__file__', None) or 'built in'}); "
            "rename the file"
        )
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise UsageError(f"benchmark file {path} is not a Python file; name a .py file")
    module = importlib.util.module_from_spec(spec)
    # Registered before it runs, as an import would (dataclasses and pickle look there).
    sys.modules[name] = module
    try:
        with declaring(str(path)):
            spec.loader.exec_module(module)
    except UsageError:
        del sys.modules[name]
        raise  # a name declared twice, say: already one line naming both places
    except Exception as error:  # the file's own code failed: say where
        del sys.modules[name]
        where = _failing_line(error, path.resolve())
        raise UsageError(f"benchmark file {path}{where}: {_one_line(error)}") from None
    return module


def _failing_line(error: Exception, inside: Path | None) -> str:
    """``", line N"`` (with the file when ``inside`` is a folder) of the innermost
    frame of ``error`` in ``inside``, a file or a folder; ``""`` if none is."""
    if isinstance(error, SyntaxError) and error.filename and error.lineno:
        return _where(Path(error.filename), error.lineno, inside)
    if inside is None:
        return ""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        file = Path(frame.filename).resolve()
        if (file == inside or inside in file.parents) and frame.lineno is not None:
            return _where(file, frame.lineno, inside)
    return ""


def _where(file: Path, line: int, inside: Path | None) -> str:
    if inside is not None and inside.is_file():
        return f", line {line}"
    return f" ({file}, line {line})"


def _package_folder(module: str) -> Path | None:
    """The folder of the top-level package of ``module``, where its code lies."""
    try:
        spec = importlib.util.find_spec(module.partition(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None or spec.origin is None:
        return None
    origin = Path(spec.origin).resolve()
    return origin.parent if spec.submodule_search_locations else origin


def _one_line(error: Exception) -> str:
    if isinstance(error, SyntaxError):
        return f"SyntaxError: {error.msg}"
    message = str(error).strip().splitlines()
    return f"{type(error).__name__}: {message[0]}" if message else type(error).__name__

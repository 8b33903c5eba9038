"""Facts about the software a run used (package versions, Keras backend, git commit),
and settings read from environment variables."""

from __future__ import annotations

import os
import subprocess
from importlib import metadata
from pathlib import Path

from bench.errors import UsageError

PACKAGES = (
    "keras",
    "tensorflow",
    "jax",
    "torch",
    "scikit-learn",
    "scikeras",
    "scikit-image",
    "mlflow",
    "optuna",
    "numpy",
    "pandas",
    "cloudpickle",
)


def seconds_setting(variable: str, default: int) -> int:
    """Whole seconds from ``$variable``, else ``default``.

    Raises
    ------
    UsageError
        If the variable is set to anything but a whole number >= 1.
    """
    text = os.environ.get(variable, "").strip()
    if not text:
        return default
    if not text.isdigit() or int(text) < 1:
        raise UsageError(f"{variable}={text!r} is not valid; use a whole number of seconds >= 1")
    return int(text)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that shape results (missing ones left out)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def keras_backend() -> str:
    """The Keras backend in use ("tensorflow", "jax" or "torch")."""
    import keras

    return keras.backend.backend()


def git_commit() -> str | None:
    """Commit of the bench source tree, with ``-dirty`` if it has local changes."""
    source = Path(__file__).resolve().parent
    try:
        commit = _git(source, "rev-parse", "HEAD")
        dirty = _git(source, "status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=5, check=True
    )
    return done.stdout.strip()

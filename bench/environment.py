"""Facts about the software a run used: package versions, Keras backend, git commit."""

from __future__ import annotations

import subprocess
from importlib import metadata
from pathlib import Path

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

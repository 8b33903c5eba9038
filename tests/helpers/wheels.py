"""A real wheel, written by a test and installed with pip, for what a lab shares with
``pip install``: its modules and its entry points, with the RECORD pip checks."""

import base64
import hashlib
import subprocess
import sys
import zipfile
from pathlib import Path


def write_wheel(
    folder: Path, *, name: str, version: str, modules: dict[str, str], entry_points: str
) -> Path:
    """A pure-Python wheel ``name-version-py3-none-any.whl`` in ``folder`` holding
    ``modules`` (path in the wheel -> source) and ``entry_points`` (the text of its
    ``entry_points.txt``)."""
    dist = name.replace("-", "_")
    info = f"{dist}-{version}.dist-info"
    files = dict(modules)
    files[f"{info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
    files[f"{info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: bench-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    files[f"{info}/entry_points.txt"] = entry_points
    record = [f"{path},sha256={_digest(text)},{len(text.encode())}" for path, text in files.items()]
    files[f"{info}/RECORD"] = "\n".join([*record, f"{info}/RECORD,,"]) + "\n"
    wheel = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
    return wheel


def pip_install(wheel: Path, target: Path) -> Path:
    """``pip install --target target wheel``, offline; returns ``target``."""
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-index",
         "--disable-pip-version-check", "--target", str(target), str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return target


def _digest(text: str) -> str:
    raw = hashlib.sha256(text.encode()).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

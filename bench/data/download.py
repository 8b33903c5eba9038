"""Downloading of dataset files: stream, hash, verify, then move into place atomically.

A file only ever appears under its final name complete and verified; a failed or
interrupted download leaves nothing behind. Files are checked against SHA-256, or MD5
where that is all a publisher gives (SVHN, CIFAR-10): MD5 still catches damaged and
substituted files, as no known attack makes a second file with a given file's MD5.
"""

import hashlib
import http.client
import os
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO

from bench.errors import ChecksumError, DataNotFoundError

Progress = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total)`` while a file downloads;
``bytes_total`` is None when the server does not say."""

TIMEOUT_S = 30.0
CHUNK_SIZE = 1 << 20

# What a dead mirror, a dropped connection or an HTTP error raises: URLError and
# socket timeouts are OSErrors. A short body raises nothing and is checked by hand.
NETWORK_ERRORS = (OSError, http.client.HTTPException)

# The digests publishers give, as hashlib names them and as messages do.
ALGORITHM_NAMES = {"sha256": "SHA-256", "md5": "MD5"}


def new_hash(algorithm: str):
    """A :mod:`hashlib` object for ``algorithm`` (``"sha256"`` or ``"md5"``).

    Raises
    ------
    ValueError
        For any other algorithm: a catalog entry with a typo is a bug.
    """
    if algorithm not in ALGORITHM_NAMES:
        raise ValueError(f"unsupported checksum algorithm {algorithm!r}")
    # usedforsecurity=False: the digest checks integrity, and FIPS systems refuse MD5
    # otherwise.
    return hashlib.new(algorithm, usedforsecurity=False)


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    """Hex digest of ``data`` by ``algorithm`` (``"sha256"`` or ``"md5"``)."""
    digest = new_hash(algorithm)
    digest.update(data)
    return digest.hexdigest()


def download_file(
    url: str,
    dest: str | os.PathLike,
    expected: str,
    *,
    algorithm: str = "sha256",
    progress: Progress | None = None,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Download ``url`` to ``dest`` if its checksum is ``expected``.

    The bytes stream into a temporary file next to ``dest`` and are hashed on the way;
    the file is renamed to ``dest`` only once it is complete, synced and its checksum
    matches, and removed on any failure or interruption.

    Parameters
    ----------
    url : str
        What to download.
    dest : str or path-like
        Final path; its directory must exist.
    expected : str
        Expected digest (hex) of the downloaded bytes.
    algorithm : str
        ``"sha256"``, or ``"md5"`` where that is all that is published.
    progress : callable, optional
        ``progress(bytes_done, bytes_total)``, called after each chunk.
    timeout : float
        Seconds to wait for the server to connect or send data.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    DataNotFoundError
        If the server cannot be reached, answers with an error, or closes the
        connection before sending everything.
    ChecksumError
        If the downloaded bytes do not have the expected checksum.
    """
    digest = new_hash(algorithm)
    dest = Path(dest)
    fd, temp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as file:
            _stream(url, file, digest, progress, timeout)
            file.flush()
            os.fsync(file.fileno())
        actual = digest.hexdigest()
        if actual != expected.lower():
            raise ChecksumError(
                f"{url}: downloaded file has {ALGORITHM_NAMES[algorithm]} {actual}, "
                f"expected {expected}; "
                "the mirror serves a different file, try again later or supply the files "
                "yourself"
            )
        # mkstemp creates the file private (0600); a cache is ordinary data.
        os.chmod(temp, 0o666 & ~_current_umask())
        os.replace(temp, dest)
    except BaseException:
        # Includes KeyboardInterrupt: no partial file may stay behind.
        temp.unlink(missing_ok=True)
        raise
    return dest


def download_from_mirrors(
    file_name: str,
    mirrors: Sequence[str],
    dest: str | os.PathLike,
    expected: str,
    *,
    algorithm: str = "sha256",
    progress: Progress | None = None,
    timeout: float = TIMEOUT_S,
) -> Path:
    """Download ``file_name`` from the first of ``mirrors`` that serves it intact.

    Parameters
    ----------
    file_name : str
        Name appended to each mirror's base URL.
    mirrors : sequence of str
        Base URLs, tried in order.
    dest, expected, algorithm, progress, timeout
        As for :func:`download_file`.

    Returns
    -------
    pathlib.Path
        ``dest``.

    Raises
    ------
    ChecksumError
        If no mirror served the file intact and at least one served wrong bytes.
    DataNotFoundError
        If no mirror could be reached; the message is the last mirror's error.
    """
    if not mirrors:
        raise DataNotFoundError(f"no mirror to download {file_name} from")
    failures: list[DataNotFoundError | ChecksumError] = []
    for mirror in mirrors:
        try:
            return download_file(
                mirror + file_name,
                dest,
                expected,
                algorithm=algorithm,
                progress=progress,
                timeout=timeout,
            )
        except (DataNotFoundError, ChecksumError) as err:
            failures.append(err)
    # Wrong bytes say more than an unreachable mirror, so they win.
    checksum_errors = [err for err in failures if isinstance(err, ChecksumError)]
    raise (checksum_errors or failures)[-1]


def _stream(url: str, file: BinaryIO, digest, progress: Progress | None, timeout: float) -> None:
    """Copy ``url`` into ``file``, feeding what was received to ``digest``.

    Only network failures become DataNotFoundError; a failing write to the local disk
    keeps its own OSError.
    """
    try:
        response = urllib.request.urlopen(url, timeout=timeout)
    except NETWORK_ERRORS as err:
        raise DataNotFoundError(f"could not download {url}: {_describe(err)}") from err
    done = 0
    with response:
        length = response.headers.get("Content-Length")
        total = int(length) if length and length.isdigit() else None
        if progress is not None:
            progress(0, total)
        while True:
            try:
                chunk = response.read(CHUNK_SIZE)
            except NETWORK_ERRORS as err:
                raise DataNotFoundError(
                    f"could not download {url}: {_describe(err)} after {done} bytes"
                ) from err
            if not chunk:
                break
            digest.update(chunk)
            file.write(chunk)
            done += len(chunk)
            if progress is not None:
                progress(done, total)
    # urllib returns a short body without complaint when the server hangs up early.
    if total is not None and done != total:
        raise DataNotFoundError(
            f"could not download {url}: connection closed after {done} of {total} bytes"
        )


def _describe(err: BaseException) -> str:
    if isinstance(err, urllib.error.HTTPError):
        return f"HTTP {err.code} {err.reason}"
    reason = getattr(err, "reason", None)
    return str(reason) if reason is not None else (str(err) or type(err).__name__)


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

"""Downloading of dataset files with :func:`pooch.retrieve`, from the first mirror that
serves them intact.

Pooch streams a file into a temporary file next to its destination, checks its hash and
only then moves it into place, removing it on any failure or interruption: a file only
ever appears under its final name complete and verified. Files are checked against
SHA-256, or MD5 where that is all a publisher gives (SVHN, CIFAR-10): MD5 still catches
damaged and substituted files, as no known attack makes a second file with a given
file's MD5. What is ours: the mirrors tried in turn, and one-line errors.
"""

import hashlib
import logging
import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import pooch
import requests

from bench.errors import ChecksumError, DataNotFoundError

Progress = Callable[[int, int | None], None]
"""Called as ``progress(bytes_done, bytes_total)`` while a file downloads;
``bytes_total`` is None when the server does not say."""

TIMEOUT_S = 30.0
CHUNK_SIZE = 1 << 20

# The digests publishers give, as hashlib and pooch name them and as messages do.
ALGORITHM_NAMES = {"sha256": "SHA-256", "md5": "MD5"}

# Pooch announces each download on its own handler; errors reach the user as ours.
pooch.get_logger().setLevel(logging.WARNING)


def checksum(data: bytes, algorithm: str = "sha256") -> str:
    """Hex digest of ``data`` by ``algorithm`` (``"sha256"`` or ``"md5"``).

    Raises
    ------
    ValueError
        For any other algorithm: a catalog entry with a typo is a bug.
    """
    if algorithm not in ALGORITHM_NAMES:
        raise ValueError(f"unsupported checksum algorithm {algorithm!r}")
    # usedforsecurity=False: the digest checks integrity, and FIPS systems refuse MD5
    # otherwise.
    return hashlib.new(algorithm, data, usedforsecurity=False).hexdigest()


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
        ``progress(bytes_done, bytes_total)``, called as the file arrives.
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
    dest = Path(dest)
    downloader = pooch.HTTPDownloader(
        progressbar=_ProgressBar(progress) if progress is not None else False,
        chunk_size=CHUNK_SIZE,
        timeout=timeout,
    )
    try:
        pooch.retrieve(
            url,
            known_hash=f"{algorithm}:{expected}",
            fname=dest.name,
            path=dest.parent,
            downloader=downloader,
        )
    except requests.RequestException as err:
        raise DataNotFoundError(f"could not download {url}: {_describe(err)}") from err
    except ValueError as err:
        # Pooch's hash mismatch ("... expected <known> but got <actual>. Deleted ...").
        actual = re.search(r"but got (\w+)", str(err))
        if actual is None:
            raise
        raise ChecksumError(
            f"{url}: downloaded file has {ALGORITHM_NAMES[algorithm]} {actual[1]}, "
            f"expected {expected}, and was removed; the mirror serves a different file, "
            "try again later or supply the files yourself"
        ) from err
    # Pooch's temporary file is private (0600); a cache is ordinary data.
    dest.chmod(0o666 & ~_current_umask())
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


class _ProgressBar:
    """The tqdm-like bar pooch's downloader drives, passed on as ``progress(done, total)``.

    Pooch counts whole chunks, then resets the bar and fills it: ``done`` only grows,
    capped at the total, and is passed on when it changes, so a caller's bar ends once.
    """

    def __init__(self, progress: Progress):
        self.progress, self.done = progress, 0
        self._total: int | None = None

    @property
    def total(self) -> int | None:
        return self._total

    @total.setter
    def total(self, total: int) -> None:  # set once the server answers; 0 if unsaid
        self._total = total or None
        self.progress(0, self._total)

    def update(self, size: int) -> None:
        done = self.done + size if self._total is None else min(self.done + size, self._total)
        if done != self.done:
            self.done = done
            self.progress(done, self._total)

    def reset(self) -> None:
        pass

    close = reset


def _describe(err: BaseException) -> str:
    """The cause of a failed request in a few words, not requests' nested reprs."""
    if isinstance(err, requests.HTTPError) and err.response is not None:
        return f"HTTP {err.response.status_code} {err.response.reason}"
    while (cause := err.__cause__ or err.__context__) is not None:
        err = cause
        # urllib3's IncompleteRead: the server hung up before its Content-Length.
        partial, expected = getattr(err, "partial", None), getattr(err, "expected", None)
        if isinstance(partial, int) and isinstance(expected, int):
            return f"connection closed after {partial} of {partial + expected} bytes"
    # The socket's own error ("[Errno 111] Connection refused", "timed out").
    return str(err) or type(err).__name__


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask

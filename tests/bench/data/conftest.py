"""Shared helpers of the data tests: tiny IDX datasets written by the tests, their
corruptions, and a real HTTP server on 127.0.0.1 to download them from.

Test modules reach the helpers through the ``idx`` fixture (a namespace), the
corruptions through the parametrised ``corrupt`` fixture.
"""

import dataclasses
import gzip
import hashlib
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from bench.data.catalog import CatalogEntry, IdxFile

FILE_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


def idx_bytes(array: np.ndarray) -> bytes:
    """IDX encoding of a uint8 array."""
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def tiny_arrays(seed: int = 0) -> list[np.ndarray]:
    """Train images, train labels, test images, test labels: 4x4 images, 3 classes."""
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (6, 4, 4), dtype=np.uint8),
        np.array([0, 1, 2, 0, 1, 2], np.uint8),
        rng.integers(0, 256, (3, 4, 4), dtype=np.uint8),
        np.array([2, 1, 0], np.uint8),
    ]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tiny_entry(arrays: list[np.ndarray], mirrors: tuple[str, ...] = ()) -> CatalogEntry:
    """A catalog entry whose checksums are those of ``arrays`` gzipped by ``gzip_idx``."""
    files = [
        IdxFile(name, sha256(gzip_idx(array)), sha256(idx_bytes(array)))
        for name, array in zip(FILE_NAMES, arrays, strict=True)
    ]
    return CatalogEntry(
        name="tiny",
        title="Tiny",
        class_names=("a", "b", "c"),
        train_images=files[0],
        train_labels=files[1],
        test_images=files[2],
        test_labels=files[3],
        mirrors=mirrors,
        image_shape=(4, 4),
    )


def gzip_idx(array: np.ndarray, level: int = 9) -> bytes:
    # mtime=0 makes the archive, and so its checksum, reproducible.
    return gzip.compress(idx_bytes(array), compresslevel=level, mtime=0)


def write_dataset(directory: Path, arrays: list[np.ndarray], *, gz: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in zip(FILE_NAMES, arrays, strict=True):
        if gz:
            (directory / f"{name}.gz").write_bytes(gzip_idx(array))
        else:
            (directory / name).write_bytes(idx_bytes(array))
    return directory


@pytest.fixture
def dead_url():
    """A URL on a local port nothing listens on: connecting fails at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.server.requests.append(self.path)
        if self.path not in self.server.routes:
            self.send_error(404)
            return
        body, declared_length = self.server.routes[self.path]
        self.send_response(200)
        self.send_header("Content-Length", str(declared_length))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server():
    """A real HTTP server on 127.0.0.1; ``server.serve(path, body)`` publishes a file,
    ``server.serve_dataset(folder, arrays)`` a tiny IDX dataset."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    httpd.requests = []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"

    def serve(path: str, body: bytes, declared_length: int | None = None) -> None:
        httpd.routes[path] = (body, len(body) if declared_length is None else declared_length)

    def serve_dataset(folder: str, arrays: list[np.ndarray]) -> str:
        """Publish ``arrays`` as the four gzipped IDX files under ``/folder/``."""
        for name, array in zip(FILE_NAMES, arrays, strict=True):
            serve(f"/{folder}/{name}.gz", gzip_idx(array))
        return f"{httpd.url}/{folder}/"

    httpd.serve = serve
    httpd.serve_dataset = serve_dataset
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def truncate_gzip(directory: Path, arrays: list[np.ndarray]) -> tuple[list[Path], str]:
    path = directory / "train-images-idx3-ubyte.gz"
    archive = path.read_bytes()
    path.write_bytes(archive[: len(archive) // 2])
    return [path], "truncated or corrupt gzip data"


def foreign_magic(directory: Path, arrays: list[np.ndarray]) -> tuple[list[Path], str]:
    path = directory / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip.compress(b"\x12\x34" + idx_bytes(arrays[1])[2:], mtime=0))
    return [path], "not an IDX file .magic number 12340801"


def labels_magic_in_images_file(directory: Path, arrays: list[np.ndarray]):
    path = directory / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip_idx(arrays[2].ravel()))
    return [path], r"expected 3-dimensional images \(IDX magic 0x00000803\), found 1 .*0x00000801"


def images_magic_in_labels_file(directory: Path, arrays: list[np.ndarray]):
    path = directory / "train-labels-idx1-ubyte.gz"
    path.write_bytes(gzip_idx(arrays[1].reshape(6, 1, 1)))
    return [path], r"expected 1-dimensional labels \(IDX magic 0x00000801\), found 3 .*0x00000803"


def wrong_image_size(directory: Path, arrays: list[np.ndarray]) -> tuple[list[Path], str]:
    path = directory / "t10k-images-idx3-ubyte.gz"
    path.write_bytes(gzip_idx(np.zeros((3, 5, 5), np.uint8)))
    return [path], "images are 5x5, expected 4x4 for Tiny"


def one_label_missing(directory: Path, arrays: list[np.ndarray]) -> tuple[list[Path], str]:
    labels = directory / "train-labels-idx1-ubyte.gz"
    labels.write_bytes(gzip_idx(arrays[1][:-1]))
    images = directory / "train-images-idx3-ubyte.gz"
    return [images, labels], "holds 6 images but .* holds 5 labels"


def label_out_of_range(directory: Path, arrays: list[np.ndarray]) -> tuple[list[Path], str]:
    path = directory / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(gzip_idx(np.array([2, 3, 0], np.uint8)))
    return [path], r"label 3 out of range; Tiny has classes 0\.\.2"


CORRUPTIONS = [
    truncate_gzip,
    foreign_magic,
    labels_magic_in_images_file,
    images_magic_in_labels_file,
    wrong_image_size,
    one_label_missing,
    label_out_of_range,
]


def entry_trusting(directory: Path, mirrors: tuple[str, ...] = ()) -> CatalogEntry:
    """The tiny entry with the archive checksums of the files in ``directory``.

    Damaged files then pass verification, so the check that refuses them is the
    structural one under test, as for a mirror that published broken files.
    """
    entry = tiny_entry(tiny_arrays(), mirrors)
    fields = ("train_images", "train_labels", "test_images", "test_labels")
    trusted = {
        field: dataclasses.replace(
            file,
            archive_sha256=sha256((directory / file.archive_name).read_bytes()),
            content_sha256="0" * 64,
        )
        for field, file in zip(fields, entry.files, strict=True)
    }
    return dataclasses.replace(entry, **trusted)


def assert_names_file_and_problem(message: str, paths: list[Path], problem: str) -> None:
    for path in paths:
        assert str(path) in message
    assert re.search(problem, message), message


@pytest.fixture
def idx():
    """The helpers above, as ``idx.tiny_arrays()``, ``idx.write_dataset(...)`` etc."""
    return SimpleNamespace(
        FILE_NAMES=FILE_NAMES,
        idx_bytes=idx_bytes,
        tiny_arrays=tiny_arrays,
        sha256=sha256,
        tiny_entry=tiny_entry,
        gzip_idx=gzip_idx,
        write_dataset=write_dataset,
        entry_trusting=entry_trusting,
        assert_names_file_and_problem=assert_names_file_and_problem,
        label_out_of_range=label_out_of_range,
    )


@pytest.fixture(params=CORRUPTIONS, ids=lambda corrupt: corrupt.__name__)
def corrupt(request):
    """One way a data file gets damaged: ``corrupt(directory, arrays)`` returns the
    paths the error must name and a pattern for the problem it must state."""
    return request.param

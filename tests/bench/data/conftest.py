"""Shared helpers of the data tests: tiny IDX, SVHN and CIFAR-10 datasets written by the
tests in the real formats, the IDX corruptions, and a real HTTP server on 127.0.0.1 to
download them from.

Test modules reach the helpers through the ``idx``, ``svhn`` and ``cifar`` fixtures
(namespaces), the IDX corruptions through the parametrised ``corrupt`` fixture.
"""

import dataclasses
import gzip
import hashlib
import io
import re
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import scipy.io

from bench.data.catalog import (
    CIFAR10,
    SVHN,
    CifarEntry,
    IdxDataset,
    IdxFile,
    PublishedFile,
    SvhnEntry,
)

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


def tiny_entry(arrays: list[np.ndarray], mirrors: tuple[str, ...] = ()) -> IdxDataset:
    """A catalog entry whose checksums are those of ``arrays`` gzipped by ``gzip_idx``."""
    files = [
        IdxFile(name, sha256(gzip_idx(array)), sha256(idx_bytes(array)))
        for name, array in zip(FILE_NAMES, arrays, strict=True)
    ]
    return IdxDataset(
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


def entry_trusting(directory: Path, mirrors: tuple[str, ...] = ()) -> IdxDataset:
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


@pytest.fixture
def isolated_data_env(monkeypatch, tmp_path):
    """Keep a test off the user's cache, data folder and proxy: the cache (downloads and
    arrays) is ``tmp_path / "user-cache"``."""
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "user-cache"))
    for variable in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def assert_nothing_cached(tmp_path: Path) -> None:
    """No decoded arrays were cached under the test's BENCH_CACHE_DIR."""
    assert not (tmp_path / "user-cache" / "arrays").exists()


# --- SVHN: format-2 .mat files -------------------------------------------------------------

SVHN_FILES = ("train_32x32.mat", "test_32x32.mat")


def svhn_arrays(seed: int = 0) -> list[np.ndarray]:
    """Train images, train digits, test images, test digits: 6 and 3 colour images,
    the digit 0 among the labels of both."""
    rng = np.random.default_rng(seed)
    return [
        rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
        np.array([0, 1, 9, 0, 5, 2], np.int64),
        rng.integers(0, 256, (3, 32, 32, 3), dtype=np.uint8),
        np.array([3, 0, 7], np.int64),
    ]


def svhn_mat(*, compress: bool = False, **variables: np.ndarray) -> bytes:
    """A MATLAB 5 file holding ``variables`` exactly as given (MATLAB's axes), in order."""
    buffer = io.BytesIO()
    scipy.io.savemat(buffer, variables, do_compression=compress)
    return buffer.getvalue()


def svhn_file(images: np.ndarray, digits: np.ndarray, *, compress: bool = False) -> bytes:
    """The SVHN file of ``images`` (n, 32, 32, 3) and ``digits``: X is (32, 32, 3, n),
    y is (n, 1) uint8 with the digit 0 stored as 10."""
    labels = np.where(digits == 0, 10, digits).astype(np.uint8).reshape(-1, 1)
    return svhn_mat(X=images.transpose(1, 2, 3, 0), y=labels, compress=compress)


def svhn_files(arrays: list[np.ndarray], *, compress: bool = False) -> dict[str, bytes]:
    """Both files' bytes by name. savemat dates its header, so hash these, not a rerun."""
    X_train, y_train, X_test, y_test = arrays
    return {
        SVHN_FILES[0]: svhn_file(X_train, y_train, compress=compress),
        SVHN_FILES[1]: svhn_file(X_test, y_test, compress=compress),
    }


def write_files(directory: Path, files: dict[str, bytes]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (directory / name).write_bytes(content)
    return directory


def svhn_entry(files: dict[str, bytes], mirrors: tuple[str, ...] = ()) -> SvhnEntry:
    """SVHN's entry with the MD5s and sizes of ``files`` (name to bytes) as published."""
    train, test = (
        PublishedFile(name, md5(files[name]), algorithm="md5", size=len(files[name]))
        for name in SVHN_FILES
    )
    return dataclasses.replace(SVHN, train=train, test=test, mirrors=mirrors)


def svhn_entry_trusting(directory: Path, mirrors: tuple[str, ...] = ()) -> SvhnEntry:
    """SVHN's entry publishing the files now in ``directory``, damaged ones included,
    so that the structural checks, not the checksums, must refuse them."""
    return svhn_entry({name: (directory / name).read_bytes() for name in SVHN_FILES}, mirrors)


# --- CIFAR-10: binary record files, their folder and archive -------------------------------

CIFAR_FOLDER = "cifar-10-batches-bin"
CIFAR_ARCHIVE = "cifar-10-binary.tar.gz"
CIFAR_BATCHES = (*(f"data_batch_{number}.bin" for number in range(1, 6)), "test_batch.bin")
CIFAR_META = "batches.meta.txt"
RECORDS_PER_BATCH = 2


def cifar_batches(seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """Images (2, 32, 32, 3) and labels of each of the six record files, in order."""
    rng = np.random.default_rng(seed)
    return [
        (
            rng.integers(0, 256, (RECORDS_PER_BATCH, 32, 32, 3), dtype=np.uint8),
            rng.integers(0, 10, RECORDS_PER_BATCH, dtype=np.int64),
        )
        for _ in CIFAR_BATCHES
    ]


def cifar_records(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Records of a label byte and the red, green and blue planes, each row by row."""
    return b"".join(
        bytes([label]) + image.transpose(2, 0, 1).tobytes()
        for image, label in zip(images, labels, strict=True)
    )


def cifar_meta(class_names: tuple[str, ...] = CIFAR10.class_names) -> bytes:
    # As published: one name a line, then an empty line.
    return ("\n".join(class_names) + "\n\n").encode()


def cifar_files(batches: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, bytes]:
    """The folder's files by name: the six record files and the class names."""
    files = {
        name: cifar_records(*batch) for name, batch in zip(CIFAR_BATCHES, batches, strict=True)
    }
    return {**files, CIFAR_META: cifar_meta()}


def cifar_archive(files: dict[str, bytes], *, members: tuple[tarfile.TarInfo, ...] = ()) -> bytes:
    """The tar.gz of ``files`` under cifar-10-batches-bin/, plus ``members`` (links,
    folders) as given; reproducible, so its MD5 is too."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        folder = tarfile.TarInfo(CIFAR_FOLDER)
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
        for name, content in files.items():
            info = tarfile.TarInfo(f"{CIFAR_FOLDER}/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
        for member in members:
            tar.addfile(member)
    return gzip.compress(buffer.getvalue(), mtime=0)


def write_cifar_folder(directory: Path, files: dict[str, bytes]) -> Path:
    """``directory/cifar-10-batches-bin/`` holding ``files``; returns ``directory``."""
    write_files(directory / CIFAR_FOLDER, files)
    return directory


def write_cifar_archive(directory: Path, archive: bytes) -> Path:
    """``directory/cifar-10-binary.tar.gz``; returns its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / CIFAR_ARCHIVE
    path.write_bytes(archive)
    return path


def cifar_entry(archive: bytes, mirrors: tuple[str, ...] = ()) -> CifarEntry:
    """CIFAR-10's entry publishing ``archive`` (MD5 and size) and 2 records per file."""
    published = PublishedFile(CIFAR_ARCHIVE, md5(archive), algorithm="md5", size=len(archive))
    return dataclasses.replace(
        CIFAR10, archive=published, mirrors=mirrors, records_per_batch=RECORDS_PER_BATCH
    )


def joined(batches: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
    """X_train, y_train, X_test, y_test of the six record files' contents."""
    train, test = batches[:5], batches[5:]
    return [
        np.concatenate([images for images, _ in train]),
        np.concatenate([labels for _, labels in train]),
        np.concatenate([images for images, _ in test]),
        np.concatenate([labels for _, labels in test]),
    ]


@pytest.fixture
def svhn():
    """The SVHN helpers above, as ``svhn.arrays()``, ``svhn.files(...)`` etc."""
    return SimpleNamespace(
        FILES=SVHN_FILES,
        arrays=svhn_arrays,
        mat=svhn_mat,
        file=svhn_file,
        files=svhn_files,
        write=write_files,
        entry=svhn_entry,
        entry_trusting=svhn_entry_trusting,
        md5=md5,
        assert_nothing_cached=assert_nothing_cached,
    )


@pytest.fixture
def cifar():
    """The CIFAR-10 helpers above, as ``cifar.batches()``, ``cifar.archive(...)`` etc."""
    return SimpleNamespace(
        FOLDER=CIFAR_FOLDER,
        ARCHIVE=CIFAR_ARCHIVE,
        BATCHES=CIFAR_BATCHES,
        META=CIFAR_META,
        batches=cifar_batches,
        records=cifar_records,
        meta=cifar_meta,
        files=cifar_files,
        archive=cifar_archive,
        write_folder=write_cifar_folder,
        write_archive=write_cifar_archive,
        entry=cifar_entry,
        joined=joined,
        md5=md5,
        assert_nothing_cached=assert_nothing_cached,
    )

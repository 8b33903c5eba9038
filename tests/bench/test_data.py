"""Tests of bench.data: IDX parsing, validation, search order, downloads, real datasets."""

import dataclasses
import gzip
import hashlib
import io
import pickle
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from bench.data import (
    Dataset,
    dataset_names,
    load_dataset,
    load_digits,
    load_fashion_mnist,
    load_mnist,
    read_idx,
)
from bench.data.catalog import FASHION_MNIST, CatalogEntry, IdxFile
from bench.data.download import download_file
from bench.data.loaders import load_idx_dataset
from bench.errors import ChecksumError, CorruptDataError, DataNotFoundError, UsageError

SHARED_MNIST = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "mnist"
SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FILE_NAMES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)


# --- helpers: tiny IDX datasets written by the tests --------------------------------------


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


def load_from(entry: CatalogEntry, directory: Path, tmp_path: Path, **kwargs) -> Dataset:
    """Load ``entry`` from ``directory`` only: empty system folder and cache, no download."""
    kwargs.setdefault("download", False)
    return load_idx_dataset(
        entry,
        data_dir=directory,
        system_root=tmp_path / "no-system",
        cache_dir=tmp_path / "no-cache",
        **kwargs,
    )


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch, tmp_path):
    """Keep the tests off the user's cache, data folder and proxy."""
    monkeypatch.delenv("BENCH_DATA_DIR", raising=False)
    monkeypatch.setenv("BENCH_CACHE_DIR", str(tmp_path / "user-cache"))
    for variable in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.delenv(variable, raising=False)


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
    """A real HTTP server on 127.0.0.1; ``server.serve(path, body)`` publishes a file."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.routes = {}
    httpd.requests = []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"

    def serve(path: str, body: bytes, declared_length: int | None = None) -> None:
        httpd.routes[path] = (body, len(body) if declared_length is None else declared_length)

    httpd.serve = serve
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def serve_dataset(server, folder: str, arrays: list[np.ndarray]) -> str:
    for name, array in zip(FILE_NAMES, arrays, strict=True):
        server.serve(f"/{folder}/{name}.gz", gzip_idx(array))
    return f"{server.url}/{folder}/"


# --- IDX parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("file_name", ["data-idx", "data-idx.gz"])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 2)])
def test_read_idx_round_trip(tmp_path, compressed, file_name, shape):
    # Gzip is recognised by content, so a misnamed file still reads.
    array = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    content = idx_bytes(array)
    (tmp_path / file_name).write_bytes(gzip.compress(content) if compressed else content)

    result = read_idx(tmp_path / file_name)

    assert result.dtype == np.uint8
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)


def write_corrupt(tmp_path: Path, content: bytes, name: str = "bad-idx1-ubyte") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_wrong_magic_is_corrupt(tmp_path):
    path = write_corrupt(tmp_path, b"\x12\x34" + idx_bytes(np.zeros(3, np.uint8))[2:])
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*not an IDX file"):
        read_idx(path)


def test_wrong_type_byte_is_corrupt(tmp_path):
    content = bytearray(idx_bytes(np.zeros(3, np.uint8)))
    content[2] = 0x0D
    path = write_corrupt(tmp_path, bytes(content))
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*type byte is 0x0d"):
        read_idx(path)


def test_truncated_payload_is_corrupt(tmp_path):
    path = write_corrupt(tmp_path, idx_bytes(np.zeros((2, 3, 3), np.uint8))[:-1])
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*truncated.*17 bytes"):
        read_idx(path)


def test_truncated_header_is_corrupt(tmp_path):
    path = write_corrupt(tmp_path, idx_bytes(np.zeros((2, 3, 3), np.uint8))[:10])
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*truncated IDX header"):
        read_idx(path)


def test_trailing_bytes_are_corrupt(tmp_path):
    path = write_corrupt(tmp_path, idx_bytes(np.zeros(3, np.uint8)) + b"\x00\x00")
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*2 trailing bytes"):
        read_idx(path)


def test_truncated_gzip_is_corrupt(tmp_path):
    archive = gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8)))
    path = write_corrupt(tmp_path, archive[: len(archive) // 2], "bad-idx1-ubyte.gz")
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.gz.*gzip"):
        read_idx(path)


def test_corrupt_gzip_checksum_is_corrupt(tmp_path):
    archive = bytearray(gzip.compress(idx_bytes(np.arange(200, dtype=np.uint8))))
    archive[-8] ^= 0xFF  # the CRC-32 of the content
    path = write_corrupt(tmp_path, bytes(archive), "bad-idx1-ubyte.gz")
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.gz.*gzip"):
        read_idx(path)


# --- validation of a whole dataset --------------------------------------------------------


def test_tiny_dataset_loads_gzipped_and_plain(tmp_path):
    arrays = tiny_arrays()
    entry = tiny_entry(arrays)
    for gz in (True, False):
        directory = write_dataset(tmp_path / f"gz-{gz}", arrays, gz=gz)

        dataset = load_from(entry, directory, tmp_path)

        np.testing.assert_array_equal(dataset.X_train, arrays[0])
        np.testing.assert_array_equal(dataset.y_test, arrays[3])
        assert dataset.y_train.dtype == np.int64
        assert dataset.X_train.dtype == np.uint8
        assert dataset.source == str(directory)
        assert dataset.class_names == ("a", "b", "c")
        assert dataset.sizes == {"train": 6, "test": 3}
        assert dataset.image_shape == (4, 4)


# Each damages the files written by write_dataset(directory, arrays) and returns the
# paths the error must name and a pattern for the problem it must state.


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


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda corrupt: corrupt.__name__)
def test_corrupt_file_error_names_it_and_nothing_is_cached(tmp_path, corrupt, verify):
    arrays = tiny_arrays()
    directory = write_dataset(tmp_path / "data", arrays)
    paths, problem = corrupt(directory, arrays)
    files_before = {path: path.read_bytes() for path in directory.iterdir()}

    with pytest.raises(CorruptDataError) as caught:
        load_from(entry_trusting(directory), directory, tmp_path, verify=verify)

    assert_names_file_and_problem(str(caught.value), paths, problem)
    # Neither the array cache (BENCH_CACHE_DIR/arrays) nor the download cache got
    # anything, and the user's files are left as they were.
    assert not (tmp_path / "user-cache").exists()
    assert not (tmp_path / "no-cache").exists()
    assert {path: path.read_bytes() for path in directory.iterdir()} == files_before


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda corrupt: corrupt.__name__)
def test_corrupt_download_error_names_it_and_nothing_is_cached(tmp_path, server, corrupt):
    arrays = tiny_arrays()
    published = write_dataset(tmp_path / "published", arrays)
    paths, problem = corrupt(published, arrays)
    for name in FILE_NAMES:
        server.serve(f"/broken/{name}.gz", (published / f"{name}.gz").read_bytes())
    entry = entry_trusting(published, mirrors=(f"{server.url}/broken/",))
    cache = tmp_path / "cache"

    with pytest.raises(CorruptDataError) as caught:
        load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache)

    message = str(caught.value)
    assert_names_file_and_problem(message, [cache / path.name for path in paths], problem)
    assert "removed the files this load downloaded" in message
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "user-cache").exists()
    # Nothing of the broken files is left to be found: the next load downloads again.
    with pytest.raises(CorruptDataError):
        load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache)
    assert len(server.requests) == 8


def test_corrupt_download_keeps_files_it_did_not_download(tmp_path, server):
    arrays = tiny_arrays()
    published = write_dataset(tmp_path / "published", arrays)
    paths, problem = label_out_of_range(published, arrays)
    for name in FILE_NAMES:
        server.serve(f"/broken/{name}.gz", (published / f"{name}.gz").read_bytes())
    entry = entry_trusting(published, mirrors=(f"{server.url}/broken/",))
    cache = tmp_path / "cache"
    cache.mkdir()
    kept = cache / "train-images-idx3-ubyte.gz"
    kept.write_bytes((published / kept.name).read_bytes())

    with pytest.raises(CorruptDataError, match=problem):
        load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache)

    assert list(cache.iterdir()) == [kept]
    assert "/broken/train-images-idx3-ubyte.gz" not in server.requests


def test_recompressed_file_passes_verification_by_content(tmp_path):
    # Debian's and the shared copies are re-compressed: other archive bytes, same content.
    arrays = tiny_arrays()
    directory = tmp_path / "data"
    directory.mkdir()
    for name, array in zip(FILE_NAMES, arrays, strict=True):
        (directory / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(array), 1, mtime=12345))
    entry = tiny_entry(arrays)
    assert sha256((directory / f"{FILE_NAMES[0]}.gz").read_bytes()) != (
        entry.train_images.archive_sha256
    )

    dataset = load_from(entry, directory, tmp_path, verify=True)

    np.testing.assert_array_equal(dataset.X_train, arrays[0])


def test_published_archive_passes_verification_by_archive_checksum(tmp_path):
    arrays = tiny_arrays()
    directory = write_dataset(tmp_path / "data", arrays)
    entry = tiny_entry(arrays)
    entry = dataclasses.replace(
        entry, train_images=dataclasses.replace(entry.train_images, content_sha256="0" * 64)
    )

    dataset = load_from(entry, directory, tmp_path, verify=True)

    np.testing.assert_array_equal(dataset.X_train, arrays[0])


def test_non_canonical_file_fails_verification_unless_turned_off(tmp_path):
    arrays = tiny_arrays()
    entry = tiny_entry(arrays)
    other = tiny_arrays(seed=1)
    directory = write_dataset(tmp_path / "data", [other[0], *arrays[1:]])

    with pytest.raises(CorruptDataError) as caught:
        load_from(entry, directory, tmp_path, verify=True)
    message = str(caught.value)
    assert str(directory / "train-images-idx3-ubyte.gz") in message
    assert "not the canonical Tiny" in message
    assert entry.train_images.content_sha256 in message
    assert sha256(idx_bytes(other[0])) in message
    assert "delete it" in message
    assert not (tmp_path / "user-cache").exists()

    dataset = load_from(entry, directory, tmp_path, verify=False)
    np.testing.assert_array_equal(dataset.X_train, other[0])


# --- search order --------------------------------------------------------------------------


def test_bench_data_dir_wins_over_system_folder(tmp_path, monkeypatch):
    env_arrays, system_arrays = tiny_arrays(seed=1), tiny_arrays(seed=2)
    write_dataset(tmp_path / "env" / "tiny", env_arrays)
    write_dataset(tmp_path / "system" / "tiny", system_arrays)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_idx_dataset(
        tiny_entry(env_arrays), download=False, system_root=tmp_path / "system"
    )

    assert dataset.source == str(tmp_path / "env" / "tiny")
    np.testing.assert_array_equal(dataset.X_train, env_arrays[0])


def test_system_folder_used_when_bench_data_dir_lacks_files(tmp_path, monkeypatch):
    arrays = tiny_arrays()
    write_dataset(tmp_path / "env" / "tiny", arrays)
    (tmp_path / "env" / "tiny" / "t10k-labels-idx1-ubyte.gz").unlink()
    write_dataset(tmp_path / "system" / "tiny", arrays)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_idx_dataset(tiny_entry(arrays), download=False, system_root=tmp_path / "system")

    assert dataset.source == str(tmp_path / "system" / "tiny")


def test_data_dir_argument_replaces_bench_data_dir(tmp_path, monkeypatch):
    arrays = tiny_arrays()
    write_dataset(tmp_path / "env" / "tiny", arrays)
    write_dataset(tmp_path / "argument", arrays)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_from(tiny_entry(arrays), tmp_path / "argument", tmp_path)

    assert dataset.source == str(tmp_path / "argument")


def test_cache_used_last_without_downloading(tmp_path, dead_url):
    arrays = tiny_arrays()
    write_dataset(tmp_path / "user-cache" / "tiny", arrays)

    dataset = load_idx_dataset(
        tiny_entry(arrays, mirrors=(dead_url,)), system_root=tmp_path / "system"
    )

    assert dataset.source == str(tmp_path / "user-cache" / "tiny")


def test_offline_with_no_files_anywhere_says_where_it_looked(tmp_path, monkeypatch, dead_url):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    (tmp_path / "env" / "fashion-mnist").mkdir(parents=True)
    entry = dataclasses.replace(FASHION_MNIST, mirrors=(dead_url,))

    with pytest.raises(DataNotFoundError) as caught:
        load_idx_dataset(entry, system_root=tmp_path / "system", timeout=5)

    message = str(caught.value)
    for directory in ("env/fashion-mnist", "system/fashion-mnist", "user-cache/fashion-mnist"):
        assert str(tmp_path / directory) in message
    assert "BENCH_DATA_DIR" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert dead_url in message
    assert "train-images-idx3-ubyte" in message
    assert not list((tmp_path / "user-cache" / "fashion-mnist").iterdir())


def test_download_turned_off_raises_not_found(tmp_path, server):
    arrays = tiny_arrays()
    entry = tiny_entry(arrays, mirrors=(serve_dataset(server, "good", arrays),))

    with pytest.raises(DataNotFoundError, match=r"BENCH_DATA_DIR not set.*turned off"):
        load_idx_dataset(entry, download=False, system_root=tmp_path / "system")
    assert server.requests == []


def test_unknown_dataset_name_is_a_usage_error():
    with pytest.raises(UsageError, match="unknown dataset 'cifar'; valid: digits, fashion-mnist"):
        load_dataset("cifar")


def test_dataset_names():
    assert dataset_names() == ("digits", "fashion-mnist", "mnist")


# --- downloading ---------------------------------------------------------------------------


def test_download_lands_in_cache_and_loads(tmp_path, server):
    arrays = tiny_arrays()
    entry = tiny_entry(arrays, mirrors=(serve_dataset(server, "good", arrays),))
    cache = tmp_path / "cache"
    calls = []

    dataset = load_idx_dataset(
        entry,
        system_root=tmp_path / "system",
        cache_dir=cache,
        progress=lambda done, total: calls.append((done, total)),
    )

    assert sorted(path.name for path in cache.iterdir()) == sorted(f"{n}.gz" for n in FILE_NAMES)
    # Readable like any file the user writes (not mkstemp's private 0600).
    assert all(path.stat().st_mode & 0o044 for path in cache.iterdir())
    assert dataset.source == str(cache)
    np.testing.assert_array_equal(dataset.X_test, arrays[2])
    archive_size = len(gzip_idx(arrays[0]))
    assert (archive_size, archive_size) in calls
    # Loaded again from the cache, without asking the server.
    assert load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache).digest == (
        dataset.digest
    )
    assert len(server.requests) == 4


def test_download_with_wrong_checksum_leaves_nothing(tmp_path, server):
    body = gzip_idx(np.arange(50, dtype=np.uint8))
    server.serve("/file.gz", body)
    expected = sha256(b"something else")

    with pytest.raises(ChecksumError) as caught:
        download_file(f"{server.url}/file.gz", tmp_path / "file.gz", expected)

    message = str(caught.value)
    assert f"{server.url}/file.gz" in message
    assert expected in message
    assert sha256(body) in message
    assert list(tmp_path.iterdir()) == []


def test_connection_closed_mid_transfer_leaves_nothing(tmp_path, server):
    body = gzip_idx(np.arange(5000, dtype=np.uint8))
    server.serve("/file.gz", body, declared_length=len(body) + 1000)
    url = f"{server.url}/file.gz"

    with pytest.raises(DataNotFoundError) as caught:
        download_file(url, tmp_path / "file.gz", sha256(body))

    assert str(caught.value) == (
        f"could not download {url}: connection closed after {len(body)} of {len(body) + 1000} bytes"
    )
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_nothing(tmp_path, server):
    body = gzip_idx(np.arange(5000, dtype=np.uint8))
    server.serve("/file.gz", body)

    def interrupt(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_file(
            f"{server.url}/file.gz", tmp_path / "file.gz", sha256(body), progress=interrupt
        )

    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum_through_loader_leaves_cache_empty(tmp_path, server):
    arrays = tiny_arrays()
    mirror = serve_dataset(server, "tampered", tiny_arrays(seed=1))
    entry = tiny_entry(arrays, mirrors=(mirror,))
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumError) as caught:
        load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache)

    message = str(caught.value)
    assert f"{mirror}train-images-idx3-ubyte.gz" in message
    assert f"expected {entry.train_images.archive_sha256}" in message
    assert f"SHA-256 {sha256(gzip_idx(tiny_arrays(seed=1)[0]))}" in message
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "user-cache").exists()


def test_interrupted_download_through_loader_keeps_only_complete_files(tmp_path, server):
    arrays = tiny_arrays()
    entry = tiny_entry(arrays, mirrors=(serve_dataset(server, "good", arrays),))
    cache = tmp_path / "cache"
    starts = []

    def interrupt_second_file(done, total):
        if done == 0:
            starts.append(total)
        elif len(starts) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_idx_dataset(
            entry, system_root=tmp_path / "system", cache_dir=cache, progress=interrupt_second_file
        )

    # The first file arrived whole; of the second, not even a hidden temporary file.
    first = cache / "train-images-idx3-ubyte.gz"
    assert list(cache.iterdir()) == [first]
    assert first.read_bytes() == gzip_idx(arrays[0])
    assert not (tmp_path / "user-cache").exists()
    dataset = load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache)
    np.testing.assert_array_equal(dataset.y_train, arrays[1])


def test_truncated_transfer_through_loader_is_not_found(tmp_path, server):
    arrays = tiny_arrays()
    mirror = serve_dataset(server, "short", arrays)
    path = "/short/train-images-idx3-ubyte.gz"
    body, _ = server.routes[path]
    server.serve(path, body, declared_length=len(body) + 10)
    cache = tmp_path / "cache"

    with pytest.raises(DataNotFoundError) as caught:
        load_idx_dataset(
            tiny_entry(arrays, mirrors=(mirror,)), system_root=tmp_path / "system", cache_dir=cache
        )

    assert f"could not download {server.url}{path}: connection closed after" in str(caught.value)
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "user-cache").exists()


class _TouchOnUnpickle:
    """Unpickling this creates ``path``: proof that a loader ran code from a file."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def pickled(marker: Path) -> bytes:
    return pickle.dumps(_TouchOnUnpickle(marker))


def npy_of_objects(marker: Path) -> bytes:
    array = np.empty(6, dtype=object)
    array[:] = [_TouchOnUnpickle(marker)] * 6
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@pytest.mark.parametrize("payload", [pickled, npy_of_objects], ids=["pickle", "npy"])
@pytest.mark.parametrize("compress", [gzip.compress, bytes], ids=["gzip", "plain"])
def test_downloaded_pickle_is_refused_unread(tmp_path, server, payload, compress):
    arrays = tiny_arrays()
    published = write_dataset(tmp_path / "published", arrays)
    marker = tmp_path / "code-ran"
    (published / "train-labels-idx1-ubyte.gz").write_bytes(compress(payload(marker)))
    for name in FILE_NAMES:
        server.serve(f"/evil/{name}.gz", (published / f"{name}.gz").read_bytes())
    entry = entry_trusting(published, mirrors=(f"{server.url}/evil/",))
    cache = tmp_path / "cache"

    with pytest.raises(CorruptDataError, match="train-labels-idx1-ubyte.gz: not an IDX file"):
        load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=cache)

    assert not marker.exists()
    assert list(cache.iterdir()) == []


def test_next_mirror_used_when_first_fails(tmp_path, server, dead_url):
    arrays = tiny_arrays()
    good = serve_dataset(server, "good", arrays)
    tampered = serve_dataset(server, "tampered", tiny_arrays(seed=1))
    missing = f"{server.url}/missing/"
    entry = tiny_entry(arrays, mirrors=(dead_url, missing, tampered, good))

    dataset = load_idx_dataset(entry, system_root=tmp_path / "system", cache_dir=tmp_path / "c")

    np.testing.assert_array_equal(dataset.X_train, arrays[0])
    assert "/good/train-images-idx3-ubyte.gz" in server.requests
    assert "/missing/train-images-idx3-ubyte.gz" in server.requests


# --- real data -----------------------------------------------------------------------------


def check_mnist_like(dataset: Dataset, directory: Path) -> None:
    assert dataset.X_train.shape == (60000, 28, 28)
    assert dataset.X_test.shape == (10000, 28, 28)
    assert dataset.X_train.dtype == dataset.X_test.dtype == np.uint8
    assert dataset.y_train.shape == (60000,)
    assert dataset.y_test.shape == (10000,)
    assert dataset.y_train.dtype == np.int64
    assert set(np.unique(dataset.y_train)) == set(range(10))
    assert set(np.unique(dataset.y_test)) == set(range(10))
    assert dataset.pixel_max == 255.0
    assert dataset.X_train.max() == 255
    assert dataset.source == str(directory)


@pytest.mark.skipif(not SHARED_MNIST.is_dir(), reason=f"no MNIST copy at {SHARED_MNIST}")
def test_real_mnist_loads_and_verifies():
    dataset = load_mnist(data_dir=SHARED_MNIST, download=False, verify=True)

    check_mnist_like(dataset, SHARED_MNIST)
    assert dataset.name == "mnist"
    assert dataset.class_names == tuple("0123456789")


@pytest.mark.skipif(
    not SYSTEM_FASHION_MNIST.is_dir(), reason=f"no Fashion-MNIST at {SYSTEM_FASHION_MNIST}"
)
def test_real_fashion_mnist_loads_and_verifies():
    dataset = load_fashion_mnist(data_dir=SYSTEM_FASHION_MNIST, download=False, verify=True)

    check_mnist_like(dataset, SYSTEM_FASHION_MNIST)
    assert dataset.name == "fashion-mnist"
    assert dataset.class_names[0] == "T-shirt/top"
    assert dataset.class_names[9] == "Ankle boot"


# --- digits and the Dataset object ---------------------------------------------------------


def test_digits_fixed_stratified_split():
    first, second = load_digits(), load_dataset("digits")

    assert first.X_train.shape == (1347, 8, 8)
    assert first.X_test.shape == (450, 8, 8)
    assert first.X_train.dtype == np.uint8
    assert first.X_train.max() == 16
    assert first.pixel_max == 16.0
    assert first.class_names == tuple("0123456789")
    assert first.source == "scikit-learn load_digits"
    assert first.digest == second.digest
    np.testing.assert_array_equal(first.y_test, second.y_test)
    test_share = np.bincount(first.y_test) / np.bincount(np.r_[first.y_train, first.y_test])
    assert np.all(np.abs(test_share - 0.25) < 0.02)


def test_dataset_arrays_are_read_only():
    dataset = load_digits()
    with pytest.raises(ValueError, match="read-only"):
        dataset.X_train[0, 0, 0] = 1


def test_digest_changes_with_one_label(tmp_path):
    arrays = tiny_arrays()
    entry = tiny_entry(arrays)
    before = load_from(entry, write_dataset(tmp_path / "a", arrays), tmp_path)
    arrays[3] = np.array([2, 1, 1], np.uint8)
    after = load_from(entry, write_dataset(tmp_path / "b", arrays), tmp_path, verify=False)

    assert len(before.digest) == 64
    assert before.digest != after.digest

"""Tests of bench.data: IDX parsing, validation, search order, downloads, real datasets."""

import dataclasses
import gzip
import io
import pickle
import subprocess
import sys
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
from bench.data.catalog import FASHION_MNIST
from bench.data.download import CHUNK_SIZE, download_file
from bench.data.loaders import load_catalog_entry
from bench.errors import ChecksumError, CorruptDataError, DataNotFoundError, UsageError
from tests.helpers.data import load_from

pytestmark = pytest.mark.usefixtures("isolated_data_env")

SYSTEM_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")


# --- IDX parsing ---------------------------------------------------------------------------


@pytest.mark.parametrize("compressed", [False, True])
@pytest.mark.parametrize("file_name", ["data-idx", "data-idx.gz"])
@pytest.mark.parametrize("shape", [(5,), (3, 4, 2)])
def test_read_idx_round_trip(idx, tmp_path, compressed, file_name, shape):
    # Gzip is recognised by content, so a misnamed file still reads.
    array = np.arange(np.prod(shape), dtype=np.uint8).reshape(shape)
    content = idx.idx_bytes(array)
    (tmp_path / file_name).write_bytes(gzip.compress(content) if compressed else content)

    result = read_idx(tmp_path / file_name)

    assert result.dtype == np.uint8
    assert result.shape == shape
    np.testing.assert_array_equal(result, array)


def write_corrupt(tmp_path: Path, content: bytes, name: str = "bad-idx1-ubyte") -> Path:
    path = tmp_path / name
    path.write_bytes(content)
    return path


def test_wrong_magic_is_corrupt(idx, tmp_path):
    path = write_corrupt(tmp_path, b"\x12\x34" + idx.idx_bytes(np.zeros(3, np.uint8))[2:])
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*not an IDX file"):
        read_idx(path)


def test_wrong_type_byte_is_corrupt(idx, tmp_path):
    content = bytearray(idx.idx_bytes(np.zeros(3, np.uint8)))
    content[2] = 0x0D
    path = write_corrupt(tmp_path, bytes(content))
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*type byte is 0x0d"):
        read_idx(path)


def test_truncated_payload_is_corrupt(idx, tmp_path):
    path = write_corrupt(tmp_path, idx.idx_bytes(np.zeros((2, 3, 3), np.uint8))[:-1])
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*truncated.*17 bytes"):
        read_idx(path)


def test_truncated_header_is_corrupt(idx, tmp_path):
    path = write_corrupt(tmp_path, idx.idx_bytes(np.zeros((2, 3, 3), np.uint8))[:10])
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*truncated IDX header"):
        read_idx(path)


def test_trailing_bytes_are_corrupt(idx, tmp_path):
    path = write_corrupt(tmp_path, idx.idx_bytes(np.zeros(3, np.uint8)) + b"\x00\x00")
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.*2 trailing bytes"):
        read_idx(path)


def test_truncated_gzip_is_corrupt(idx, tmp_path):
    archive = gzip.compress(idx.idx_bytes(np.arange(200, dtype=np.uint8)))
    path = write_corrupt(tmp_path, archive[: len(archive) // 2], "bad-idx1-ubyte.gz")
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.gz.*gzip"):
        read_idx(path)


def test_corrupt_gzip_checksum_is_corrupt(idx, tmp_path):
    archive = bytearray(gzip.compress(idx.idx_bytes(np.arange(200, dtype=np.uint8))))
    archive[-8] ^= 0xFF  # the CRC-32 of the content
    path = write_corrupt(tmp_path, bytes(archive), "bad-idx1-ubyte.gz")
    with pytest.raises(CorruptDataError, match="bad-idx1-ubyte.gz.*gzip"):
        read_idx(path)


# --- validation of a whole dataset --------------------------------------------------------


def test_tiny_dataset_loads_gzipped_and_plain(idx, tmp_path):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    for gz in (True, False):
        directory = idx.write_dataset(tmp_path / f"gz-{gz}", arrays, gz=gz)

        dataset = load_from(entry, directory, tmp_path)

        np.testing.assert_array_equal(dataset.X_train, arrays[0])
        np.testing.assert_array_equal(dataset.y_test, arrays[3])
        assert dataset.y_train.dtype == np.int64
        assert dataset.X_train.dtype == np.uint8
        assert dataset.source == str(directory)
        assert dataset.class_names == ("a", "b", "c")
        assert dataset.sizes == {"train": 6, "test": 3}
        assert dataset.image_shape == (4, 4)
        assert not dataset.flip_safe  # unless the entry says so


# Each damages the files written by idx.write_dataset(directory, arrays) and returns the
# paths the error must name and a pattern for the problem it must state.


@pytest.mark.parametrize("verify", [True, False])
def test_corrupt_file_error_names_it_and_nothing_is_cached(idx, tmp_path, corrupt, verify):
    arrays = idx.tiny_arrays()
    directory = idx.write_dataset(tmp_path / "data", arrays)
    paths, problem = corrupt(directory, arrays)
    files_before = {path: path.read_bytes() for path in directory.iterdir()}

    with pytest.raises(CorruptDataError) as caught:
        load_from(idx.entry_trusting(directory), directory, tmp_path, verify=verify)

    idx.assert_names_file_and_problem(str(caught.value), paths, problem)
    # Neither the array cache (BENCH_CACHE_DIR/arrays) nor the download cache got
    # anything, and the user's files are left as they were.
    assert not (tmp_path / "user-cache").exists()
    assert not (tmp_path / "no-cache").exists()
    assert {path: path.read_bytes() for path in directory.iterdir()} == files_before


def test_corrupt_download_error_names_it_and_nothing_is_cached(idx, tmp_path, server, corrupt):
    arrays = idx.tiny_arrays()
    published = idx.write_dataset(tmp_path / "published", arrays)
    paths, problem = corrupt(published, arrays)
    for name in idx.FILE_NAMES:
        server.serve(f"/broken/{name}.gz", (published / f"{name}.gz").read_bytes())
    entry = idx.entry_trusting(published, mirrors=(f"{server.url}/broken/",))
    cache = tmp_path / "cache"

    with pytest.raises(CorruptDataError) as caught:
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    message = str(caught.value)
    idx.assert_names_file_and_problem(message, [cache / path.name for path in paths], problem)
    assert "removed the files this load downloaded" in message
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "user-cache").exists()
    # Nothing of the broken files is left to be found: the next load downloads again.
    with pytest.raises(CorruptDataError):
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)
    assert len(server.requests) == 8


def test_corrupt_download_keeps_files_it_did_not_download(idx, tmp_path, server):
    arrays = idx.tiny_arrays()
    published = idx.write_dataset(tmp_path / "published", arrays)
    paths, problem = idx.label_out_of_range(published, arrays)
    for name in idx.FILE_NAMES:
        server.serve(f"/broken/{name}.gz", (published / f"{name}.gz").read_bytes())
    entry = idx.entry_trusting(published, mirrors=(f"{server.url}/broken/",))
    cache = tmp_path / "cache"
    cache.mkdir()
    kept = cache / "train-images-idx3-ubyte.gz"
    kept.write_bytes((published / kept.name).read_bytes())

    with pytest.raises(CorruptDataError, match=problem):
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    assert list(cache.iterdir()) == [kept]
    assert "/broken/train-images-idx3-ubyte.gz" not in server.requests


def test_recompressed_file_passes_verification_by_content(idx, tmp_path):
    # Debian's and the shared copies are re-compressed: other archive bytes, same content.
    arrays = idx.tiny_arrays()
    directory = tmp_path / "data"
    directory.mkdir()
    for name, array in zip(idx.FILE_NAMES, arrays, strict=True):
        (directory / f"{name}.gz").write_bytes(gzip.compress(idx.idx_bytes(array), 1, mtime=12345))
    entry = idx.tiny_entry(arrays)
    assert idx.sha256((directory / f"{idx.FILE_NAMES[0]}.gz").read_bytes()) != (
        entry.train_images.archive_sha256
    )

    dataset = load_from(entry, directory, tmp_path, verify=True)

    np.testing.assert_array_equal(dataset.X_train, arrays[0])


def test_published_archive_passes_verification_by_archive_checksum(idx, tmp_path):
    arrays = idx.tiny_arrays()
    directory = idx.write_dataset(tmp_path / "data", arrays)
    entry = idx.tiny_entry(arrays)
    entry = dataclasses.replace(
        entry, train_images=dataclasses.replace(entry.train_images, content_sha256="0" * 64)
    )

    dataset = load_from(entry, directory, tmp_path, verify=True)

    np.testing.assert_array_equal(dataset.X_train, arrays[0])


def test_non_canonical_file_fails_verification_unless_turned_off(idx, tmp_path):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    other = idx.tiny_arrays(seed=1)
    directory = idx.write_dataset(tmp_path / "data", [other[0], *arrays[1:]])

    with pytest.raises(CorruptDataError) as caught:
        load_from(entry, directory, tmp_path, verify=True)
    message = str(caught.value)
    assert str(directory / "train-images-idx3-ubyte.gz") in message
    assert "not the canonical Tiny" in message
    assert entry.train_images.content_sha256 in message
    assert idx.sha256(idx.idx_bytes(other[0])) in message
    assert "delete it" in message
    assert not (tmp_path / "user-cache").exists()

    dataset = load_from(entry, directory, tmp_path, verify=False)
    np.testing.assert_array_equal(dataset.X_train, other[0])


# --- search order --------------------------------------------------------------------------


def test_bench_data_dir_wins_over_system_folder(idx, tmp_path, monkeypatch):
    env_arrays, system_arrays = idx.tiny_arrays(seed=1), idx.tiny_arrays(seed=2)
    idx.write_dataset(tmp_path / "env" / "tiny", env_arrays)
    idx.write_dataset(tmp_path / "system" / "tiny", system_arrays)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_catalog_entry(
        idx.tiny_entry(env_arrays), download=False, system_root=tmp_path / "system"
    )

    assert dataset.source == str(tmp_path / "env" / "tiny")
    np.testing.assert_array_equal(dataset.X_train, env_arrays[0])


def test_system_folder_used_when_bench_data_dir_lacks_files(idx, tmp_path, monkeypatch):
    arrays = idx.tiny_arrays()
    idx.write_dataset(tmp_path / "env" / "tiny", arrays)
    (tmp_path / "env" / "tiny" / "t10k-labels-idx1-ubyte.gz").unlink()
    idx.write_dataset(tmp_path / "system" / "tiny", arrays)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_catalog_entry(
        idx.tiny_entry(arrays), download=False, system_root=tmp_path / "system"
    )

    assert dataset.source == str(tmp_path / "system" / "tiny")


def test_data_dir_argument_replaces_bench_data_dir(idx, tmp_path, monkeypatch):
    arrays = idx.tiny_arrays()
    idx.write_dataset(tmp_path / "env" / "tiny", arrays)
    idx.write_dataset(tmp_path / "argument", arrays)
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_from(idx.tiny_entry(arrays), tmp_path / "argument", tmp_path)

    assert dataset.source == str(tmp_path / "argument")


def test_cache_used_last_without_downloading(idx, tmp_path, dead_url):
    arrays = idx.tiny_arrays()
    idx.write_dataset(tmp_path / "user-cache" / "tiny", arrays)

    dataset = load_catalog_entry(
        idx.tiny_entry(arrays, mirrors=(dead_url,)), system_root=tmp_path / "system"
    )

    assert dataset.source == str(tmp_path / "user-cache" / "tiny")


def test_offline_with_no_files_anywhere_says_where_it_looked(tmp_path, monkeypatch, dead_url):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    (tmp_path / "env" / "fashion-mnist").mkdir(parents=True)
    entry = dataclasses.replace(FASHION_MNIST, mirrors=(dead_url,))

    with pytest.raises(DataNotFoundError) as caught:
        load_catalog_entry(entry, system_root=tmp_path / "system", timeout=5)

    message = str(caught.value)
    for directory in ("env/fashion-mnist", "system/fashion-mnist", "user-cache/fashion-mnist"):
        assert str(tmp_path / directory) in message
    assert "BENCH_DATA_DIR" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert dead_url in message
    assert "train-images-idx3-ubyte" in message
    assert not list((tmp_path / "user-cache" / "fashion-mnist").iterdir())


def test_download_turned_off_raises_not_found(idx, tmp_path, server):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays, mirrors=(server.serve_dataset("good", arrays),))

    with pytest.raises(DataNotFoundError, match=r"BENCH_DATA_DIR not set.*turned off"):
        load_catalog_entry(entry, download=False, system_root=tmp_path / "system")
    assert server.requests == []


def test_unknown_dataset_name_is_a_usage_error():
    valid = "cifar10, digits, fashion-mnist, mnist, svhn"
    with pytest.raises(UsageError, match=f"unknown dataset 'cifar'; valid: {valid}$"):
        load_dataset("cifar")


def test_dataset_names():
    assert dataset_names() == ("cifar10", "digits", "fashion-mnist", "mnist", "svhn")


# --- downloading ---------------------------------------------------------------------------


def test_download_lands_in_cache_and_loads(idx, tmp_path, server):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays, mirrors=(server.serve_dataset("good", arrays),))
    cache = tmp_path / "cache"
    calls = []

    dataset = load_catalog_entry(
        entry,
        system_root=tmp_path / "system",
        cache_dir=cache,
        progress=lambda done, total: calls.append((done, total)),
    )

    assert sorted(path.name for path in cache.iterdir()) == sorted(
        f"{n}.gz" for n in idx.FILE_NAMES
    )
    # Readable like any file the user writes (not mkstemp's private 0600).
    assert all(path.stat().st_mode & 0o044 for path in cache.iterdir())
    assert dataset.source == str(cache)
    np.testing.assert_array_equal(dataset.X_test, arrays[2])
    archive_size = len(idx.gzip_idx(arrays[0]))
    assert (archive_size, archive_size) in calls
    # Loaded again from the cache, without asking the server.
    assert load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache).digest == (
        dataset.digest
    )
    assert len(server.requests) == 4


def test_download_reports_progress_once_per_chunk(idx, tmp_path, server):
    body = np.random.default_rng(0).bytes(2 * CHUNK_SIZE + 1000)
    server.serve("/file.bin", body)
    calls = []

    download_file(
        f"{server.url}/file.bin",
        tmp_path / "file.bin",
        idx.sha256(body),
        progress=lambda done, total: calls.append((done, total)),
    )

    total = len(body)
    assert calls == [(0, total), (CHUNK_SIZE, total), (2 * CHUNK_SIZE, total), (total, total)]
    assert (tmp_path / "file.bin").read_bytes() == body


def test_download_with_wrong_checksum_leaves_nothing(idx, tmp_path, server):
    body = idx.gzip_idx(np.arange(50, dtype=np.uint8))
    server.serve("/file.gz", body)
    expected = idx.sha256(b"something else")

    with pytest.raises(ChecksumError) as caught:
        download_file(f"{server.url}/file.gz", tmp_path / "file.gz", expected)

    message = str(caught.value)
    assert f"{server.url}/file.gz" in message
    assert expected in message
    assert idx.sha256(body) in message
    assert list(tmp_path.iterdir()) == []


def test_connection_closed_mid_transfer_leaves_nothing(idx, tmp_path, server):
    body = idx.gzip_idx(np.arange(5000, dtype=np.uint8))
    server.serve("/file.gz", body, declared_length=len(body) + 1000)
    url = f"{server.url}/file.gz"

    with pytest.raises(DataNotFoundError) as caught:
        download_file(url, tmp_path / "file.gz", idx.sha256(body))

    assert str(caught.value) == (
        f"could not download {url}: connection closed after {len(body)} of {len(body) + 1000} bytes"
    )
    assert list(tmp_path.iterdir()) == []


def test_interrupted_download_leaves_nothing(idx, tmp_path, server):
    body = idx.gzip_idx(np.arange(5000, dtype=np.uint8))
    server.serve("/file.gz", body)

    def interrupt(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        download_file(
            f"{server.url}/file.gz", tmp_path / "file.gz", idx.sha256(body), progress=interrupt
        )

    assert list(tmp_path.iterdir()) == []


def test_wrong_checksum_through_loader_leaves_cache_empty(idx, tmp_path, server):
    arrays = idx.tiny_arrays()
    mirror = server.serve_dataset("tampered", idx.tiny_arrays(seed=1))
    entry = idx.tiny_entry(arrays, mirrors=(mirror,))
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumError) as caught:
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    message = str(caught.value)
    assert f"{mirror}train-images-idx3-ubyte.gz" in message
    assert f"expected {entry.train_images.archive_sha256}" in message
    assert f"SHA-256 {idx.sha256(idx.gzip_idx(idx.tiny_arrays(seed=1)[0]))}" in message
    assert list(cache.iterdir()) == []
    assert not (tmp_path / "user-cache").exists()


def test_interrupted_download_through_loader_keeps_only_complete_files(idx, tmp_path, server):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays, mirrors=(server.serve_dataset("good", arrays),))
    cache = tmp_path / "cache"
    starts = []

    def interrupt_second_file(done, total):
        if done == 0:
            starts.append(total)
        elif len(starts) == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_catalog_entry(
            entry, system_root=tmp_path / "system", cache_dir=cache, progress=interrupt_second_file
        )

    # The first file arrived whole; of the second, not even a hidden temporary file.
    first = cache / "train-images-idx3-ubyte.gz"
    assert list(cache.iterdir()) == [first]
    assert first.read_bytes() == idx.gzip_idx(arrays[0])
    assert not (tmp_path / "user-cache").exists()
    dataset = load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)
    np.testing.assert_array_equal(dataset.y_train, arrays[1])


def test_truncated_transfer_through_loader_is_not_found(idx, tmp_path, server):
    arrays = idx.tiny_arrays()
    mirror = server.serve_dataset("short", arrays)
    path = "/short/train-images-idx3-ubyte.gz"
    body, _ = server.routes[path]
    server.serve(path, body, declared_length=len(body) + 10)
    cache = tmp_path / "cache"

    with pytest.raises(DataNotFoundError) as caught:
        load_catalog_entry(
            idx.tiny_entry(arrays, mirrors=(mirror,)),
            system_root=tmp_path / "system",
            cache_dir=cache,
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
def test_downloaded_pickle_is_refused_unread(idx, tmp_path, server, payload, compress):
    arrays = idx.tiny_arrays()
    published = idx.write_dataset(tmp_path / "published", arrays)
    marker = tmp_path / "code-ran"
    (published / "train-labels-idx1-ubyte.gz").write_bytes(compress(payload(marker)))
    for name in idx.FILE_NAMES:
        server.serve(f"/evil/{name}.gz", (published / f"{name}.gz").read_bytes())
    entry = idx.entry_trusting(published, mirrors=(f"{server.url}/evil/",))
    cache = tmp_path / "cache"

    with pytest.raises(CorruptDataError, match="train-labels-idx1-ubyte.gz: not an IDX file"):
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    assert not marker.exists()
    assert list(cache.iterdir()) == []


def test_next_mirror_used_when_first_fails(idx, tmp_path, server, dead_url):
    arrays = idx.tiny_arrays()
    good = server.serve_dataset("good", arrays)
    tampered = server.serve_dataset("tampered", idx.tiny_arrays(seed=1))
    missing = f"{server.url}/missing/"
    entry = idx.tiny_entry(arrays, mirrors=(dead_url, missing, tampered, good))

    dataset = load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=tmp_path / "c")

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


def test_real_mnist_loads_and_verifies(mnist_root):
    dataset = load_mnist(data_dir=mnist_root / "mnist", download=False, verify=True)

    check_mnist_like(dataset, mnist_root / "mnist")
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
    assert dataset.flip_safe


# --- the package ---------------------------------------------------------------------------


def test_loaders_are_imported_on_first_use():
    # `bench list` reads the catalog through the package: no NumPy, no scikit-learn.
    code = (
        "import sys\n"
        "import bench.data\n"
        "from bench.data.catalog import CATALOG\n"
        "heavy = ('numpy', 'sklearn', 'pooch', 'bench.data.loaders')\n"
        "print(sorted(name for name in heavy if name in sys.modules))\n"
        "from bench.data import load_dataset\n"
        "print(load_dataset.__module__, 'numpy' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "bench.data.loaders True"]


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


def test_digest_changes_with_one_label(idx, tmp_path):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    before = load_from(entry, idx.write_dataset(tmp_path / "a", arrays), tmp_path)
    arrays[3] = np.array([2, 1, 1], np.uint8)
    after = load_from(entry, idx.write_dataset(tmp_path / "b", arrays), tmp_path, verify=False)

    assert len(before.digest) == 64
    assert before.digest != after.digest

"""Tests of CIFAR-10 loading: tiny binary record files, their folder and their tar.gz,
written by the tests and read through load_dataset / load_catalog_entry."""

import dataclasses
import tarfile

import numpy as np
import pytest

from bench.data import load_cifar10, load_dataset
from bench.data.catalog import CIFAR10, dataset_geometry
from bench.data.dataset import dataset_digest
from bench.data.loaders import load_catalog_entry
from bench.errors import ChecksumError, CorruptDataError, DataNotFoundError
from tests.helpers.data import assert_arrays, load_from

pytestmark = pytest.mark.usefixtures("isolated_data_env")


# --- loading -------------------------------------------------------------------------------


def test_archive_loads_through_load_dataset(cifar, tmp_path, monkeypatch):
    batches = cifar.batches()
    archive = cifar.write_archive(tmp_path / "env" / "cifar10", cifar.archive(cifar.files(batches)))
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))

    dataset = load_dataset("cifar10", download=False, verify=False)

    assert_arrays(dataset, cifar.joined(batches))
    assert dataset.X_train.shape == (10, 32, 32, 3)
    assert dataset.X_test.shape == (2, 32, 32, 3)
    assert dataset.name == "cifar10"
    assert dataset.class_names[0] == "airplane"
    assert dataset.class_names[9] == "truck"
    assert dataset.pixel_max == 255.0
    assert dataset.flip_safe  # a mirrored horse is a horse: studies may flip
    assert dataset.source == str(archive)
    assert dataset.digest == dataset_digest(*cifar.joined(batches))
    assert load_cifar10(download=False, verify=False).digest == dataset.digest


def test_record_is_label_then_red_green_blue_planes_row_by_row(cifar, tmp_path):
    # Each plane's value at (row, column) differs from the others' and from (column, row).
    position = np.arange(1024)
    red, green, blue = position % 251, (position * 3 + 7) % 256, 255 - position % 256
    record = bytes([7]) + bytes(red.tolist()) + bytes(green.tolist()) + bytes(blue.tolist())
    files = cifar.files(cifar.batches())
    files["data_batch_1.bin"] = record + files["data_batch_1.bin"][len(record) :]
    directory = cifar.write_folder(tmp_path / "data", files)

    dataset = load_from(CIFAR10, directory, tmp_path, verify=False)

    image = dataset.X_train[0]
    rows, columns = np.divmod(position, 32)
    np.testing.assert_array_equal(image[rows, columns, 0], red)
    np.testing.assert_array_equal(image[rows, columns, 1], green)
    np.testing.assert_array_equal(image[rows, columns, 2], blue)
    assert dataset.y_train[0] == 7
    assert dataset.X_train.flags.c_contiguous


def test_extracted_folder_loads_the_same_as_the_archive(cifar, tmp_path):
    files = cifar.files(cifar.batches())
    folder_place = cifar.write_folder(tmp_path / "folder", files)
    archive = cifar.write_archive(tmp_path / "archive", cifar.archive(files))

    from_folder = load_from(CIFAR10, folder_place, tmp_path, verify=False)
    from_archive = load_from(CIFAR10, archive.parent, tmp_path, verify=False)

    assert from_folder.digest == from_archive.digest
    assert from_folder.source == str(folder_place / cifar.FOLDER)
    assert from_archive.source == str(archive)


def test_archive_preferred_over_folder_in_the_same_place(cifar, tmp_path):
    directory = cifar.write_folder(tmp_path / "data", cifar.files(cifar.batches(seed=1)))
    archive_batches = cifar.batches(seed=2)
    cifar.write_archive(directory, cifar.archive(cifar.files(archive_batches)))

    dataset = load_from(CIFAR10, directory, tmp_path, verify=False)

    assert_arrays(dataset, cifar.joined(archive_batches))


def test_dataset_geometry_without_loading():
    assert dataset_geometry("cifar10") == ((32, 32, 3), 10)


# --- verification ----------------------------------------------------------------------------


def test_archive_verified_by_its_published_md5(cifar, tmp_path):
    batches = cifar.batches()
    published = cifar.archive(cifar.files(batches))
    entry = cifar.entry(published)
    good = cifar.write_archive(tmp_path / "good", published)
    other = cifar.archive(cifar.files(cifar.batches(seed=1)))
    archive = cifar.write_archive(tmp_path / "data", other)

    assert_arrays(
        load_from(entry, good.parent, tmp_path, cache_arrays=False), cifar.joined(batches)
    )
    with pytest.raises(CorruptDataError) as caught:
        load_from(entry, archive.parent, tmp_path)

    message = str(caught.value)
    assert f"{archive} is not the canonical CIFAR-10 cifar-10-binary.tar.gz" in message
    assert f"MD5 {cifar.md5(other)}, expected {cifar.md5(published)}" in message
    cifar.assert_nothing_cached(tmp_path)
    assert load_from(entry, archive.parent, tmp_path, verify=False).y_test.shape == (2,)


def test_extracted_folder_verified_by_its_published_record_counts(cifar, tmp_path):
    # No checksum is published for the extracted files: verify checks what it can.
    batches = cifar.batches()
    entry = cifar.entry(b"an archive never read")
    good = cifar.write_folder(tmp_path / "good", cifar.files(batches))
    three = cifar.batches(seed=1)
    three[5] = tuple(np.concatenate([part, part[:1]]) for part in three[5])
    directory = cifar.write_folder(tmp_path / "data", cifar.files(three))

    assert_arrays(load_from(entry, good, tmp_path, cache_arrays=False), cifar.joined(batches))
    path = directory / cifar.FOLDER / "test_batch.bin"
    with pytest.raises(CorruptDataError, match=f"^{path} holds 3 records, the published file 2;"):
        load_from(entry, directory, tmp_path)

    cifar.assert_nothing_cached(tmp_path)
    assert load_from(entry, directory, tmp_path, verify=False).y_test.shape == (3,)


# --- corrupt files ---------------------------------------------------------------------------
# Each damages the files of cifar.files(batches) (name to bytes) before they are written
# as an archive or a folder, and returns the file the error must name and a pattern for
# the problem it must state.

RECORD = 3073


def truncated_record_file(files):
    files["data_batch_2.bin"] = files["data_batch_2.bin"][:-1]
    return "data_batch_2.bin", "truncated or not a CIFAR-10 record file: 6,145 bytes is not a whole"


def cifar100_record_file(files):
    # CIFAR-100's records carry a coarse and a fine label: 3,074 bytes.
    files["data_batch_3.bin"] = bytes(2 * (RECORD + 1))
    return "data_batch_3.bin", "6,148 bytes is not a whole number of 3,073-byte records"


def empty_record_file(files):
    files["test_batch.bin"] = b""
    return "test_batch.bin", "truncated or not a CIFAR-10 record file: 0 bytes"


def label_out_of_range(files):
    content = bytearray(files["data_batch_4.bin"])
    content[RECORD] = 12  # the second record's label
    files["data_batch_4.bin"] = bytes(content)
    return "data_batch_4.bin", r"record 1 has label 12, CIFAR-10 labels are 0\.\.9: not a CIFAR-10"


def other_class_names(files):
    files["batches.meta.txt"] = b"apple\naquarium_fish\nbaby\n"
    return "batches.meta.txt", "class names apple, aquarium_fish, baby, expected airplane, auto"


def binary_class_names(files):
    files["batches.meta.txt"] = bytes(range(128, 256))
    return "batches.meta.txt", "not a text file of class names"


FILE_CORRUPTIONS = [
    truncated_record_file,
    cifar100_record_file,
    empty_record_file,
    label_out_of_range,
    other_class_names,
    binary_class_names,
]


@pytest.mark.parametrize("damage", FILE_CORRUPTIONS)
def test_corrupt_file_in_folder_is_named_and_nothing_cached(cifar, tmp_path, damage):
    files = cifar.files(cifar.batches())
    name, problem = damage(files)
    directory = cifar.write_folder(tmp_path / "data", files)

    with pytest.raises(CorruptDataError, match=problem) as caught:
        load_from(CIFAR10, directory, tmp_path, verify=False)

    message = str(caught.value)
    assert message.startswith(f"{directory / cifar.FOLDER / name}: ")
    assert message.endswith(f"extract {cifar.FOLDER}/ again from {cifar.ARCHIVE}")
    cifar.assert_nothing_cached(tmp_path)


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize("damage", FILE_CORRUPTIONS)
def test_corrupt_member_of_archive_is_named_and_nothing_cached(cifar, tmp_path, damage, verify):
    files = cifar.files(cifar.batches())
    name, problem = damage(files)
    content = cifar.archive(files)
    archive = cifar.write_archive(tmp_path / "data", content)

    with pytest.raises(CorruptDataError, match=problem) as caught:
        # Verified, the damaged archive is the published one: the structure must refuse it.
        load_from(cifar.entry(content), archive.parent, tmp_path, verify=verify)

    assert str(caught.value).startswith(f"{archive}, member {cifar.FOLDER}/{name}: ")
    cifar.assert_nothing_cached(tmp_path)
    assert archive.read_bytes() == content


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    member = tarfile.TarInfo(name)
    member.type = kind
    member.linkname = target
    return member


def truncated_archive(cifar, files):
    return cifar.archive(files)[:5000], "truncated or corrupt gzip data"


def damaged_gzip_checksum(cifar, files):
    content = bytearray(cifar.archive(files))
    content[-8] ^= 0xFF  # the CRC-32 of the tar
    return bytes(content), "truncated or corrupt gzip data"


def not_gzip(cifar, files):
    return b"<html>Not Found</html>\n" * 20, r"truncated or corrupt gzip data \(Not a gzipped file"


def gzip_but_not_tar(cifar, files):
    import gzip

    return gzip.compress(b"not a tar archive at all" * 100), "not a readable tar archive"


def member_missing(cifar, files):
    del files["data_batch_3.bin"]
    return cifar.archive(files), "the archive lacks cifar-10-batches-bin/data_batch_3.bin;"


def member_is_a_symlink(cifar, files):
    # A link would make the reader open whatever it points to.
    target = files.pop("data_batch_5.bin")
    files["elsewhere.bin"] = target
    members = (link(f"{cifar.FOLDER}/data_batch_5.bin", "elsewhere.bin"),)
    return cifar.archive(files, members=members), "data_batch_5.bin is not a regular file"


def member_is_a_hard_link(cifar, files):
    members = (link(f"{cifar.FOLDER}/test_batch.bin", "/etc/passwd", tarfile.LNKTYPE),)
    del files["test_batch.bin"]
    return cifar.archive(files, members=members), "test_batch.bin is not a regular file"


def member_twice(cifar, files):
    duplicate = tarfile.TarInfo(f"{cifar.FOLDER}/data_batch_1.bin")
    return cifar.archive(files, members=(duplicate,)), "data_batch_1.bin appears twice"


ARCHIVE_CORRUPTIONS = [
    truncated_archive,
    damaged_gzip_checksum,
    not_gzip,
    gzip_but_not_tar,
    member_missing,
    member_is_a_symlink,
    member_is_a_hard_link,
    member_twice,
]


@pytest.mark.parametrize("verify", [True, False])
@pytest.mark.parametrize("damage", ARCHIVE_CORRUPTIONS)
def test_corrupt_archive_is_named_with_its_problem(cifar, tmp_path, damage, verify):
    content, problem = damage(cifar, cifar.files(cifar.batches()))
    archive = cifar.write_archive(tmp_path / "data", content)

    with pytest.raises(CorruptDataError, match=problem) as caught:
        load_from(cifar.entry(content), archive.parent, tmp_path, verify=verify)

    message = str(caught.value)
    assert message.startswith(f"{archive}: ")
    assert message.endswith("replace the archive or delete it to download it again")
    cifar.assert_nothing_cached(tmp_path)


def test_archive_members_elsewhere_are_ignored_not_extracted(cifar, tmp_path):
    # Only the expected members are read, by name: nothing is written anywhere.
    batches = cifar.batches()
    files = cifar.files(batches)
    escape = tarfile.TarInfo("../../escaped.bin")
    absolute = tarfile.TarInfo(str(tmp_path / "absolute.bin"))
    nested = tarfile.TarInfo(f"other/{cifar.FOLDER}/data_batch_1.bin")
    content = cifar.archive(files, members=(escape, absolute, nested))
    archive = cifar.write_archive(tmp_path / "deep" / "data", content)
    before = sorted(tmp_path.rglob("*"))

    dataset = load_from(CIFAR10, archive.parent, tmp_path, verify=False, cache_arrays=False)

    assert_arrays(dataset, cifar.joined(batches))
    assert sorted(tmp_path.rglob("*")) == before


# --- search order and missing files --------------------------------------------------------


def test_search_order_data_dir_then_system_then_cache(cifar, tmp_path, monkeypatch, dead_url):
    places = {
        "env": tmp_path / "env" / "cifar10",
        "system": tmp_path / "system" / "cifar10",
        "cache": tmp_path / "user-cache" / "cifar10",
    }
    for seed, directory in enumerate(places.values()):
        cifar.write_folder(directory, cifar.files(cifar.batches(seed=seed)))
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    entry = dataclasses.replace(CIFAR10, mirrors=(dead_url,))

    for seed, directory in enumerate(places.values()):
        dataset = load_catalog_entry(entry, system_root=tmp_path / "system", verify=False)
        assert dataset.source == str(directory / cifar.FOLDER)
        assert_arrays(dataset, cifar.joined(cifar.batches(seed=seed)))
        # A folder lacking one record file is passed over.
        (directory / cifar.FOLDER / "data_batch_3.bin").unlink()


def test_offline_without_files_says_where_it_looked_and_what_to_supply(
    cifar, tmp_path, monkeypatch
):
    monkeypatch.setenv("BENCH_DATA_DIR", str(tmp_path / "env"))
    files = cifar.files(cifar.batches())
    del files["data_batch_3.bin"]
    cifar.write_folder(tmp_path / "env" / "cifar10", files)

    with pytest.raises(DataNotFoundError) as caught:
        load_dataset("cifar10", download=False)

    message = str(caught.value)
    assert message.startswith("CIFAR-10 files not found. Searched: ")
    assert (
        f"{tmp_path / 'env' / 'cifar10'} (BENCH_DATA_DIR: missing cifar-10-binary.tar.gz or "
        "cifar-10-batches-bin/data_batch_3.bin)"
    ) in message
    assert "/usr/share/datasets/cifar10" in message
    assert f"{tmp_path / 'user-cache' / 'cifar10'} (download cache: no such folder)" in message
    assert (
        "set BENCH_DATA_DIR to a folder containing cifar10/ with cifar-10-binary.tar.gz or "
        "the cifar-10-batches-bin/ folder extracted from it "
        "(published at https://www.cs.toronto.edu/~kriz/)"
    ) in message
    assert "\n" not in message


# --- the array cache -----------------------------------------------------------------------


@pytest.mark.parametrize("layout", ["archive", "folder"])
def test_second_load_memory_maps_the_cached_arrays(cifar, tmp_path, layout):
    batches = cifar.batches()
    files = cifar.files(batches)
    content = cifar.archive(files)
    if layout == "archive":
        directory = cifar.write_archive(tmp_path / "data", content).parent
    else:
        directory = cifar.write_folder(tmp_path / "data", files)
    entry = cifar.entry(content)

    first = load_from(entry, directory, tmp_path)
    cached = load_from(entry, directory, tmp_path)

    assert not isinstance(first.X_train, np.memmap)
    for array in (cached.X_train, cached.y_train, cached.X_test, cached.y_test):
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable
    assert_arrays(cached, cifar.joined(batches))
    assert cached.digest == first.digest
    assert cached.source == first.source
    assert len(list((tmp_path / "user-cache" / "arrays" / "cifar10").iterdir())) == 1


# --- downloading ---------------------------------------------------------------------------


def test_download_with_matching_md5_lands_in_cache_and_loads(cifar, tmp_path, server):
    batches = cifar.batches()
    content = cifar.archive(cifar.files(batches))
    server.serve(f"/~kriz/{cifar.ARCHIVE}", content)
    entry = cifar.entry(content, mirrors=(f"{server.url}/~kriz/",))
    cache = tmp_path / "cache"
    calls = []

    dataset = load_catalog_entry(
        entry,
        system_root=tmp_path / "system",
        cache_dir=cache,
        progress=lambda done, total: calls.append((done, total)),
    )

    assert_arrays(dataset, cifar.joined(batches))
    assert dataset.source == str(cache / cifar.ARCHIVE)
    assert [path.name for path in cache.iterdir()] == [cifar.ARCHIVE]
    assert (cache / cifar.ARCHIVE).read_bytes() == content
    assert (len(content), len(content)) in calls
    again = load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)
    assert isinstance(again.X_train, np.memmap)
    assert server.requests == [f"/~kriz/{cifar.ARCHIVE}"]


def test_download_with_wrong_md5_leaves_nothing(cifar, tmp_path, server):
    published = cifar.archive(cifar.files(cifar.batches()))
    served = cifar.archive(cifar.files(cifar.batches(seed=1)))
    server.serve(f"/~kriz/{cifar.ARCHIVE}", served)
    entry = cifar.entry(published, mirrors=(f"{server.url}/~kriz/",))
    cache = tmp_path / "cache"

    with pytest.raises(ChecksumError) as caught:
        load_catalog_entry(entry, system_root=tmp_path / "system", cache_dir=cache)

    message = str(caught.value)
    assert (
        f"{server.url}/~kriz/{cifar.ARCHIVE}: downloaded file has MD5 {cifar.md5(served)}"
        in message
    )
    assert f"expected {cifar.md5(published)}" in message
    assert list(cache.iterdir()) == []
    cifar.assert_nothing_cached(tmp_path)


def test_interrupted_download_leaves_nothing(cifar, tmp_path, server):
    content = cifar.archive(cifar.files(cifar.batches()))
    server.serve(f"/~kriz/{cifar.ARCHIVE}", content)
    entry = cifar.entry(content, mirrors=(f"{server.url}/~kriz/",))
    cache = tmp_path / "cache"

    def interrupt(done, total):
        if done:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        load_catalog_entry(
            entry, system_root=tmp_path / "system", cache_dir=cache, progress=interrupt
        )

    assert list(cache.iterdir()) == []

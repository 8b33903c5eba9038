"""Tests of the cache of decoded IDX arrays (bench.data.array_cache through the loaders)."""

import ast
import json
import os
import pickle
import time
from pathlib import Path

import numpy as np
import pytest

import bench.data
from bench.data import Dataset, load_digits
from bench.data.dataset import dataset_digest
from bench.errors import CorruptDataError
from tests.helpers.data import assert_arrays, dataset_arrays, load_from

pytestmark = pytest.mark.usefixtures("isolated_data_env")


def cache_entries(tmp_path: Path, dataset: str = "tiny") -> list[Path]:
    folder = tmp_path / "user-cache" / "arrays" / dataset
    return sorted(folder.iterdir()) if folder.is_dir() else []


def only_entry(tmp_path: Path) -> Path:
    entries = [entry for entry in cache_entries(tmp_path) if not entry.name.startswith(".")]
    assert len(entries) == 1, entries
    return entries[0]


def assert_same_data(dataset: Dataset, expected: Dataset) -> None:
    assert_arrays(dataset, dataset_arrays(expected))
    assert dataset.digest == expected.digest
    # The digest handed out is that of the arrays handed out, not just a stored string.
    assert dataset_digest(*dataset_arrays(dataset)) == expected.digest


def assert_memory_mapped(dataset: Dataset) -> None:
    for array in dataset_arrays(dataset):
        assert isinstance(array, np.memmap)
        assert not array.flags.writeable


@pytest.fixture
def tiny(idx, tmp_path):
    """A tiny dataset on disk, its entry, and its load without the cache."""
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    directory = idx.write_dataset(tmp_path / "data", arrays)
    reference = load_from(entry, directory, tmp_path, cache_arrays=False)
    assert cache_entries(tmp_path) == []
    return entry, directory, reference


# --- hits ----------------------------------------------------------------------------------


def test_cached_load_returns_the_same_data_memory_mapped(tmp_path, tiny):
    entry, directory, reference = tiny

    first = load_from(entry, directory, tmp_path)
    cached = load_from(entry, directory, tmp_path)

    assert_same_data(first, reference)
    assert_same_data(cached, reference)
    assert_memory_mapped(cached)
    assert cached.source == reference.source == str(directory)
    assert cached.class_names == reference.class_names
    with pytest.raises(ValueError, match="read-only"):
        cached.X_train[0, 0, 0] = 1
    entry_folder = only_entry(tmp_path)
    assert sorted(path.name for path in entry_folder.iterdir()) == [
        "X_test.npy",
        "X_train.npy",
        "arrays.json",
        "y_test.npy",
        "y_train.npy",
    ]
    assert json.loads((entry_folder / "arrays.json").read_text())["digest"] == reference.digest


def test_cached_arrays_support_what_the_harness_does(tmp_path, tiny):
    entry, directory, reference = tiny
    load_from(entry, directory, tmp_path)
    cached = load_from(entry, directory, tmp_path)

    # Fancy indexing (study splits), float conversion (scaling) and pickling (models,
    # worker processes) all give ordinary data.
    subset = cached.X_train[np.array([0, 2])]
    np.testing.assert_array_equal(subset, reference.X_train[[0, 2]])
    assert (cached.X_train / 255.0).dtype == np.float64
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(cached.y_train)), reference.y_train)


def test_cache_can_be_turned_off(tmp_path, tiny):
    entry, directory, reference = tiny

    dataset = load_from(entry, directory, tmp_path, cache_arrays=False)

    assert cache_entries(tmp_path) == []
    assert not isinstance(dataset.X_train, np.memmap)
    assert dataset.digest == reference.digest


def test_digits_are_not_cached(tmp_path):
    load_digits()
    assert not (tmp_path / "user-cache").exists()


# --- invalidation --------------------------------------------------------------------------


def test_changed_source_file_invalidates_the_cache(idx, tmp_path):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    directory = idx.write_dataset(tmp_path / "data", arrays, gz=False)
    load_from(entry, directory, tmp_path, verify=False)
    old_entry = only_entry(tmp_path)
    labels = directory / idx.FILE_NAMES[3]
    before = labels.stat()
    # Same size and, as `cp -p` would leave it, the same modification time.
    arrays[3] = np.array([0, 1, 2], np.uint8)
    labels.write_bytes(idx.idx_bytes(arrays[3]))
    os.utime(labels, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert labels.stat().st_size == before.st_size

    dataset = load_from(entry, directory, tmp_path, verify=False)

    np.testing.assert_array_equal(dataset.y_test, [0, 1, 2])
    assert dataset.digest == dataset_digest(*dataset_arrays(dataset))
    # The outdated entry is removed once the new one is written.
    assert only_entry(tmp_path) != old_entry
    assert not old_entry.exists()
    assert_memory_mapped(load_from(entry, directory, tmp_path, verify=False))


def test_other_source_folder_gets_its_own_entry(idx, tmp_path, tiny):
    entry, directory, reference = tiny
    copy = idx.write_dataset(tmp_path / "copy", idx.tiny_arrays())

    load_from(entry, directory, tmp_path)
    from_copy = load_from(entry, copy, tmp_path)
    cached_copy = load_from(entry, copy, tmp_path)
    cached_original = load_from(entry, directory, tmp_path)

    assert len(cache_entries(tmp_path)) == 2
    assert cached_copy.source == str(copy)
    assert cached_original.source == str(directory)
    assert_same_data(from_copy, reference)
    assert_memory_mapped(cached_copy)
    assert_memory_mapped(cached_original)


def test_entry_written_without_verification_does_not_serve_a_verified_load(idx, tmp_path):
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    other = idx.tiny_arrays(seed=1)
    directory = idx.write_dataset(tmp_path / "data", [other[0], *arrays[1:]])
    load_from(entry, directory, tmp_path, verify=False)
    assert_memory_mapped(load_from(entry, directory, tmp_path, verify=False))

    with pytest.raises(CorruptDataError, match="not the canonical Tiny"):
        load_from(entry, directory, tmp_path, verify=True)


def test_source_damaged_after_caching_is_refused_not_served(idx, tmp_path, corrupt):
    # verify=False, so the structural checks, not the checksums, must catch it.
    arrays = idx.tiny_arrays()
    entry = idx.tiny_entry(arrays)
    directory = idx.write_dataset(tmp_path / "data", arrays)
    load_from(entry, directory, tmp_path, verify=False)
    cached = folder_bytes(only_entry(tmp_path))
    paths, problem = corrupt(directory, arrays)

    with pytest.raises(CorruptDataError) as caught:
        load_from(entry, directory, tmp_path, verify=False)

    idx.assert_names_file_and_problem(str(caught.value), paths, problem)
    # The entry of the intact files is still the only one: nothing cached from the
    # damaged ones.
    assert folder_bytes(only_entry(tmp_path)) == cached
    assert len(cache_entries(tmp_path)) == 1


def np_load_calls(module: Path) -> list[ast.Call]:
    calls = []
    for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
        function = node.func if isinstance(node, ast.Call) else None
        if (
            isinstance(function, ast.Attribute)
            and function.attr == "load"
            and isinstance(function.value, ast.Name)
            and function.value.id in ("np", "numpy")
        ):
            calls.append(node)
    return calls


def refuses_pickles(call: ast.Call) -> bool:
    return any(
        keyword.arg == "allow_pickle"
        and isinstance(keyword.value, ast.Constant)
        and keyword.value.value is False
        for keyword in call.keywords
    )


def test_data_modules_load_arrays_only_with_allow_pickle_false():
    # The run-time proofs are object_dtype_npy and raw_pickle below and
    # test_downloaded_pickle_is_refused_unread; this keeps a new np.load honest.
    modules = sorted(Path(bench.data.__file__).parent.glob("*.py"))
    calls = {module.name: np_load_calls(module) for module in modules}
    assert calls["array_cache.py"], "the array cache reads .npy files with np.load"
    for name, found in calls.items():
        for call in found:
            assert refuses_pickles(call), f"{name}:{call.lineno} np.load without allow_pickle=False"
        source = (Path(bench.data.__file__).parent / name).read_text(encoding="utf-8")
        assert "import pickle" not in source and "joblib" not in source, name


# --- damaged entries -----------------------------------------------------------------------


class _TouchOnUnpickle:
    """Unpickling this creates ``path``: proof that a cache file ran code."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (Path.touch, (self.path,))


def folder_bytes(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir()}


def truncate_npy(folder: Path, tmp_path: Path) -> None:
    path = folder / "X_train.npy"
    path.write_bytes(path.read_bytes()[:-5])


def empty_npy(folder: Path, tmp_path: Path) -> None:
    (folder / "y_test.npy").write_bytes(b"")


def remove_npy(folder: Path, tmp_path: Path) -> None:
    (folder / "X_test.npy").unlink()


def trailing_bytes(folder: Path, tmp_path: Path) -> None:
    with open(folder / "y_train.npy", "ab") as file:
        file.write(b"\x00" * 8)


def broken_json(folder: Path, tmp_path: Path) -> None:
    path = folder / "arrays.json"
    path.write_text(path.read_text()[:40])


def json_of_wrong_type(folder: Path, tmp_path: Path) -> None:
    (folder / "arrays.json").write_text("[1, 2, 3]")


def remove_json(folder: Path, tmp_path: Path) -> None:
    (folder / "arrays.json").unlink()


def other_shape_in_json(folder: Path, tmp_path: Path) -> None:
    path = folder / "arrays.json"
    meta = json.loads(path.read_text())
    meta["arrays"]["X_train"]["shape"] = [3, 4, 4]
    path.write_text(json.dumps(meta))


def json_of_other_sources(folder: Path, tmp_path: Path) -> None:
    path = folder / "arrays.json"
    meta = json.loads(path.read_text())
    meta["stamps"][0][1] += 1
    path.write_text(json.dumps(meta))


def consistent_but_wrong_arrays(folder: Path, tmp_path: Path) -> None:
    # Shapes and dtypes agree with the JSON, but the labels are out of range.
    np.save(folder / "y_test.npy", np.array([7, 8, 9], np.int64))


def fortran_order(folder: Path, tmp_path: Path) -> None:
    path = folder / "X_train.npy"
    np.save(path, np.asfortranarray(np.load(path)))


def npz_under_npy_name(folder: Path, tmp_path: Path) -> None:
    path = folder / "y_train.npy"
    labels = np.load(path)
    with open(path, "wb") as file:
        np.savez(file, y_train=labels)


def object_dtype_npy(folder: Path, tmp_path: Path) -> None:
    # An object array with a JSON that claims it: only allow_pickle=False stands in
    # the way of unpickling it.
    path = folder / "y_train.npy"
    labels = np.empty(6, dtype=object)
    labels[:] = [_TouchOnUnpickle(tmp_path / "code-ran")] * 6
    np.save(path, labels, allow_pickle=True)
    meta_path = folder / "arrays.json"
    meta = json.loads(meta_path.read_text())
    meta["arrays"]["y_train"]["dtype"] = "|O"
    meta_path.write_text(json.dumps(meta))


def raw_pickle(folder: Path, tmp_path: Path) -> None:
    (folder / "y_train.npy").write_bytes(pickle.dumps(_TouchOnUnpickle(tmp_path / "code-ran")))


@pytest.mark.parametrize(
    "damage",
    [
        truncate_npy,
        empty_npy,
        remove_npy,
        trailing_bytes,
        broken_json,
        json_of_wrong_type,
        remove_json,
        other_shape_in_json,
        json_of_other_sources,
        consistent_but_wrong_arrays,
        fortran_order,
        npz_under_npy_name,
        object_dtype_npy,
        raw_pickle,
    ],
)
def test_damaged_entry_is_ignored_and_rebuilt(tmp_path, tiny, damage):
    entry, directory, reference = tiny
    load_from(entry, directory, tmp_path)
    written = folder_bytes(only_entry(tmp_path))
    damage(only_entry(tmp_path), tmp_path)

    dataset = load_from(entry, directory, tmp_path)

    assert_same_data(dataset, reference)
    assert not (tmp_path / "code-ran").exists()
    assert folder_bytes(only_entry(tmp_path)) == written
    rebuilt = load_from(entry, directory, tmp_path)
    assert_memory_mapped(rebuilt)
    assert_same_data(rebuilt, reference)
    assert [path.name for path in cache_entries(tmp_path)] == [only_entry(tmp_path).name]


def test_leftovers_of_killed_writers_are_removed_when_old(tmp_path, tiny):
    entry, directory, reference = tiny
    folder = tmp_path / "user-cache" / "arrays" / "tiny"
    old, recent = folder / ".tmp-old", folder / ".tmp-recent"
    for leftover in (old, recent):
        leftover.mkdir(parents=True)
        (leftover / "X_train.npy").write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))

    dataset = load_from(entry, directory, tmp_path)

    assert_same_data(dataset, reference)
    # A recent one may belong to a writer still at work.
    assert not old.exists()
    assert recent.exists()
    assert_memory_mapped(load_from(entry, directory, tmp_path))


def test_unwritable_cache_warns_and_still_loads(tmp_path, tiny, monkeypatch):
    entry, directory, reference = tiny
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("BENCH_CACHE_DIR", str(blocker))

    with pytest.warns(RuntimeWarning, match="could not cache the decoded arrays"):
        dataset = load_from(entry, directory, tmp_path)

    assert_same_data(dataset, reference)

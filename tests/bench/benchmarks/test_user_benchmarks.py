"""Benchmarks of a user's own: a file (``--benchmarks``, ``$BENCH_BENCHMARKS``) and an
installed package (entry points), through the command line as a user runs it."""

import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from bench.benchmarks import registry, user
from bench.errors import UsageError
from tests.helpers.user_data import digits, write_image_folder
from tests.helpers.wheels import pip_install, write_wheel

README = (Path(__file__).resolve().parents[3] / "README.md").read_text()
# The README's example file, exactly: what a user copies is what is tested.
EXAMPLE = re.search(r"```python\n(# my_benchmarks\.py\n.*?)```", README, re.DOTALL).group(1)

LAB_MODULE = """
from bench.benchmarks import Benchmark, register
from bench.benchmarks.pipelines import svc_pipeline


def register_all():
    register(
        Benchmark(
            name="digits-lab-svc",
            dataset="digits",
            summary="The lab's SVC",
            pipeline=svc_pipeline,
            params={"C": 5.0},
            epochs=None,
        )
    )
"""


@pytest.fixture
def example_file(tmp_path) -> Path:
    path = tmp_path / "my_benchmarks.py"
    path.write_text(EXAMPLE)
    return path


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text)
    return path


def lab_package(site: Path, *, entry: str = "lab_benchmarks:register_all", code: str = LAB_MODULE):
    """An installed distribution ``lab-benchmarks`` in ``site``: its package and the
    ``.dist-info`` importlib.metadata reads its entry points from."""
    (site / "lab_benchmarks").mkdir(parents=True)
    (site / "lab_benchmarks" / "__init__.py").write_text(code)
    info = site / "lab_benchmarks-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: lab-benchmarks\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[bench.benchmarks]\nlab = {entry}\n")
    return site


def error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1, result.stderr
    return lines[0]


def rows(listing: str) -> dict[str, list[str]]:
    """``bench list``'s rows by benchmark: its columns, split on runs of spaces."""
    return {line.split()[0]: re.split(r"\s{2,}", line) for line in listing.splitlines()[1:]}


def test_list_shows_where_each_benchmark_comes_from(bench_command, example_file, tmp_path):
    site = lab_package(tmp_path / "site")
    result = bench_command(
        "list", "--benchmarks", str(example_file), cwd=tmp_path, PYTHONPATH=str(site)
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # no TensorFlow start-up lines from the file's imports
    table = rows(result.stdout)
    assert table["digits-wide"][:5] == [
        "digits-wide",
        str(example_file),
        "digits",
        "10 x 32",
        "19,210",  # 64*256+256 + 256*10+10, counted by building the network
    ]
    assert table["digits-logreg"][1:5] == [str(example_file), "digits", "one fit", "after fit"]
    assert table["digits-lab-svc"][1] == "lab-benchmarks"
    assert table["mnist-mlp"][1] == "bench"


def test_the_environment_names_files_for_every_command(bench_command, tmp_path):
    one = write(tmp_path, "one.py", LAB_MODULE.replace("def register_all():", "if True:"))
    other = write(
        tmp_path,
        "other.py",
        LAB_MODULE.replace("lab-svc", "other-svc").replace("def register_all():", "if True:"),
    )
    result = bench_command("list", cwd=tmp_path, BENCH_BENCHMARKS=f"{one}{os.pathsep}{other}")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout)["digits-lab-svc"][1] == str(one)
    assert rows(result.stdout)["digits-other-svc"][1] == str(other)


@pytest.mark.slow
def test_run_and_describe_a_network_declared_in_a_file(bench_command, example_file, tmp_path):
    result = bench_command(
        "run", "digits-wide", "--benchmarks", str(example_file), "--epochs", "1", cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "digits-wide on digits" in result.stdout
    assert "1 epoch in" in result.stdout and "19,210 weights" in result.stdout
    described = bench_command(
        "describe", "digits-wide", cwd=tmp_path, BENCH_BENCHMARKS=str(example_file)
    )
    assert described.returncode == 0, described.stderr
    assert "network   WideNet, 64 inputs" in described.stdout
    assert "Total weights: 19210" in described.stdout


@pytest.mark.slow
def test_run_and_study_a_scikit_learn_classifier_declared_in_a_file(
    bench_command, example_file, tmp_path
):
    ran = bench_command("run", "digits-logreg", "--benchmarks", str(example_file), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "LogisticRegression fitted in one call" in ran.stdout
    assert "650 numbers stored" in ran.stdout  # (64 + 1) x 10, counted after the fit
    studied = bench_command(
        "study", "digits-logreg", "--trials", "2", "--benchmarks", str(example_file), cwd=tmp_path
    )
    assert studied.returncode == 0, studied.stderr
    # The declared space, under its own names; trial 0 is the benchmark's own C.
    table = studied.stdout.split("number")[1].splitlines()
    assert "clf__C" in table[0]
    trial_0 = next(line.split() for line in table if line.split()[:1] == ["0"])
    assert float(trial_0[-1]) == 1.0


@pytest.mark.slow
def test_a_package_installed_with_pip_lists_runs_and_predicts(bench_command, tmp_path):
    wheel = write_wheel(
        tmp_path,
        name="lab-benchmarks",
        version="1.0",
        modules={"lab_benchmarks/__init__.py": LAB_MODULE},
        entry_points="[bench.benchmarks]\nlab = lab_benchmarks:register_all\n",
    )
    site = str(pip_install(wheel, tmp_path / "site"))
    listed = bench_command("list", cwd=tmp_path, PYTHONPATH=site)
    assert listed.returncode == 0, listed.stderr
    assert rows(listed.stdout)["digits-lab-svc"][1] == "lab-benchmarks"
    ran = bench_command("run", "digits-lab-svc", cwd=tmp_path, PYTHONPATH=site)
    assert ran.returncode == 0, ran.stderr
    assert "digits-lab-svc on digits" in ran.stdout
    run_id = re.search(r"run id\s+([0-9a-f]{32})", ran.stdout).group(1)
    picture = tmp_path / "seven.png"
    Image.fromarray(np.kron(load_digits().images[7], np.ones((4, 4))).astype(np.uint8) * 15).save(
        picture
    )
    predicted = bench_command("predict", run_id, str(picture), cwd=tmp_path, PYTHONPATH=site)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.split()[:2] == [str(picture), "7"], predicted.stdout


@pytest.mark.slow
def test_predict_from_another_folder_needs_the_file_that_declared_the_network(
    bench_command, example_file, tmp_path
):
    ran = bench_command(
        "run", "digits-wide", "--benchmarks", str(example_file), "--epochs", "1", cwd=tmp_path
    )
    assert ran.returncode == 0, ran.stderr
    run_id = re.search(r"run id\s+([0-9a-f]{32})", ran.stdout).group(1)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    picture = elsewhere / "three.png"
    Image.fromarray(np.kron(load_digits().images[3], np.ones((4, 4))).astype(np.uint8) * 15).save(
        picture
    )
    store = {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"}
    lost = bench_command("predict", run_id, "three.png", cwd=elsewhere, **store)
    assert error_line(lost) == (
        f"bench: error: the model of run {run_id} needs the module 'my_benchmarks', which "
        f"cannot be imported here: give its benchmark's file (declared in {example_file}) "
        "with --benchmarks FILE or BENCH_BENCHMARKS, or install its package"
    )
    found = bench_command(
        "predict", run_id, "three.png", "--benchmarks", str(example_file), cwd=elsewhere, **store
    )
    assert found.returncode == 0, found.stderr
    assert found.stdout.startswith("three.png  "), found.stdout


DECLARES_DATA = """from bench.benchmarks import Benchmark, register
from bench.benchmarks.pipelines import mlp_pipeline

register(
    Benchmark(
        name="scans-mlp",
        dataset="digits",
        summary="digits-mlp's network on the scans",
        pipeline=mlp_pipeline,
        params={"hidden_layer_sizes": (32,)},
        epochs=1,
        data="scans",
    )
)
"""


@pytest.mark.slow
def test_a_benchmark_that_names_its_data_trains_on_it(bench_command, tmp_path):
    file = write(tmp_path, "scans_benchmarks.py", DECLARES_DATA)
    images, labels = digits(10, side=16)
    write_image_folder(tmp_path / "scans", images, labels)
    listed = bench_command("list", "--benchmarks", str(file), cwd=tmp_path)
    assert rows(listed.stdout)["scans-mlp"][2:4] == ["scans", "1 x 128"], listed.stdout
    ran = bench_command("run", "scans-mlp", "--benchmarks", str(file), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "scans-mlp on scans" in ran.stdout
    assert "data: resized 100 images from 16x16 to 8x8" in ran.stderr
    missing = bench_command("run", "scans-mlp", "--benchmarks", str(file), cwd=tmp_path / "scans")
    assert error_line(missing).startswith(
        f"bench: error: the data benchmark scans-mlp names: no file or folder "
        f"{tmp_path / 'scans' / 'scans'}; data is a folder of class folders"
    )


@pytest.fixture
def fresh_registry(monkeypatch):
    """The registry and the loader's memory as they are now, restored after the test."""
    monkeypatch.setattr(registry, "_BENCHMARKS", dict(registry._BENCHMARKS))
    monkeypatch.setattr(registry, "_ORIGINS", dict(registry._ORIGINS))
    monkeypatch.setattr(user, "_loaded_files", {})
    monkeypatch.setattr(user, "_packages_loaded", False)


def test_packages_load_only_for_a_name_bench_does_not_know(fresh_registry, tmp_path, monkeypatch):
    site = lab_package(tmp_path / "site", entry="lab_benchmarks")  # a module this time
    (site / "lab_benchmarks" / "__init__.py").write_text(LAB_MODULE + "\nregister_all()\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.delitem(sys.modules, "lab_benchmarks", raising=False)
    assert user.get_benchmark("digits-svc").name == "digits-svc"
    assert "lab_benchmarks" not in sys.modules  # `bench run digits-svc` pays nothing
    assert user.get_benchmark("digits-lab-svc").params == {"C": 5.0}
    assert registry.benchmark_origin("digits-lab-svc") == "lab-benchmarks"
    monkeypatch.delitem(sys.modules, "lab_benchmarks")


def test_a_name_declared_twice_names_both_places(fresh_registry, tmp_path):
    first = write(tmp_path, "first.py", LAB_MODULE + "\nregister_all()\n")
    second = tmp_path / "again"
    second.mkdir()
    again = write(second, "second.py", LAB_MODULE + "\nregister_all()\n")
    user.load_benchmark_files([str(first)])
    with pytest.raises(UsageError) as error:
        user.load_benchmark_files([str(again)])
    assert str(error.value) == (
        f"benchmark 'digits-lab-svc' is declared twice: in {first} and in {again}; "
        "rename one of them"
    )
    user.load_benchmark_files([str(first)])  # the same file twice is loaded once
    for name in ("first", "second"):
        sys.modules.pop(name, None)


SHADOWS_SVC = """from bench.benchmarks import Benchmark, register
from bench.benchmarks.pipelines import logreg_pipeline

register(Benchmark("digits-svc", "digits", "again", logreg_pipeline, epochs=None))
"""


@pytest.mark.parametrize(
    ("name", "text", "command", "expected"),
    [
        (
            "typo.py",
            "from bench.benchmarks import Benchmark, register\n\n"
            'register(Benchmark("x", "digits", "x", pipelin))\n',
            ("list",),
            "bench: error: benchmark file {path}, line 3: NameError: name 'pipelin' is not defined",
        ),
        (
            "broken.py",
            "def f(:\n    pass\n",
            ("list",),
            "bench: error: benchmark file {path}, line 1: SyntaxError: invalid syntax",
        ),
        (
            "shadow.py",
            SHADOWS_SVC,
            ("list",),
            "bench: error: benchmark 'digits-svc' is declared twice: in bench and in {path}; "
            "rename one of them",
        ),
        (
            "knn.py",
            "from sklearn.neighbors import KNeighborsClassifier\n"
            "from sklearn.pipeline import Pipeline\n\n"
            "from bench.benchmarks import Benchmark, register\n\n\n"
            "def knn_pipeline(*, pixel_max=255.0, random_state=None):\n"
            '    return Pipeline([("clf", KNeighborsClassifier())])\n\n\n'
            'register(Benchmark("digits-knn", "digits", "kNN", knn_pipeline, epochs=None))\n',
            ("study", "digits-knn", "--trials", "2"),
            "bench: error: digits-knn has no search space: its factory knn_pipeline has no "
            "family in studies/spaces.py; declare one, Benchmark(search_space={'clf__C': "
            "FloatDistribution(0.01, 100, log=True)}) say, or search a grid with --grid",
        ),
    ],
    ids=["name-error", "syntax-error", "declared-twice", "no-search-space"],
)
def test_a_bad_benchmark_file_is_one_line(bench_command, tmp_path, name, text, command, expected):
    path = write(tmp_path, name, text)
    result = bench_command(*command, "--benchmarks", str(path), cwd=tmp_path)
    assert error_line(result) == expected.replace("{path}", str(path))


def test_a_missing_file_is_one_line(bench_command, tmp_path):
    result = bench_command("run", "digits-wide", "--benchmarks", "nowhere.py", cwd=tmp_path)
    assert error_line(result) == "bench: error: benchmark file nowhere.py not found"


def test_a_package_that_fails_names_its_file_and_line(bench_command, tmp_path):
    site = lab_package(tmp_path / "site", code="import no_such_module\n")
    result = bench_command("list", cwd=tmp_path, PYTHONPATH=str(site))
    init = (site / "lab_benchmarks" / "__init__.py").resolve()
    assert error_line(result) == (
        "bench: error: the benchmarks of package lab-benchmarks (entry point lab = "
        f"lab_benchmarks:register_all) fail to load ({init}, line 1): "
        "ModuleNotFoundError: No module named 'no_such_module'"
    )

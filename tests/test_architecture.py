"""The architecture the README describes is the one in the tree, and the layers hold."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def architecture_tree() -> list[str]:
    section = README.split("## Architecture", 1)[1]
    block = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    return [line.split()[0] for line in block.splitlines() if line.strip()]


def test_layers_and_contracts_hold():
    lint_imports = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert lint_imports, "import-linter is not installed (pip install -e '.[test]')"
    done = subprocess.run([lint_imports], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_readme_architecture_lists_what_exists():
    listed = architecture_tree()
    for entry in listed:
        assert (ROOT / entry).exists(), f"README's Architecture lists {entry}, which is gone"
    parts = [path for path in (ROOT / "bench").iterdir() if not path.name.startswith(("_", "."))]
    modules = {
        f"bench/{path.name}/" if path.is_dir() else f"bench/{path.name}"
        for path in parts
        if path.is_dir() or path.suffix == ".py"
    }
    modules = {module for module in modules if not module.endswith("__pycache__/")}
    assert modules <= set(listed), f"missing from README's Architecture: {modules - set(listed)}"
    assert {"studies/", "estimators/"} <= set(listed)


def test_readme_benchmark_table_is_what_bench_list_prints(capsys, mlflow_store):
    assert main(["list", "--format", "markdown"]) == 0
    table = capsys.readouterr().out.strip()
    assert table in README, "regenerate it: python -m bench list --format markdown"


@pytest.mark.parametrize("path", sorted(set(re.findall(r"`(tests/[\w/]+\.py)`", README))), ids=str)
def test_test_files_the_readme_names_exist(path):
    assert (ROOT / path).is_file()


def test_every_module_of_bench_is_in_a_layer():
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["type"] == "layers")["layers"]
    named = {name.strip() for layer in layers for name in re.split(r"[|:]", layer)}
    parts = [path for path in (ROOT / "bench").iterdir() if not path.name.startswith(("_", "."))]
    modules = {f"bench.{path.stem}" for path in parts if path.is_dir() or path.suffix == ".py"}
    modules -= {"bench.__pycache__"}
    assert modules <= named, f"not in the layers contract: {sorted(modules - named)}"

"""The house's layout: layers without upward imports or circles, no borrowed private helpers.

The layers and the acyclic rule are import-linter contracts in pyproject.toml;
this module runs them in the test suite, so a landing cannot break them.
"""

from __future__ import annotations

import ast
import importlib.util
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "rfm_loyalty"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    if not lint.exists():
        found = shutil.which("lint-imports")
        if found is None:
            pytest.skip("import-linter is not installed (pip install 'rfm-loyalty[dev]')")
        lint = Path(found)
    done = subprocess.run([str(lint), str(SRC.parent / "pyproject.toml")], cwd=SRC,
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def _is_module(package: str, name: str) -> bool:
    try:
        return importlib.util.find_spec(f"{package}.{name}") is not None
    except ModuleNotFoundError:  # ``package`` is a module: ``name`` is defined in it
        return False


def test_no_private_helper_is_imported_from_another_module():
    # Private modules (machinery of one owner) may be imported; private names
    # defined inside another module may not: they would be internals.
    borrowed = []
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.ImportFrom) or not (node.module or "").startswith(
                "rfm_loyalty"
            ):
                continue
            for alias in node.names:
                name = alias.name
                if name.startswith("_") and not name.startswith("__"):
                    if not _is_module(str(node.module), name):
                        borrowed.append(f"{path.relative_to(SRC)}: {node.module}.{name}")
    assert borrowed == []


def test_the_code_cites_no_document_outside_the_repository():
    outside = re.compile(r"DESIGN(\.md| section)|STYLE\.md|shared/|\bissue \d+|\(issue")
    hits = [
        f"{path.relative_to(SRC)}:{number}: {line.strip()}"
        for path in _modules()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    assert hits == []


def test_the_layout_document_is_generated_from_the_code():
    # docs/layout.md lists every module file under its layer of the import contract
    # (which is exhaustive: lint-imports fails on a module in no layer); a new, moved or
    # renamed module, or a changed docstring, makes the file differ
    script = SRC.parent / "scripts" / "make_layout_docs.py"
    done = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr

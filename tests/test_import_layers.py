"""The import contract of the lint gate (pyproject.toml, import-linter) is not a formality:
a service that imports an adapter breaks it."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(tree):
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_tree_keeps_its_layers():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:]


def test_a_service_importing_an_adapter_breaks_the_contract(tmp_path):
    shutil.copytree(
        ROOT / "webchat",
        tmp_path / "webchat",
        ignore=shutil.ignore_patterns("static", "templates", "translations", "__pycache__"),
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    reads = tmp_path / "webchat" / "services" / "reads.py"
    reads.write_text(reads.read_text() + "\nfrom ..api import bp  # the violation\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout and "webchat.services.reads -> webchat.api" in result.stdout

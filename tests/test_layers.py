"""The layers (pyproject.toml [tool.importlinter]): adapt < baselines < benchmarks < reports, and
adapt/ imports nothing of ours. Checked with import-linter on the repository, and shown to fail on
a copy of the packages with one deliberately wrong import."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("adapt", "baselines", "benchmarks", "reports")
LINT = (
    "import sys; from importlinter.cli import lint_imports; "
    "sys.exit(lint_imports(no_cache=True, no_logo=True))"
)


def lint(root: Path) -> subprocess.CompletedProcess:
    """Run `lint-imports` in ``root`` with ``root``'s packages first on the path."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [sys.executable, "-c", LINT], cwd=root, env=env, capture_output=True, text=True
    )


def test_the_repository_keeps_its_layers():
    proc = lint(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 kept, 0 broken" in proc.stdout


def copy_repo(dest: Path) -> Path:
    for pkg in PACKAGES:
        shutil.copytree(ROOT / pkg, dest / pkg, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
    return dest


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("adapt/wrong.py", "from benchmarks.results import ResultsDir\n", "adapt is independent"),
        ("baselines/wrong.py", "import benchmarks.suite\n", "layers"),
        (
            "benchmarks/wrong.py",
            "def f():\n    from reports.render import write_report\n",
            "layers",
        ),
    ],
)
def test_a_wrong_import_breaks_a_contract(tmp_path, module, line, broken):
    root = copy_repo(tmp_path)
    (root / module).write_text(line)
    proc = lint(root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"{module[:-3].replace('/', '.')} -> " in proc.stdout
    assert broken in proc.stdout and "BROKEN" in proc.stdout

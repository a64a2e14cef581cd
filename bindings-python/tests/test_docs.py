"""Every Python block of README.md and docs/ is taken from a program in docs/snippets/python/
(`make check-docs` holds them equal); each program runs here, in a fresh interpreter, and its
own assertions decide."""

import pathlib
import subprocess
import sys

import pytest

SNIPPETS = pathlib.Path(__file__).resolve().parents[2] / "docs" / "snippets" / "python"


@pytest.mark.parametrize("program", sorted(SNIPPETS.glob("*.py")), ids=lambda p: p.name)
def test_docs_snippet_runs(program, tmp_path):
    run = subprocess.run([sys.executable, str(program)], cwd=tmp_path, capture_output=True,
                         text=True, timeout=120, check=False)
    assert run.returncode == 0, f"{program.name} failed:\n{run.stdout}\n{run.stderr}"


def test_there_are_snippets():
    assert len(list(SNIPPETS.glob("*.py"))) >= 3

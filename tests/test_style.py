import subprocess
import sys

from lib.paths import NOTEBOOKS


def test_ruff_lint_and_format_are_clean():
    root = NOTEBOOKS.parent
    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command], cwd=root, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr

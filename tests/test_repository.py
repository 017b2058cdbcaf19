"""The repository itself: what a careless merge or edit could leave behind in tracked files."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^(<{7}|={7}|>{7})( |$)", re.MULTILINE)


def tracked_text_files() -> list[Path]:
    """The text files git tracks here; skips the test outside a git checkout (e.g. an sdist)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed: no tracked files to read")
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listed.returncode != 0:
        pytest.skip("not a git checkout: no tracked files to read")
    return [ROOT / name for name in listed.stdout.decode().split("\0")
            if name and not name.endswith((".mo", ".png", ".xlsx", ".db"))]


def test_no_tracked_file_keeps_a_merge_conflict_marker() -> None:
    conflicted = [str(path.relative_to(ROOT)) for path in tracked_text_files()
                  if path.is_file()
                  and MARKER.search(path.read_text(encoding="utf-8", errors="replace"))]
    assert conflicted == []

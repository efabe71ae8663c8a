"""The data-location helpers: one clear message for a path the user got wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.errors import DdxError, MissingDataError
from data.locations import ensure_folder, require_existing


def test_require_existing_names_a_folder_given_for_a_file(tmp_path: Path) -> None:
    with pytest.raises(MissingDataError, match=r"is a folder, not a file\. It should be a CSV"):
        require_existing(tmp_path, "a CSV")
    with pytest.raises(MissingDataError, match="not found"):
        require_existing(tmp_path / "missing.csv", "a CSV")
    present = tmp_path / "p.csv"
    present.write_text("x\n")
    assert require_existing(present, "a CSV") == present


def test_ensure_folder_creates_parents_and_explains_what_it_cannot_create(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    assert ensure_folder(nested, "output folder") == nested and nested.is_dir()
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(DdxError, match=r"Cannot create the output folder .*file/out"):
        ensure_folder(blocker / "out", "output folder")

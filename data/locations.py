"""Where each dataset's files are expected inside the data directory.

The data directory comes from ``--data-dir``, then ``DDX_DATA_DIR``, then ``./data``
(see ``agent.settings``). Each dataset has its own sub-folder, named as in the official release.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from agent.errors import DdxError, MissingDataError

DDXPLUS = "ddxplus"
DDXPLUS_EVIDENCES = "release_evidences.json"
DDXPLUS_CONDITIONS = "release_conditions.json"


def dataset_dir(data_dir: Path, dataset: str) -> Path:
    """The folder of one dataset inside the data directory."""
    return data_dir / dataset


def require_file(data_dir: Path, dataset: str, filename: str) -> Path:
    """Return the path of a dataset file, or fail with one message naming path and fix."""
    path = dataset_dir(data_dir, dataset) / filename
    if not path.is_file():
        raise MissingDataError(
            f"{path} not found. Fetch it with `ddx data fetch {dataset}`, or point --data-dir "
            f"(or DDX_DATA_DIR) at a folder that has {dataset}/{filename}."
        )
    return path


def require_existing(path: Path, what: str) -> Path:
    """Check a file the user named explicitly (e.g. --patients) exists."""
    if not path.is_file():
        hint = f" It should be {what}." if what else ""
        problem = "is a folder, not a file" if path.is_dir() else "not found"
        raise MissingDataError(f"{path} {problem}.{hint}")
    return path


def ensure_folder(path: Path, what: str) -> Path:
    """Create ``path`` (and its parents) and check a file can be written in it, before any work
    is done, so that a folder that cannot be written (a read-only file system, no permission)
    is one clear message up front rather than a traceback after the work.

    ``what`` names the folder for the message, e.g. "output folder" or "state folder".
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DdxError(f"Cannot create the {what} {path}: {exc.strerror or exc}.") from None
    try:  # existing folders too: mkdir(exist_ok=True) succeeds on a read-only file system
        with tempfile.TemporaryFile(dir=path, prefix=".ddx-write-check-"):
            pass
    except OSError as exc:
        raise DdxError(f"Cannot write to the {what} {path}: {exc.strerror or exc}.") from None
    return path

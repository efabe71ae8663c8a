"""Where each dataset's files are expected inside the data directory.

The data directory comes from ``--data-dir``, then ``DDX_DATA_DIR``, then ``./data``
(see ``agent.settings``). Each dataset has its own sub-folder, named as in the official release.
"""

from __future__ import annotations

from pathlib import Path

from agent.errors import MissingDataError

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
        raise MissingDataError(f"{path} not found.{hint}")
    return path

"""Which benchmark a run folder belongs to, so no benchmark writes into another one's folder.

Every benchmark names itself in ``run.json`` (``"benchmark": "ddxplus"``, ``"rarebench"``,
``"icraftmd"``, ``"retrieval"``, ``"doctors"``). Folders written before retrieval and doctor
evaluation wrote a ``run.json`` are recognised by their files. A folder claimed by another
benchmark is refused with one message before anything is written into it.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel

from agent.errors import DataFormatError, DdxError
from eval.schema import CASES_FILE, CONFIG_FILE, SUMMARY_FILE

COMMANDS = {
    "ddxplus": "ddx eval ddxplus",
    "rarebench": "ddx eval rarebench",
    "icraftmd": "ddx eval icraftmd",
    "retrieval": "ddx eval retrieval",
    "doctors": "ddx doctors eval",
}
LEGACY_MARKERS = (("per_query.jsonl", "retrieval"), ("rankings.jsonl", "doctors"))
"""Files only one benchmark writes, for folders whose run.json does not name it."""


class FolderClaim(BaseModel):
    """The ``run.json`` of a benchmark that does not resume (retrieval, doctors)."""

    benchmark: str


def folder_benchmark(folder: Path) -> str | None:
    """The benchmark whose results ``folder`` holds; None for a new or empty folder."""
    path = folder / CONFIG_FILE
    if path.is_file():
        try:
            config = json.loads(path.read_bytes())
        except ValueError:
            raise DataFormatError(f"{path}: not a run configuration (not JSON).") from None
        if isinstance(config, dict) and isinstance(config.get("benchmark"), str):
            return str(config["benchmark"])
        raise DataFormatError(f"{path}: not a run configuration (it names no benchmark).")
    for marker, benchmark in LEGACY_MARKERS:
        if (folder / marker).is_file():
            return benchmark
    if (folder / CASES_FILE).is_file() or (folder / SUMMARY_FILE).is_file():
        return "ddxplus"  # every other benchmark has always written run.json
    return None


def claim_folder(folder: Path, benchmark: str) -> None:
    """Refuse ``folder`` when it holds another benchmark's results."""
    if not folder.is_dir():
        return
    found = folder_benchmark(folder)
    if found is not None and found != benchmark:
        command = COMMANDS.get(found, found)
        raise DdxError(
            f"{folder} holds a {found} run (written by `{command}`); {benchmark} results "
            "would overwrite it. Use another --out."
        )


def claim_for(folder: Path, benchmark: str) -> None:
    """Claim a folder for a benchmark that rewrites its results on every run (retrieval,
    doctors): refuse another benchmark's folder, then name the benchmark in ``run.json``."""
    claim_folder(folder, benchmark)
    (folder / CONFIG_FILE).write_text(
        FolderClaim(benchmark=benchmark).model_dump_json(indent=2) + "\n", encoding="utf-8"
    )

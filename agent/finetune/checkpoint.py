"""Checkpoints that survive a kill: written to a temporary folder, then swapped in by rename.

The folder ``<out>/checkpoint`` always holds a complete checkpoint (or none): a kill during a
save leaves at most a stray ``checkpoint.partial`` that the next save replaces. A checkpoint
belongs to one run: its fingerprint (base model, data hash, recipe) must match to resume.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from agent.errors import SettingsError

STATE_FILE = "state.pt"
META_FILE = "meta.json"


def checkpoint_dir(out: Path) -> Path:
    return out / "checkpoint"


def save_checkpoint(out: Path, fingerprint: dict[str, Any], state: dict[str, Any]) -> None:
    import torch

    final = checkpoint_dir(out)
    partial = out / "checkpoint.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    torch.save(state, partial / STATE_FILE)
    (partial / META_FILE).write_text(json.dumps(fingerprint, indent=2), encoding="utf-8")
    old = out / "checkpoint.old"
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        final.rename(old)
    partial.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def load_checkpoint(out: Path, fingerprint: dict[str, Any]) -> dict[str, Any] | None:
    """The saved state when ``out`` holds a checkpoint of this same run, else None."""
    import torch

    folder = checkpoint_dir(out)
    if not folder.is_dir() and (out / "checkpoint.old").is_dir():
        folder = out / "checkpoint.old"  # killed between the two renames of a save
    if not (folder / STATE_FILE).is_file():
        return None
    saved = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
    if saved != fingerprint:
        changed = sorted(k for k in fingerprint if saved.get(k) != fingerprint[k])
        raise SettingsError(
            f"{out} holds a checkpoint of a different training run (changed: "
            f"{', '.join(changed) or 'format'}). Use another --out, or --restart to discard it."
        )
    state: dict[str, Any] = torch.load(folder / STATE_FILE, weights_only=False)
    return state


def discard_checkpoint(out: Path) -> None:
    for name in ("checkpoint", "checkpoint.partial", "checkpoint.old"):
        shutil.rmtree(out / name, ignore_errors=True)

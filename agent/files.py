"""File helpers every layer uses: content hashes (run.json, model provenance) and atomic writes.

A ground module (it imports only ``agent.errors``), so the harness, the fine-tuning code and
the reasoners share it without pointing up the layers.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from agent.errors import DdxError


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file: recorded so a model (or a run) names exactly what it used."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename, so
    a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        tmp.chmod(0o644)  # mkstemp makes it private; these files are meant to be shared
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_output_file(path: Path, data: bytes, what: str) -> Path:
    """:func:`atomic_write` to a path the user named (``--plot FILE``): a folder, or a place
    that cannot be written, is one clear error rather than a traceback."""
    if path.is_dir():
        raise DdxError(f"{path} is a folder; name the {what} file to write, e.g. {path}/plot.png.")
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise DdxError(f"Cannot write the {what} {path}: {exc.strerror or exc}.") from None
    return path

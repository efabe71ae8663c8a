"""The retrieval option every consultation command shares (``ddx chat``, ``ddx eval ddxplus``,
``ddx eval icraftmd``), declared once so it reads and behaves the same everywhere."""

from __future__ import annotations

import typer

ONLINE = typer.Option(
    False,
    "--online",
    help="Also retrieve PubMed abstracts and Wikipedia summaries for the leading candidates "
    "(sends condition names only; answers cached under the state folder).",
)

"""Helpers shared by the sub-commands: settings from the root options, the knowledge base."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from pathlib import Path

    from agent.settings import DdxSettings
    from retrieval.ddxplus_kb import KnowledgeBase


def settings_from(ctx: typer.Context, **explicit: Any) -> DdxSettings:
    """Settings with the root ``--data-dir`` and the command's own explicit options applied."""
    from agent.settings import load_settings

    root = ctx.find_root().obj or {}
    return load_settings(data_dir=root.get("data_dir"), **explicit)


def load_kb(settings: DdxSettings) -> KnowledgeBase:
    from retrieval.ddxplus_kb import load_from_data_dir

    return load_from_data_dir(settings.data_dir)


def exit_interrupted(out: Path) -> typer.Exit:
    """Say where a Ctrl-C'd benchmark run kept its finished cases; raise what this returns."""
    typer.secho(
        f"\ninterrupted: finished cases are saved in {out / 'cases.jsonl'}; "
        "run the same command again to finish the rest.",
        fg=typer.colors.YELLOW,
        err=True,
    )
    return typer.Exit(130)


def exit_if_cases_failed(failures: int) -> None:
    """A benchmark run with failed cases ends with exit code 1 and says how to retry them."""
    if failures:
        typer.secho(
            f"{failures} case(s) failed and were not recorded; "
            "run the same command again to retry them.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1)

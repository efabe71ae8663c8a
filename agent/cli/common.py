"""Helpers shared by the sub-commands: settings from the root options, the knowledge base."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import typer

from agent.settings import DdxSettings, load_settings

if TYPE_CHECKING:
    from pathlib import Path

    from agent.roles import Retriever
    from retrieval.ddxplus_kb import KnowledgeBase


def settings_from(ctx: typer.Context, **explicit: Any) -> DdxSettings:
    """Settings with the root ``--data-dir`` and the command's own explicit options applied."""
    root = ctx.find_root().obj or {}
    return load_settings(data_dir=root.get("data_dir"), **explicit)


def load_kb(settings: DdxSettings) -> KnowledgeBase:
    from retrieval.ddxplus_kb import load_from_data_dir

    return load_from_data_dir(settings.data_dir)


def index_root(settings: DdxSettings) -> Path:
    """Where the built-in corpora's indexes live: ``<state dir>/indexes``."""
    from retrieval.builtin_index import index_root_of

    return index_root_of(settings.state_dir)


def default_retriever(
    settings: DdxSettings, kb: KnowledgeBase, warn: Callable[[str], None]
) -> Retriever | None:
    """The built-in DDXPlus retrieval agent when its index is built (None, with a hint)."""
    from retrieval.builtin_index import ddxplus_retriever_if_built

    return ddxplus_retriever_if_built(kb, index_root(settings), warn)


def with_online_sources(
    settings: DdxSettings, retriever: Retriever | None, warn: Callable[[str], None]
) -> Retriever:
    """``retriever`` followed by PubMed and Wikipedia (``--online``), cached on disk."""
    from retrieval.online import CombinedRetriever, OnlineSettings, online_retriever

    online = online_retriever(OnlineSettings(cache_dir=settings.state_dir / "online-cache"), warn)
    return CombinedRetriever([retriever, online]) if retriever is not None else online


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

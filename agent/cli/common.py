"""Helpers shared by the sub-commands: settings from the root options, the knowledge base."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer

from agent.settings import DdxSettings, load_settings

if TYPE_CHECKING:
    from retrieval.ddxplus_kb import KnowledgeBase


def settings_from(ctx: typer.Context, **explicit: Any) -> DdxSettings:
    """Settings with the root ``--data-dir`` and the command's own explicit options applied."""
    root = ctx.find_root().obj or {}
    return load_settings(data_dir=root.get("data_dir"), **explicit)


def load_kb(settings: DdxSettings) -> KnowledgeBase:
    from retrieval.ddxplus_kb import load_from_data_dir

    return load_from_data_dir(settings.data_dir)

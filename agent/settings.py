"""Run-time settings, in one place, with one documented order of precedence.

Order: an explicit argument (CLI option or constructor keyword) > the environment (``DDX_*``)
> the default below. An environment variable never overrides an explicit argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import SettingsError


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "ddx"


class DdxSettings(BaseSettings):
    """Settings shared by every command. Environment variables use the prefix ``DDX_``."""

    model_config = SettingsConfigDict(env_prefix="DDX_", extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        description="Folder holding the public datasets (DDX_DATA_DIR); default ./data.",
    )
    state_dir: Path = Field(
        default_factory=_default_state_dir,
        description="Where consultations are saved (SQLite checkpoints) (DDX_STATE_DIR).",
    )
    figshare_api: str = Field(
        default="https://api.figshare.com/v2",
        description="Base URL of the figshare API that serves the official DDXPlus release.",
    )
    max_questions: int = Field(default=10, ge=0, le=200, description="Question budget.")
    confidence_threshold: float = Field(
        default=0.95,
        gt=0.0,
        le=1.0,
        description="Stop asking once the leading diagnosis reaches this probability.",
    )


def load_settings(**explicit: Any) -> DdxSettings:
    """Build settings from explicit values (None means 'not given'), the environment, defaults.

    Raises SettingsError with every invalid field named, instead of a pydantic traceback.
    """
    given = {key: value for key, value in explicit.items() if value is not None}
    try:
        return DdxSettings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}"
            for err in exc.errors()
        )
        raise SettingsError(f"Invalid settings: {problems}") from None

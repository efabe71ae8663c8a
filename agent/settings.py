"""Run-time settings, in one place, with one documented order of precedence.

Order: an explicit argument (CLI option or constructor keyword) > the environment (``DDX_*``)
> the default below. An environment variable never overrides an explicit argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from agent.errors import SettingsError


def _default_state_dir() -> Path:
    return Path.home() / ".local" / "state" / "ddx"


Strategy = Literal["standard", "cot", "fewshot-knn", "hybrid"]
"""The LLM diagnosis strategies (agent/reasoners/llm/diagnosis.py)."""
STRATEGIES: tuple[Strategy, ...] = get_args(Strategy)

MAX_CONSECUTIVE_FAILURES = 5
"""A batch run stops after this many cases failed in a row: a broken backend or setup fails
every case the same way, and trying hundreds more only hides the cause."""
LLM_TIMEOUT_SECONDS = 30.0
"""Seconds one LLM request may take: long enough for 512 tokens from a local server. With its
retries a call gives up after twice this (a hung server is reported within a minute, not after
attempts × timeout = 4 minutes)."""


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
    refinement_rounds: int = Field(
        default=1,
        ge=1,
        le=5,
        description="MEDDxAgent's refinement rounds: the question budget split over them, the "
        "differential refined at each round's end with the previous one fed back (the driver's, "
        "agent/consult/policy.py); 1 = one diagnosis loop, no refinement.",
    )
    confidence_threshold: float = Field(
        default=0.99,
        gt=0.0,
        le=1.0,
        description="Stop diagnostic questions once the leading diagnosis reaches this "
        "probability (the embedded engine then asks only what its differential list needs); "
        "0.99 was chosen on the DDXPlus train/validate samples (BENCHMARKS.md).",
    )
    # LLM roles (issue 3). Backend strings: kb | fake | hf:<dir or hub id>[+<LoRA dir>] |
    # openai:<model>@<base url>; see agent/backend_spec.py. Same order: argument > env > default.
    doctor: str = Field(default="kb", description="History-taking backend (DDX_DOCTOR).")
    diagnoser: str | None = Field(
        default=None, description="Diagnosis backend (DDX_DIAGNOSER); default: the doctor's."
    )
    patient: str = Field(default="kb", description="Simulated patient backend (DDX_PATIENT).")
    judge: str = Field(default="kb", description="Judge backend (DDX_JUDGE).")
    strategy: Strategy = Field(
        default="standard", description="LLM diagnosis strategy (DDX_STRATEGY)."
    )
    llm_timeout: float = Field(
        default=LLM_TIMEOUT_SECONDS,
        gt=0,
        description="Seconds per LLM request (DDX_LLM_TIMEOUT); a call and its retries give up "
        "after twice this.",
    )
    llm_attempts: int = Field(
        default=4, ge=1, le=20, description="Tries on timeouts, dropped connections, 429 and 5xx."
    )
    max_consecutive_failures: int = Field(
        default=MAX_CONSECUTIVE_FAILURES,
        ge=1,
        description="A batch run stops after this many cases failed in a row "
        "(DDX_MAX_CONSECUTIVE_FAILURES).",
    )
    llm_format_retries: int = Field(
        default=2, ge=0, le=10, description="Re-asks after an answer that misses its schema."
    )
    llm_max_tokens: int = Field(default=512, ge=16, description="Tokens per LLM answer.")
    llm_cache_dir: Path | None = Field(
        default=None, description="On-disk LLM call cache; default STATE_DIR/llm_cache."
    )
    openai_api_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("DDX_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="Key for openai: backends; from the environment only, never an argument.",
    )
    # Doctor ranking (issue 6).
    doctor_directory: Path | None = Field(
        default=None,
        description="Doctor directory (.jsonl/.csv) whose doctors the final report recommends "
        "for the leading diagnosis (DDX_DOCTOR_DIRECTORY); unset: no recommendations.",
    )

    # Rare diseases (issue 7).
    cache_dir: Path | None = Field(
        default=None,
        description="Derived data rebuilt when missing, e.g. the compact HPO knowledge base "
        "(DDX_CACHE_DIR); default STATE_DIR/cache.",
    )

    @field_validator("doctor", "diagnoser", "patient", "judge")
    @classmethod
    def _known_backend(cls, value: str | None) -> str | None:
        from agent.backend_spec import parse_backend

        if value is not None:
            try:
                parse_backend(value)
            except SettingsError as exc:
                raise ValueError(str(exc)) from None
        return value

    @property
    def diagnoser_backend(self) -> str:
        return self.diagnoser or self.doctor

    @property
    def llm_cache_folder(self) -> Path:
        return self.llm_cache_dir or self.state_dir / "llm_cache"

    @property
    def cache_folder(self) -> Path:
        return self.cache_dir or self.state_dir / "cache"


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

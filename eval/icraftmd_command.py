"""What ``ddx eval icraftmd`` does once its options are read (kept out of the CLI module)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from agent.errors import DdxError, SettingsError
from agent.executor import select_cases
from agent.llm.factory import role_clients
from agent.settings import DdxSettings
from data.locations import require_existing
from eval.icraftmd import IcraftOutcome, make_config, run_icraftmd
from eval.icraftmd_cases import IcraftSetup, Mode, load_cases, solved_pool

DEFAULT_CASES = Path("icraftmd") / "dev_cases.jsonl"


def run_from_options(
    settings: DdxSettings,
    *,
    cases_path: Path | None,
    out: Path,
    questions: int,
    mode: Mode,
    rounds: int,
    concurrency: int,
    limit: int | None,
    seed: int,
    cache: bool,
    warn: Callable[[str], None],
    index: Path | None = None,
    online: bool = False,
) -> IcraftOutcome:
    """``index``: a user's knowledge index the doctor and the diagnoser read (built with
    ``ddx index build --corpus FILE --out DIR``); ``online``: PubMed and Wikipedia too."""
    from agent.assembly import ConsultOptions, passage_source

    path = require_existing(cases_path or settings.data_dir / DEFAULT_CASES, "iCraft-MD cases")
    loaded = load_cases(path)
    for problem in loaded.problems:
        warn(f"{path.name} {problem} (skipped)")
    if not loaded.cases:
        raise DdxError(f"{path} has no usable iCraft-MD cases.")
    clients = role_clients(settings, cache=cache)
    roles = {"doctor": clients.doctor, "diagnoser": clients.diagnoser, "patient": clients.patient}
    missing = [role for role, client in roles.items() if client is None]
    if missing:
        raise SettingsError(
            f"iCraft-MD cases are free text: the {', '.join(missing)} need an LLM backend "
            "(--doctor / --diagnoser / --patient, e.g. openai:MODEL@URL, hf:DIR or fake), "
            "not kb."
        )
    assert clients.doctor and clients.diagnoser and clients.patient
    options = ConsultOptions(retrieval="on" if index else "off", index=index, online=online)
    retriever = passage_source(settings, options, warn)
    clients.check()
    setup = IcraftSetup(
        doctor=clients.doctor,
        diagnoser=clients.diagnoser,
        patient=clients.patient,
        mode=mode,
        questions=questions,
        rounds=rounds,
        strategy=settings.strategy,
        examples=solved_pool(loaded.cases) if settings.strategy == "fewshot-knn" else None,
        judge=clients.judge,
        retriever=retriever,
        summariser=clients.diagnoser if retriever is not None and options.summarise else None,
    )
    retrieval = [str(index.resolve())] if index else []
    config = make_config(
        path,
        setup,
        limit,
        seed,
        {
            "doctor": clients.doctor.name,
            "diagnoser": clients.diagnoser.name,
            "patient": clients.patient.name,
            "judge": clients.judge.name if clients.judge else "kb",
            "retrieval": "+".join([*retrieval, *(["online"] if online else [])]) or "off",
        },
    )
    return run_icraftmd(
        setup,
        select_cases(loaded.cases, limit, seed),
        config,
        out,
        concurrency=concurrency,
        max_consecutive_failures=settings.max_consecutive_failures,
        warn=warn,
    )

"""Choosing the engine's settings on the train/validate samples, never on the evaluation file.

``python -m eval.ddxplus_tuning SWEEP [--budget 10 --budget 20] [--workers 2]`` runs the
consultation graph (the same as ``ddx eval ddxplus``) on the sample patients of
``DDX_DATA_DIR/ddxplus/train/``, cross-fitted in two folds: a model fitted with the train
samples consults the validate samples, and one fitted with the validate samples consults the
train samples (the split statistics are the whole train split's in both; one patient weighs
1e-6 of them). Figures pool both folds' 1,186 consultations. Sweeps:

=========  ===================================================================================
leak       P(present | c) of a finding never seen with c
values     P(value | c) of a value never seen with c
mc         pseudo-patients of the lower bound in multi-choice values learnt from the samples
policy     question criterion: information gain, gain without multi-choice values, expected
           error reduction, two-step lookahead
stop       confidence threshold x list questions (and their minimum gain)
list       regularisation of the list model; every threshold's list from the list weights
urgent     the urgent threshold's banner rate and recall, from the default run's posteriors
=========  ===================================================================================

The chosen values are the defaults of :mod:`agent.reasoners.ddxplus.fit`,
:mod:`agent.reasoners.ddxplus.recipe` and
:mod:`agent.reasoners.ddxplus.list_questions`; BENCHMARKS.md shows the tables this prints.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from agent.context import embedded_context
from agent.executor import CaseFailure, run_cases
from agent.reasoners.ddxplus.recipe import FitInputs, ListSettings, RecipeSettings, fit_engine_model
from agent.reasoners.ddxplus.roles import QuestionPolicy
from agent.settings import load_settings
from eval.ddxplus_cases import DdxPlusCaseRunner
from eval.ddxplus_tradeoffs import list_frontier, urgent_tradeoff
from eval.metrics import summarize
from eval.schema import CaseResult
from retrieval.ddxplus_kb import KnowledgeBase, load_from_data_dir
from simulator.records import PatientRecord, load_patients

SAMPLES = ("train_sample_patients.csv", "validate_sample_patients.csv")
URGENT_THRESHOLDS = (0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2)


@dataclass(frozen=True)
class Config:
    name: str
    recipe: RecipeSettings = field(default_factory=RecipeSettings)
    policy: QuestionPolicy = field(default_factory=QuestionPolicy)
    list_questions: bool = True
    list_gain: float | None = None
    confidence: float = 0.99


def _fold_model(
    kb: KnowledgeBase, train_dir: Path, fit_on: str, recipe: RecipeSettings, out: Path
) -> Path:
    text = json.dumps(dataclasses.asdict(recipe), sort_keys=True, default=str)
    key = hashlib.sha256(text.encode()).hexdigest()[:12]
    path = out / "models" / f"{fit_on.split('_')[0]}-{key}.npz"
    if not path.is_file():
        inputs = FitInputs(
            stats=train_dir / "train_stats.json",
            profile=train_dir / "train_profile.json",
            patients=[train_dir / fit_on],
        )
        path.parent.mkdir(parents=True, exist_ok=True)
        fit_engine_model(kb, inputs, recipe).save(path)
    return path


def run_config(
    kb: KnowledgeBase,
    train_dir: Path,
    config: Config,
    budget: int | None,
    out: Path,
    workers: int,
) -> list[CaseResult]:
    """Both folds of one configuration at one budget (None: full profile)."""
    from agent.reasoners.ddxplus.list_questions import ListHistoryTaker

    results: list[CaseResult] = []
    for fit_on, consult in (SAMPLES, SAMPLES[::-1]):
        records: list[PatientRecord] = load_patients(kb, train_dir / consult).records
        model = _fold_model(kb, train_dir, fit_on, config.recipe, out)
        context = embedded_context(
            kb, model, policy=config.policy, list_questions=config.list_questions
        )
        if config.list_gain is not None and isinstance(context.list_taker, ListHistoryTaker):
            context.list_taker.min_gain = config.list_gain
        runner = DdxPlusCaseRunner(
            kb,
            records,
            questions=budget or 0,
            full_profile=budget is None,
            confidence_threshold=config.confidence,
            context=context,
        )
        failures: list[CaseFailure] = []
        run_cases(
            runner,
            range(len(records)),
            workers,
            results.append,
            failures.append,
            description=f"{config.name} {budget or 'full'} {consult[:5]}",
        )
        if failures:
            raise RuntimeError(f"{len(failures)} cases failed: {failures[0].error}")
    return results


def _row(config: Config, budget: int | None, cases: list[CaseResult]) -> dict[str, Any]:
    summary = summarize(cases, skipped=0, seconds=0.0)
    return {
        "config": config.name,
        "budget": budget or "full",
        "gtpa@1": round(summary.gtpa_1, 4),
        "gtpa@5": round(summary.gtpa_5, 4),
        "ddf1_list": round(summary.ddf1_list or 0.0, 4),
        "ece": round(summary.ece, 4),
        "urgent@5": summary.urgent_recall_5,
        "questions": round(summary.avg_questions, 2),
    }


def _sweep_configs(sweep: str) -> list[Config]:
    base = RecipeSettings()
    fit = base.fit
    if sweep == "leak":
        return [
            Config(f"leak={v:g}", replace(base, fit=replace(fit, leak=v)))
            for v in (1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 1e-2)
        ]
    if sweep == "values":
        return [
            Config(f"value_leak={v:g}", replace(base, fit=replace(fit, value_leak=v)))
            for v in (1e-4, 1e-3, 1e-2)
        ]
    if sweep == "mc":
        loo = Config(
            "mc_strength by leave-one-out",
            replace(base, fit=replace(fit, multi_choice_strength=None)),
        )
        return [loo] + [
            Config(f"mc_strength={v:g}", replace(base, fit=replace(fit, multi_choice_strength=v)))
            for v in (0.5, 2.0, 8.0, 32.0)
        ]
    if sweep == "policy":
        return [
            Config("information gain"),
            Config(
                "gain, multi-choice by presence only",
                policy=QuestionPolicy(multi_choice_values=False),
            ),
            Config("expected error reduction", policy=QuestionPolicy(criterion="error")),
            Config("two-step lookahead (top 3)", policy=QuestionPolicy(lookahead=3)),
            Config(
                "two-step lookahead (top 3, follow-ups among the top 12)",
                policy=QuestionPolicy(lookahead=3, follow_ups=12),
            ),
        ]
    if sweep == "stop":
        configs = [
            Config(f"confidence {c:g}, no list questions", list_questions=False, confidence=c)
            for c in (0.95, 0.99, 0.999, 1.0)
        ]
        configs += [
            Config(f"confidence {c:g}, list questions (gain >= 0.03)", confidence=c)
            for c in (0.95, 0.99, 0.999)
        ]
        configs += [
            Config(f"confidence 0.99, list gain >= {g:g}", list_gain=g) for g in (0.01, 0.1)
        ]
        return configs
    if sweep == "list":
        return [
            Config(f"list C={c:g}", replace(base, list=ListSettings(regularisation=c)))
            for c in (0.1, 0.3, 1.0, 3.0)
        ]
    if sweep == "urgent":
        return [Config("default")]
    raise SystemExit(f"unknown sweep {sweep!r}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sweep")
    parser.add_argument("--budget", action="append", default=[], help="10, 20 or full")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("runs/tuning"))
    args = parser.parse_args(argv)
    settings = load_settings()
    kb = load_from_data_dir(settings.data_dir)
    train_dir = settings.data_dir / "ddxplus" / "train"
    budgets: list[int | None] = [
        None if b == "full" else int(b) for b in args.budget or ["10", "20"]
    ]
    rows: list[dict[str, Any]] = []
    extra: dict[str, Any] = {}
    for config in _sweep_configs(args.sweep):
        for budget in budgets:
            cases = run_config(kb, train_dir, config, budget, args.out, args.workers)
            rows.append(_row(config, budget, cases))
            print(json.dumps(rows[-1]), flush=True)
            key = f"{config.name} {budget or 'full'}"
            if args.sweep == "list":
                extra[key] = [dataclasses.asdict(p) for p in list_frontier(cases)]
            if args.sweep == "urgent":
                severity = {n: c.severity for n, c in kb.conditions.items()}
                extra[key] = [
                    dataclasses.asdict(p)
                    for p in urgent_tradeoff(cases, severity, URGENT_THRESHOLDS)
                ]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{args.sweep}.json").write_text(
        json.dumps({"rows": rows, "extra": extra}, indent=1)
    )
    _print_table(rows)
    for key, points in extra.items():
        print(f"\n{key}")
        for point in points:
            print(
                "  "
                + ", ".join(
                    f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in point.items()
                )
            )


def _print_table(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    keys = list(rows[0])
    print("| " + " | ".join(keys) + " |")
    print("|" + "---|" * len(keys))
    for row in rows:
        print("| " + " | ".join(str(row[k]) for k in keys) + " |")


if __name__ == "__main__":
    main()

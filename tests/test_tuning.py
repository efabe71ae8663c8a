"""The trade-off helpers (eval/ddxplus_tradeoffs.py) and the tuning harness
(eval/ddxplus_tuning.py): thresholds swept over finished cases, sweeps that hold the chosen
defaults, and the cross-fitted folds run for real on the mini knowledge base."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agent.context import embedded_context
from agent.reasoners.ddxplus.fit import FitSettings
from agent.reasoners.ddxplus.recipe import ListSettings, RecipeSettings
from agent.trace import DifferentialSnapshot
from eval import ddxplus_tuning
from eval.ddxplus_tradeoffs import (
    list_at,
    list_frontier,
    posterior_frontier,
    urgent_tradeoff,
)
from eval.ddxplus_tuning import Config, _fold_model, _row, _sweep_configs, run_config
from eval.schema import CaseResult
from retrieval.ddxplus_kb import KnowledgeBase
from tests.factories import make_case
from tests.test_engine_fit import PROFILE, STATS

NAMES = ("A", "B", "C", "D", "E")


def random_cases(seed: int, n: int = 30) -> list[CaseResult]:
    """Cases with random posteriors, list weights and reference differentials."""
    rng = np.random.default_rng(seed)
    cases = []
    for i in range(n):
        posterior = rng.dirichlet(np.ones(len(NAMES)))
        order = np.argsort(-posterior)
        reference = [(NAMES[j], 0.2) for j in rng.choice(5, size=rng.integers(1, 5), replace=False)]
        weights = sorted(
            (
                (name, round(float(w), 4))
                for name, w in zip(NAMES, rng.uniform(size=5), strict=True)
            ),
            key=lambda item: -item[1],
        )
        cases.append(
            make_case(
                NAMES[order[0]],
                case_id=f"c{i}",
                differential=[(NAMES[j], float(posterior[j])) for j in order],
                reference=reference,
                list_weights=weights,
            )
        )
    return cases


# -- trade-offs --------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(3))
def test_a_lower_list_threshold_lists_more_and_recalls_more(seed: int) -> None:
    points = list_frontier(random_cases(seed), thresholds=(0.1, 0.3, 0.5, 0.7, 0.9))
    sizes = [p.size for p in points]
    recalls = [p.ddr for p in points]
    assert sizes == sorted(sizes, reverse=True) and sizes[0] > sizes[-1]
    assert recalls == sorted(recalls, reverse=True)
    assert all(0.0 <= p.ddp <= 1.0 and 0.0 <= p.ddf1 <= 1.0 for p in points)
    assert min(sizes) >= 1.0  # the leader always stays


@pytest.mark.parametrize("seed", range(3))
def test_a_higher_posterior_threshold_keeps_fewer_conditions(seed: int) -> None:
    points = posterior_frontier(random_cases(seed), thresholds=(0.01, 0.1, 0.3))
    assert [p.size for p in points] == sorted((p.size for p in points), reverse=True)
    assert [p.ddr for p in points] == sorted((p.ddr for p in points), reverse=True)


def test_cases_without_a_reference_or_weights_are_not_scored() -> None:
    scored = make_case("A", reference=[("A", 1.0)], list_weights=[("A", 0.9)])
    no_reference = make_case("A", list_weights=[("A", 0.9), ("B", 0.9), ("C", 0.9)])
    no_weights = make_case("A", reference=[("A", 0.5), ("B", 0.5)])
    (point,) = list_frontier([scored, no_reference, no_weights], thresholds=(0.5,))
    assert (point.size, point.ddf1) == (1.0, 1.0)
    assert list_frontier([no_reference, no_weights]) == []
    assert list_at(make_case("A", differential=[]), 0.5) == []  # no leader to add


def test_the_intake_banner_is_read_at_the_first_snapshot() -> None:
    severity = {"Flu": 4, "Embolism": 2}
    case = make_case("Flu", severity=4, differential=[("Flu", 0.99), ("Embolism", 0.01)])
    case = case.model_copy(
        update={
            "steps": [
                DifferentialSnapshot(questions=3, top=[("Flu", 0.9), ("Embolism", 0.1)]),
                DifferentialSnapshot(questions=0, top=[("Embolism", 0.6), ("Flu", 0.4)]),
            ]
        }
    )
    (point,) = urgent_tradeoff([case], severity, (0.05,))
    assert point.intake_banner_rate == 1.0  # at question 0 Embolism was 60 %
    assert point.banner_rate == 0.0  # at the end it is 1 %
    assert point.recall == 0.0  # no severe truth: nothing to recall


def test_the_banner_and_its_recall_fall_as_the_threshold_rises() -> None:
    severity = {"Flu": 4, "Embolism": 2, "Croup": 2}
    cases = [
        make_case("Flu", severity=4, differential=[("Flu", 0.9), ("Embolism", 0.08)]),
        make_case("Flu", severity=4, differential=[("Flu", 0.7), ("Croup", 0.3)]),
        make_case("Embolism", severity=2, differential=[("Flu", 0.85), ("Embolism", 0.15)]),
        make_case("Croup", severity=2, differential=[("Croup", 0.95)]),
    ]
    points = urgent_tradeoff(cases, severity, (0.05, 0.1, 0.2, 0.5))
    assert [p.banner_rate for p in points] == [1.0, 0.5, 0.5, 0.0]
    assert [p.recall for p in points] == [1.0, 1.0, 0.5, 0.5]


# -- the tuning harness ------------------------------------------------------------------------


@pytest.mark.parametrize("sweep", ["leak", "values", "mc", "policy", "stop", "list", "urgent"])
def test_every_sweep_names_distinct_configurations(sweep: str) -> None:
    configs = _sweep_configs(sweep)
    assert configs and len({c.name for c in configs}) == len(configs)


def test_an_unknown_sweep_is_refused_in_one_line() -> None:
    with pytest.raises(SystemExit, match="unknown sweep 'leek'"):
        _sweep_configs("leek")


def test_the_chosen_defaults_are_among_the_swept_values() -> None:
    """The module says its chosen values are the defaults: each default was a candidate."""
    fit, lists = FitSettings(), ListSettings()
    assert fit.leak in [c.recipe.fit.leak for c in _sweep_configs("leak")]
    assert fit.value_leak in [c.recipe.fit.value_leak for c in _sweep_configs("values")]
    strengths = [c.recipe.fit.multi_choice_strength for c in _sweep_configs("mc")]
    assert fit.multi_choice_strength in strengths
    assert lists.regularisation in [c.recipe.list.regularisation for c in _sweep_configs("list")]


def test_a_row_summarises_one_configuration() -> None:
    cases = [make_case("A"), make_case("B", truth_rank=2, case_id="d")]
    row = _row(Config("x"), None, cases)
    assert (row["config"], row["budget"], row["gtpa@1"]) == ("x", "full", 0.5)
    assert _row(Config("x"), 10, cases)["budget"] == 10


def test_a_fold_model_is_fitted_once_per_recipe_and_on_its_own_sample(
    mini_kb: KnowledgeBase, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: list[list[Path]] = []

    class Fitted:
        def save(self, path: Path) -> None:
            path.write_bytes(b"model")

    def fake_fit(kb: KnowledgeBase, inputs: Any, recipe: RecipeSettings) -> Fitted:
        fitted.append(list(inputs.patients))
        return Fitted()

    monkeypatch.setattr(ddxplus_tuning, "fit_engine_model", fake_fit)
    base = RecipeSettings()
    first = _fold_model(mini_kb, tmp_path, "train_sample_patients.csv", base, tmp_path)
    again = _fold_model(mini_kb, tmp_path, "train_sample_patients.csv", base, tmp_path)
    other = RecipeSettings(fit=FitSettings(leak=1e-4))
    leaky = _fold_model(mini_kb, tmp_path, "train_sample_patients.csv", other, tmp_path)
    validate = _fold_model(mini_kb, tmp_path, "validate_sample_patients.csv", base, tmp_path)
    assert first == again and len({first, leaky, validate}) == 3
    assert first.name.startswith("train-") and validate.name.startswith("validate-")
    assert fitted == [
        [tmp_path / "train_sample_patients.csv"],
        [tmp_path / "train_sample_patients.csv"],
        [tmp_path / "validate_sample_patients.csv"],
    ]


@pytest.fixture
def mini_train_dir(tmp_path: Path, mini_patients_csv: Path) -> Path:
    """A train folder for the mini knowledge base: statistics, a profile and two sample files
    (3 and 2 of the fixture's good patients)."""
    folder = tmp_path / "train"
    folder.mkdir()
    (folder / "train_stats.json").write_text(json.dumps(STATS))
    (folder / "train_profile.json").write_text(json.dumps(PROFILE))
    header, *rows = mini_patients_csv.read_text().splitlines()[:5]
    (folder / "train_sample_patients.csv").write_text("\n".join([header, *rows[:3]]) + "\n")
    (folder / "validate_sample_patients.csv").write_text("\n".join([header, *rows[2:]]) + "\n")
    return folder


def test_each_fold_consults_the_patients_its_model_never_saw(
    mini_kb: KnowledgeBase, mini_train_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    used: list[str] = []

    def recording_context(kb: KnowledgeBase, model: Path, **kwargs: Any) -> Any:
        used.append(model.name.split("-")[0])
        return embedded_context(kb, model, **kwargs)

    monkeypatch.setattr(ddxplus_tuning, "embedded_context", recording_context)
    results = run_config(mini_kb, mini_train_dir, Config("default"), 3, tmp_path / "out", 1)
    assert used == ["train", "validate"]
    files = [r.case_id.split(":")[0] for r in results]
    assert files == ["validate_sample_patients.csv"] * 2 + ["train_sample_patients.csv"] * 3
    assert all(r.questions_asked <= 3 for r in results)
    assert {r.pathology for r in results} == {"Flu", "Pneumonia", "Migraine", "Measles"}

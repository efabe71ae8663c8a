"""The DDXPlus benchmark harness on the mini fixture: files written, resuming after a kill,
refusing other settings, full profile, parallel workers, case selection, and `ddx eval report`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from agent.cli import app
from agent.errors import DdxError
from eval.ddxplus_bench import DdxPlusOutcome, DdxPlusRequest, run_ddxplus
from eval.schema import CaseResult
from retrieval.ddxplus_kb import KnowledgeBase

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SUMMARY_KEYS = {
    "n",
    "skipped",
    "gtpa@1",
    "gtpa@3",
    "gtpa@5",
    "gtpa@10",
    "avg_rank",
    "ddr",
    "ddp",
    "ddf1",
    "avg_questions",
    "ece",
    "urgent_recall@5",
    "seconds",
}
MINI_CASES = {
    "patients.csv:2": "Flu",
    "patients.csv:3": "Pneumonia",
    "patients.csv:4": "Migraine",
    "patients.csv:5": "Measles",
}


def run(
    kb: KnowledgeBase, patients: Path, out: Path, warnings: list[str] | None = None, **options: Any
) -> DdxPlusOutcome:
    request = DdxPlusRequest(patients=patients, out=out, **options)
    return run_ddxplus(kb, request, warn=(warnings if warnings is not None else []).append)


def case_lines(out: Path) -> list[str]:
    return (out / "cases.jsonl").read_text(encoding="utf-8").splitlines()


def cases_of(out: Path) -> list[CaseResult]:
    return [CaseResult.model_validate_json(line) for line in case_lines(out)]


def outcome_key(cases: list[CaseResult]) -> list[tuple[str, int, int, list[str]]]:
    """What must not depend on how a run was executed: id, truth rank, questions asked."""
    return sorted(
        (c.case_id, c.truth_rank, c.questions_asked, [t.code for t in c.transcript]) for c in cases
    )


def test_run_writes_one_line_per_usable_case_and_the_summary(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    warnings: list[str] = []

    outcome = run(mini_kb, mini_patients_csv, out, warnings, questions=3)

    assert outcome.failures == [] and outcome.newly_run == 4
    cases = cases_of(out)
    assert {c.case_id: c.pathology for c in cases} == MINI_CASES
    assert len(cases) == len(MINI_CASES)
    assert all(0 <= c.questions_asked <= 3 for c in cases)
    assert all(len(c.transcript) == c.questions_asked for c in cases)
    assert all(c.steps and c.steps[0].questions == 0 for c in cases)
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert set(summary) >= SUMMARY_KEYS
    assert summary["n"] == 4
    assert summary["skipped"] == 4
    assert 0.0 <= summary["gtpa@1"] <= summary["gtpa@3"] <= summary["gtpa@10"] <= 1.0
    assert summary["avg_questions"] == pytest.approx(sum(c.questions_asked for c in cases) / 4)
    assert outcome.summary.n == 4
    skipped_lines = [w for w in warnings if "skipped:" in w]
    assert [w.split(" skipped:")[0] for w in skipped_lines] == [
        f"patients.csv line {n}" for n in (6, 7, 8, 9)
    ]
    config = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert config["questions"] == 3 and config["model"] == "structural"


def test_resume_after_a_kill_runs_only_the_missing_case(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    run(mini_kb, mini_patients_csv, out, questions=3)
    lines = case_lines(out)
    lost = lines.pop(1)
    lost_id = CaseResult.model_validate_json(lost).case_id
    # A kill: one case never written, the one in flight written only in part.
    (out / "cases.jsonl").write_text(
        "".join(line + "\n" for line in lines) + lost[: len(lost) // 2], encoding="utf-8"
    )

    outcome = run(mini_kb, mini_patients_csv, out, questions=3)

    assert outcome.newly_run == 1 and outcome.failures == []
    after = case_lines(out)
    assert after[:3] == lines, "finished cases are kept as they were"
    ids = [CaseResult.model_validate_json(line).case_id for line in after]
    assert ids[3] == lost_id
    assert sorted(ids) == sorted(MINI_CASES), "no case lost or duplicated"
    assert (out / "cases.jsonl").read_text(encoding="utf-8").endswith("\n")
    assert outcome.summary.n == 4

    again = run(mini_kb, mini_patients_csv, out, questions=3)
    assert again.newly_run == 0
    assert case_lines(out) == after


def test_other_settings_on_the_same_out_are_refused(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    run(mini_kb, mini_patients_csv, out, questions=3)
    before = (out / "cases.jsonl").read_bytes(), (out / "run.json").read_bytes()

    with pytest.raises(DdxError) as refused:
        run(mini_kb, mini_patients_csv, out, questions=5)

    message = str(refused.value)
    assert "questions: 3 → 5" in message
    assert "another --out" in message
    assert ((out / "cases.jsonl").read_bytes(), (out / "run.json").read_bytes()) == before


def test_full_profile_asks_nothing(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"

    outcome = run(mini_kb, mini_patients_csv, out, questions=3, full_profile=True)

    cases = cases_of(out)
    assert len(cases) == 4
    assert all(c.questions_asked == 0 and c.transcript == [] for c in cases)
    assert {c.stop_reason for c in cases} == {"question budget reached"}
    assert outcome.summary.avg_questions == 0.0
    assert outcome.summary.full_profile is True
    # Knowing every answer, the engine ranks each mini patient's condition first.
    assert [c.truth_rank for c in cases] == [1, 1, 1, 1]


def test_two_workers_give_the_same_cases_as_one(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    one = run(mini_kb, mini_patients_csv, tmp_path / "one", questions=3, workers=1)
    two = run(mini_kb, mini_patients_csv, tmp_path / "two", questions=3, workers=2)

    assert one.failures == two.failures == []
    assert outcome_key(cases_of(tmp_path / "two")) == outcome_key(cases_of(tmp_path / "one"))
    assert len(cases_of(tmp_path / "two")) == 4
    assert two.summary.gtpa_1 == one.summary.gtpa_1


def test_limit_with_a_seed_picks_the_same_cases_every_time(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    first = run(mini_kb, mini_patients_csv, tmp_path / "a", questions=2, limit=2, seed=3)
    second = run(mini_kb, mini_patients_csv, tmp_path / "b", questions=2, limit=2, seed=3)

    ids = [c.case_id for c in cases_of(tmp_path / "a")]
    assert len(ids) == 2 and set(ids) <= set(MINI_CASES)
    assert [c.case_id for c in cases_of(tmp_path / "b")] == ids
    assert first.summary.n == second.summary.n == 2


def test_a_missing_model_is_the_same_clear_error_with_two_workers(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    missing = tmp_path / "missing.npz"
    with pytest.raises(DdxError, match="ddx kb fit"):
        run(mini_kb, mini_patients_csv, tmp_path / "one", model_path=missing, workers=1)

    with pytest.raises(DdxError, match="ddx kb fit"):
        run(mini_kb, mini_patients_csv, tmp_path / "two", model_path=missing, workers=2)


def test_a_mistyped_model_does_not_lock_the_run_folder(
    mini_kb: KnowledgeBase, mini_patients_csv: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    with pytest.raises(DdxError, match="ddx kb fit"):
        run(mini_kb, mini_patients_csv, out, model_path=tmp_path / "typo.npz")

    outcome = run(mini_kb, mini_patients_csv, out)

    assert outcome.summary.n == 4


# -- through the command line -----------------------------------------------------------------


def ddx(monkeypatch: pytest.MonkeyPatch, *args: str | Path) -> Result:
    for name in ("DDX_DATA_DIR", "DDX_CONFIDENCE_THRESHOLD", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return CliRunner().invoke(app, [str(a) for a in args])


def test_eval_report_prints_both_runs_and_writes_the_plot(
    monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    for name, budget in (("budget0", "0"), ("budget3", "3")):
        result = ddx(
            monkeypatch,
            "--data-dir",
            mini_data_dir,
            "eval",
            "ddxplus",
            "--patients",
            mini_patients_csv,
            "--out",
            tmp_path / name,
            "--questions",
            budget,
        )
        assert result.exit_code == 0, result.output
        assert "wrote" in result.output
    plot = tmp_path / "plots" / "x.png"

    result = ddx(
        monkeypatch, "eval", "report", tmp_path / "budget0", tmp_path / "budget3", "--plot", plot
    )

    assert result.exit_code == 0, result.output
    header = next(line for line in result.output.splitlines() if "metric" in line)
    assert "budget0" in header and "budget3" in header
    assert "gtpa@1" in result.output
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
    assert f"wrote {plot}" in result.output


def test_eval_ddxplus_refusal_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    common = ("--data-dir", mini_data_dir, "eval", "ddxplus", "--patients", mini_patients_csv)
    first = ddx(monkeypatch, *common, "--out", tmp_path / "run", "--questions", "2")
    assert first.exit_code == 0, first.output

    second = ddx(monkeypatch, *common, "--out", tmp_path / "run", "--questions", "4")

    assert isinstance(second.exception, DdxError)
    assert "questions: 2 → 4" in str(second.exception)


class _WarmCounter:
    """A runner that reports, from each worker, whether the parent warmed it up first."""

    def __init__(self) -> None:
        self.warmed = 0

    def warm_up(self) -> None:
        self.warmed += 1

    def run(self, index: int) -> tuple[int, int]:
        return index, self.warmed


def test_a_runner_is_warmed_up_once_in_the_parent_before_the_workers_fork() -> None:
    from agent.executor import run_cases

    runner = _WarmCounter()
    results: list[tuple[int, int]] = []
    run_cases(runner, list(range(10)), 2, results.append, lambda f: None, chunk_size=2)
    assert runner.warmed == 1
    assert sorted(results) == [(i, 1) for i in range(10)]  # every worker inherited it

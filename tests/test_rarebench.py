"""RareBench: records, the phenotype patient, the case generator, matching, the run, the CLI."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from agent.consult.session import Answer, ConsultationSession
from agent.errors import DataFormatError, DdxError, MissingDataError
from agent.reasoners.hpo.context import hpo_context
from agent.state import CaseIntake
from eval.metrics import summarize
from eval.rarebench import RareBenchRequest, run_rarebench
from eval.rarebench_matching import DiseaseMatcher, name_keys
from eval.rarebench_schema import PhenotypeCaseResult, summarize_rarebench
from eval.report import LoadedRun, load_run, summary_rows
from retrieval.hpo_kb import HpoKnowledgeBase
from simulator.phenotype_generator import GeneratorSettings, PhenotypeCaseGenerator
from simulator.phenotype_patient import PhenotypePatient
from simulator.phenotype_records import (
    PhenotypeRecord,
    load_phenotype_records,
    opening_terms,
    write_phenotype_records,
)
from tests.factories import make_case


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


# -- the phenotype patient ---------------------------------------------------------------------


def test_patient_says_yes_to_the_term_and_its_ancestors_only(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    patient = PhenotypePatient(mini_hpo_kb, ["HP:0007359", "HP:9999999"])
    assert patient.terms == ["HP:0007359"]  # unknown ids are ignored
    assert patient.answer("HP:0007359")
    assert patient.answer("HP:0001250")  # Seizure: a descendant is the patient's term
    assert patient.answer("HP:0000707")
    assert patient.answer("HP:0001251") is None  # Ataxia: not in the record, so unknown
    assert patient.answer("HP:0000252") is None
    general = PhenotypePatient(mini_hpo_kb, ["HP:0001250"])
    assert general.answer("HP:0007359") is None  # more specific than what the record says
    assert PhenotypePatient(mini_hpo_kb, ["HP:0002279"]).answer("HP:0001250")  # alt id
    complete = PhenotypePatient(mini_hpo_kb, ["HP:0007359"], unmentioned="absent")
    assert complete.answer("HP:0001251") is False  # a record complete by construction


def test_only_the_records_excluded_terms_are_a_no(mini_hpo_kb: HpoKnowledgeBase) -> None:
    patient = PhenotypePatient(
        mini_hpo_kb, ["HP:0001166"], excluded=["HP:0001250", "HP:0001166", "HP:9999999"]
    )
    assert patient.excluded == ["HP:0001250"]  # an observed term is never also excluded
    assert patient.answer("HP:0001250") is False
    assert patient.answer("HP:0007359") is False  # below an excluded term: absent too
    assert patient.answer("HP:0000707") is None  # above it: the record does not say
    assert patient.answer("HP:0001166") is True
    assert patient.full_profile() == {"HP:0001166": True, "HP:0001250": False}
    assert patient.full_profile(with_excluded=False) == {"HP:0001166": True}


# -- the case generator ------------------------------------------------------------------------


def test_generator_is_reproducible_and_draws_from_the_annotations(
    mini_hpo_kb: HpoKnowledgeBase,
) -> None:
    kb = mini_hpo_kb
    exact = GeneratorSettings(imprecision=0.0, noise=0.0, min_terms=2, seed=3)
    cases = list(PhenotypeCaseGenerator(kb, exact).generate(20))
    assert cases == list(PhenotypeCaseGenerator(kb, exact).generate(20))
    for case in cases:
        d = kb.disease_index(case.diseases[0])
        assert d is not None and case.diseases == [kb.disease_ids[d]]
        annotated = {kb.term_ids[t] for t in kb.disease_terms(d)[0]}
        assert set(case.phenotype) <= annotated
        assert len(case.phenotype) >= 2
    noisy = GeneratorSettings(imprecision=1.0, noise=1.0, min_terms=2, seed=3)
    for case in PhenotypeCaseGenerator(kb, noisy).generate(20):
        d = kb.disease_index(case.diseases[0])
        assert d is not None
        own = {int(a) for t in kb.disease_terms(d)[0] for a in kb.ancestors_of(int(t))}
        foreign = [t for t in case.phenotype if kb.term_index(t) not in own]
        assert foreign  # noise: at least one term unrelated to the disease


# -- records -----------------------------------------------------------------------------------


def test_records_load_skip_bad_lines_and_round_trip(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "cases.jsonl",
        [
            {"Phenotype": ["HP:0001250"], "RareDisease": ["OMIM:100001"], "Department": "x"},
            "{not json",
            {"Phenotype": [], "RareDisease": ["OMIM:1"]},
            [1, 2],
            {"id": 7, "Phenotype": ["HP:0001166"], "RareDisease": ["ORPHA:1002"]},
        ],
    )
    loaded = load_phenotype_records(path)
    assert [r.case_id for r in loaded.records] == ["cases.jsonl:1", "7"]
    assert [line for line, _ in loaded.skipped] == [2, 3, 4]
    out = tmp_path / "copy.jsonl"
    write_phenotype_records(out, loaded.records)
    assert load_phenotype_records(out).records == loaded.records
    with pytest.raises(DataFormatError, match="no usable"):
        load_phenotype_records(write_jsonl(tmp_path / "bad.jsonl", ["{}"]))


def test_opening_is_the_first_fifth_and_at_least_one_term() -> None:
    terms = [f"HP:{i:07d}" for i in range(12)]
    assert opening_terms(terms) == terms[:2]
    assert opening_terms(terms[:3]) == terms[:1]
    shuffled = opening_terms(terms, shuffle_key="0:case-1")
    assert shuffled == opening_terms(terms, shuffle_key="0:case-1")  # reproducible
    assert len(shuffled) == 2 and set(shuffled) <= set(terms)
    openings = {tuple(opening_terms(terms, shuffle_key=f"0:case-{i}")) for i in range(20)}
    assert len(openings) > 10  # the curators' order no longer decides the opening


# -- matching ----------------------------------------------------------------------------------


def test_match_by_id_cross_reference_and_name(mini_hpo_kb: HpoKnowledgeBase) -> None:
    kb = mini_hpo_kb
    alpha, beta, gamma = (kb.disease_index(i) for i in ("OMIM:100001", "OMIM:100002", "ORPHA:1002"))
    assert alpha is not None and beta is not None and gamma is not None
    mapping = {
        "CCRD:5": "Gamma syndrome/Gamma disease, type 2",
        "OMIM:777": "BETA DISEASE",
    }
    matcher = DiseaseMatcher(kb, mapping)
    order = [beta, gamma, alpha]
    assert matcher.rank(order, ["OMIM:100001"]) == (3, "id")
    assert matcher.rank(order, ["ORPHA:1001"]) == (3, "xref")
    assert matcher.rank(order, ["CCRD:5"]) == (2, "name")  # an alternative name
    assert matcher.rank(order, ["OMIM:777"]) == (1, "name")  # case and spacing ignored
    assert matcher.rank(order, ["OMIM:424242"]) == (None, None)
    assert matcher.rank([beta], ["ORPHA:1002"]) == (None, None)  # known but not ranked
    assert "ab" not in name_keys("A/B syndrome")  # fragments too short to be names


def test_summary_has_the_benchmark_keys() -> None:
    def case(rank: int | None, questions: int) -> PhenotypeCaseResult:
        return PhenotypeCaseResult(
            case_id=str(rank),
            truth=["OMIM:1"],
            opening=["HP:0000001"],
            questions_asked=questions,
            stop_reason="question budget reached",
            transcript=[],
            differential=[],
            truth_rank=rank,
            matched_by="id" if rank else None,
            steps=[],
            seconds=0.1,
        )

    summary = summarize_rarebench(
        [case(1, 2), case(3, 4), case(20, 6), case(None, 8)],
        skipped=1,
        seconds=2.0,
        n_diseases=100,
        questions_budget=10,
        full_profile=False,
        label="x",
    )
    data = summary.model_dump(by_alias=True)
    for key in ("n", "gtpa@1", "gtpa@3", "gtpa@10", "median_rank", "avg_questions", "seconds"):
        assert key in data
    assert (summary.n, summary.gtpa_1, summary.gtpa_3, summary.gtpa_10) == (4, 0.25, 0.5, 0.5)
    assert summary.median_rank == 11.5  # ranks 1, 3, 20, 101
    assert summary.avg_questions == 5.0 and summary.unranked == 1


# -- through the graph -------------------------------------------------------------------------


def test_consultation_over_the_hpo_knowledge_base(mini_hpo_kb: HpoKnowledgeBase) -> None:
    from langgraph.checkpoint.memory import InMemorySaver

    from agent.consult.graph import compile_graph

    session = ConsultationSession(compile_graph(InMemorySaver()), hpo_context(mini_hpo_kb))
    with pytest.raises(DdxError, match="Unknown"):
        session.start("bad", CaseIntake(findings={"E_91": True}))
    turn = session.start("t", CaseIntake(findings={"HP:0001251": True}, max_questions=3))
    assert turn.question is not None and turn.question.kind == "M"  # the review of systems
    turn = session.answer("t", Answer.of_text("eyes, maybe"))
    assert turn.question is not None and turn.question.error
    turn = session.answer("t", Answer.of_text("nervous system, 2"))
    assert turn.question is not None and turn.question.kind == "B"
    turn = session.answer("t", Answer.of_text("maybe"))
    assert turn.question is not None and turn.question.error
    turn = session.answer("t", Answer.of_text("yes"))
    while turn.question is not None:
        turn = session.answer("t", Answer.of_text("no"))
    report = turn.report
    assert report is not None and report.questions_asked == 3
    assert report.transcript[0].answer.startswith("Affected: ")
    assert report.transcript[1].answer == "Yes." and report.transcript[1].present is True
    assert report.transcript[1].question.startswith("Does the patient have")
    assert report.urgent == []
    assert report.explanations and report.explanations[0].raised_by


def test_run_writes_summary_resumes_and_refuses_other_settings(
    mini_hpo_kb: HpoKnowledgeBase, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.jsonl"
    write_phenotype_records(
        cases,
        [
            PhenotypeRecord(
                case_id="a", phenotype=["HP:0007359", "HP:0000252"], diseases=["ORPHA:1001"]
            ),
            PhenotypeRecord(
                case_id="b", phenotype=["HP:0001166", "HP:0001251"], diseases=["ORPHA:1002"]
            ),
            PhenotypeRecord(case_id="c", phenotype=["HP:9999999"], diseases=["OMIM:100002"]),
        ],
    )
    warnings: list[str] = []
    out = tmp_path / "run"
    request = RareBenchRequest(cases=cases, out=out, full_profile=True)
    outcome = run_rarebench(mini_hpo_kb, request, warnings.append)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 2 and summary["skipped"] == 1
    assert summary["gtpa@1"] == 1.0 and summary["avg_questions"] == 0
    assert any("no HPO term" in w for w in warnings)
    assert outcome.newly_run == 2
    again = run_rarebench(mini_hpo_kb, request, warnings.append)
    assert again.newly_run == 0 and again.summary.n == 2
    with pytest.raises(DdxError, match="other settings"):
        run_rarebench(
            mini_hpo_kb,
            RareBenchRequest(cases=cases, out=out, full_profile=False, questions=3),
            warnings.append,
        )


def test_eval_report_reads_a_rarebench_run_beside_a_ddxplus_one(
    mini_hpo_kb: HpoKnowledgeBase, tmp_path: Path
) -> None:
    cases = tmp_path / "cases.jsonl"
    record = PhenotypeRecord(case_id="a", phenotype=["HP:0001166"], diseases=["ORPHA:1002"])
    write_phenotype_records(cases, [record])
    out = tmp_path / "rare"
    request = RareBenchRequest(cases=cases, out=out, questions=2)
    written = run_rarebench(mini_hpo_kb, request, lambda _: None).summary

    rare = load_run(out)
    assert rare.summary == written and rare.cases == [] and rare.budget == 2
    ddxplus = LoadedRun(
        label="ddx", summary=summarize([make_case("Flu", 1)], 0, 1.0), cases=[], budget=0
    )
    rows = dict(summary_rows([ddxplus, rare]))
    assert rows["gtpa@1"] == ["1.000", f"{written.gtpa_1:.3f}"]
    assert rows["ddr"][1] == "—" and rows["median_rank"][0] == "—"
    assert "label" not in rows

    result = CliRunner().invoke(app, ["eval", "report", str(out), "--plot", str(tmp_path / "p")])
    assert result.exit_code == 0, result.output
    assert "gtpa@10" in result.output and "no accuracy plot" in result.output
    assert not (tmp_path / "p").exists()

    (out / "summary.json").unlink()
    with pytest.raises(MissingDataError, match="no summary"):
        load_run(out)
    other = tmp_path / "retrieval"
    other.mkdir()
    (other / "run.json").write_text('{"benchmark": "retrieval"}')
    (other / "summary.json").write_text('{"ndcg@10": 0.5}')
    with pytest.raises(DataFormatError, match="retrieval results"):
        load_run(other)


def test_cli_generates_cases_and_runs_the_benchmark(
    real_hpo_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDX_CACHE_DIR", str(real_hpo_cache))
    monkeypatch.delenv("DDX_DATA_DIR", raising=False)
    runner = CliRunner()
    cases = tmp_path / "sim.jsonl"
    made = runner.invoke(app, ["data", "rarebench-sim", "--out", str(cases), "--count", "12"])
    assert made.exit_code == 0, made.output
    assert len(cases.read_text().splitlines()) == 12
    out = tmp_path / "run"
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"OMIM:154700": "Marfan syndrome"}))
    args = ["eval", "rarebench", "--cases", str(cases), "--out", str(out), "--questions", "3"]
    ran = runner.invoke(app, [*args, "--mapping", str(mapping)])
    assert ran.exit_code == 0, ran.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n"] == 12 and 0 < summary["avg_questions"] <= 3
    missing = runner.invoke(app, ["eval", "rarebench", "--cases", "nope.jsonl", "--out", str(out)])
    assert missing.exit_code != 0


def test_chat_over_hpo_with_typed_phenotypes(
    real_hpo_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDX_CACHE_DIR", str(real_hpo_cache))
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    report = tmp_path / "report.md"
    args = ["chat", "--kb", "hpo", "--say", "HP:0001166, HP:0001083, no HP:0001250"]
    result = CliRunner().invoke(
        app, [*args, "--questions", "3", "--markdown", str(report)], input="eye\nno\nno\n"
    )
    assert result.exit_code == 0, result.output
    assert "Arachnodactyly (HP:0001166): yes" in result.output
    assert "Seizure (HP:0001250): no" in result.output
    assert "Which of these does the patient have?" in result.output
    text = report.read_text()
    assert "Which parts of the body are affected?" in result.output
    assert "3 questions asked" in text and "Not yet asked:" in text
    bad = CliRunner().invoke(app, ["chat", "--kb", "nope", "--say", "x"])
    assert bad.exit_code != 0


def test_hpo_chat_keeps_the_consultation_when_it_cannot_save_or_resume_it_elsewhere(
    real_hpo_cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mini_data_dir: Path
) -> None:
    monkeypatch.setenv("DDX_CACHE_DIR", str(real_hpo_cache))
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DDX_DATA_DIR", str(mini_data_dir))
    start = ["chat", "--kb", "hpo", "--say", "HP:0001166", "--questions", "2"]
    unwritable = tmp_path / "missing-folder" / "report.md"
    result = CliRunner().invoke(app, [*start, "--markdown", str(unwritable)], input="no\nno\n")
    assert isinstance(result.exception, DdxError), result.output
    found = re.search(r"--resume (\w+) and another --markdown", str(result.exception))
    assert found, result.exception

    report = tmp_path / "report.md"
    again = ["chat", "--kb", "hpo", "--resume", found[1], "--markdown", str(report)]
    assert CliRunner().invoke(app, again).exit_code == 0
    assert "2 questions asked" in report.read_text()

    stopped = CliRunner().invoke(app, start, input="")
    thread = re.search(r"consultation id (\w+)", stopped.output)
    assert thread, stopped.output
    other_kb = CliRunner().invoke(app, ["chat", "--resume", thread[1]])
    assert isinstance(other_kb.exception, DdxError)
    assert "another knowledge base" in str(other_kb.exception)


def test_phenopacket_run_reports_per_subset_and_after_questions(
    mini_hpo_kb: HpoKnowledgeBase, tmp_path: Path
) -> None:
    """Phenopacket fields (Excluded, Subset, DiseaseName) are read; figures come per subset
    and after 0 and 5 answers; the patient says "don't know" to what the record omits."""
    rows = [
        {
            "id": "p1",
            "Phenotype": ["HP:0007359", "HP:0000252", "HP:0001251"],
            "Excluded": ["HP:0001166"],
            "RareDisease": ["OMIM:100001"],
            "Subset": "A",
            "DiseaseName": "Alpha syndrome",
        },
        {
            "id": "p2",
            "Phenotype": ["HP:0001166", "HP:0001251"],
            "Excluded": ["HP:0001250"],
            "RareDisease": ["ORPHA:1002"],
            "Subset": "B",
        },
        {
            "id": "p3",
            "Phenotype": ["HP:0000256", "HP:0001166"],
            "RareDisease": ["OMIM:100002"],
            "Department": "B",
        },
    ]
    cases = write_jsonl(tmp_path / "pp.jsonl", [json.dumps(r) for r in rows])
    out = tmp_path / "run"
    request = RareBenchRequest(cases=cases, out=out, questions=5, review_of_systems=False)
    summary = run_rarebench(mini_hpo_kb, request, lambda _: None).summary
    assert set(summary.after_questions) == {0, 5}
    assert summary.after_questions[5].n == 3
    assert set(summary.by_group) == {"A", "B"} and summary.by_group["B"].n == 2
    # `ddx eval report` shows them as figures, not as raw dictionaries
    shown = dict(summary_rows([load_run(out)]))
    five = summary.after_questions[5]
    assert f"5: n 3, gtpa@1 {five.gtpa_1:.3f}" in shown["after_questions"][0]
    assert "{" not in shown["after_questions"][0] and "B: n 2" in shown["by_group"][0]
    results = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    answers = {t["answer"] for r in results for t in r["transcript"]}
    assert "I don't know." in answers  # nothing about the unmentioned terms is made up
    p2 = next(r for r in results if r["case_id"] == "p2")
    denied = [t for t in p2["transcript"] if t["present"] is False]
    assert all(t["code"] in {"HP:0001250", "HP:0007359"} for t in denied)
    config = json.loads((out / "run.json").read_text())
    assert config["opening_seed"] == 0 and config["unmentioned"] == "unknown"
    from eval.rarebench_halves import describe

    lines = describe(out)
    assert [line.split(" (")[0] for line in lines] == ["run all", "run even", "run odd"]
    assert "(n=3)" in lines[0] and "after 5:" in lines[0]


def test_cli_refuses_an_unknown_unmentioned_rule(tmp_path: Path) -> None:
    cases = write_jsonl(
        tmp_path / "c.jsonl", ['{"Phenotype": ["HP:0001166"], "RareDisease": ["OMIM:1"]}']
    )
    args = ["eval", "rarebench", "--cases", str(cases), "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, [*args, "--unmentioned", "maybe"])
    assert result.exit_code == 2 and "--unmentioned" in result.output


def test_kb_info_names_the_hpo_release(
    real_hpo_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DDX_CACHE_DIR", str(real_hpo_cache))
    result = CliRunner().invoke(app, ["kb", "info", "--kb", "hpo"])
    assert result.exit_code == 0, result.output
    assert "release: HPO 20" in result.output and "phenotype terms" in result.output
    wrong = CliRunner().invoke(app, ["kb", "info", "--kb", "icd"])
    assert isinstance(wrong.exception, DdxError) and "--kb must be" in str(wrong.exception)

"""One harness (issue 13): the executor (failures, root causes, orphaned workers), the run folder
(failed.json, incomplete summaries, no result from zero cases) and its guard against another
benchmark's folder, and one-line errors for outputs that cannot be written."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pydantic import BaseModel
from typer.testing import CliRunner, Result

from agent.cli import app
from agent.errors import DdxError
from agent.executor import CaseFailure, describe_error, run_cases
from eval.run_folder import Execution, finish_run, run_in_folder
from eval.schema import RunStatus

UNWRITABLE = Path("/sys")
"""An existing folder no one may create files in, even root (sysfs)."""


def _unwritable() -> Path:
    try:
        (UNWRITABLE / ".ddx-probe").write_text("")
    except OSError:
        return UNWRITABLE
    pytest.skip(f"{UNWRITABLE} is writable here")


def cli(*args: str | Path) -> Result:
    return CliRunner().invoke(app, [str(a) for a in args])


def one_line_error(result: Result, *fragments: str) -> str:
    """The command ended with exit 2 and a DdxError (printed as one line by `ddx`)."""
    assert result.exit_code == 2 or isinstance(result.exception, DdxError), result.output
    assert isinstance(result.exception, DdxError), repr(result.exception)
    message = str(result.exception)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message, message
    return message


# -- the executor ------------------------------------------------------------------------------


class _Wrapped:
    """Fails as LangGraph does: its task error wraps the real one (and carries a note)."""

    def run(self, index: int) -> int:
        try:
            raise ConnectionRefusedError("the LLM server at http://127.0.0.1:9 refused")
        except ConnectionRefusedError as exc:
            wrapper = RuntimeError("task failed")
            wrapper.add_note("During task with name 'diagnose' and id 1234")
            raise wrapper from exc


def test_a_failure_is_reported_by_its_real_cause_in_one_line() -> None:
    failures: list[CaseFailure] = []
    run_cases(_Wrapped(), [0], 1, lambda r: None, failures.append)
    assert failures[0].error == (
        "ConnectionRefusedError: the LLM server at http://127.0.0.1:9 refused"
    )
    try:
        _Wrapped().run(0)
    except RuntimeError as exc:
        assert "During task" not in describe_error(exc)


@pytest.mark.parametrize(("workers", "mode"), [(1, "processes"), (2, "processes"), (3, "threads")])
def test_consecutive_failures_stop_the_run_with_the_cause(workers: int, mode: str) -> None:
    failures: list[CaseFailure] = []
    stopped = run_cases(
        _Wrapped(),
        list(range(200)),
        workers,
        lambda r: None,
        failures.append,
        mode="threads" if mode == "threads" else "processes",
        chunk_size=4,
        max_consecutive_failures=5,
    )
    assert stopped is not None and "5 cases failed in a row" in stopped
    assert "ConnectionRefusedError" in stopped
    assert 5 <= len(failures) <= 5 + workers * 4  # the cases in flight, not all 200


class _Flaky:
    """Every third case fails: never five in a row, so the run goes on to the end."""

    def run(self, index: int) -> int:
        if index % 3 == 0:
            raise ValueError(f"case {index}")
        return index


def test_scattered_failures_do_not_stop_the_run() -> None:
    results: list[int] = []
    failures: list[CaseFailure] = []
    stopped = run_cases(_Flaky(), list(range(30)), 1, results.append, failures.append)
    assert stopped is None and len(results) == 20 and len(failures) == 10


ORPHAN_SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from agent.executor import run_cases

    pids = Path(sys.argv[1])

    class Sleeper:
        def run(self, index):
            (pids / str(os.getpid())).write_text("")
            time.sleep(120)
            return index

    run_cases(Sleeper(), list(range(4)), 2, lambda r: None, lambda f: None, chunk_size=1)
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split()[2] == "Z")  # a zombie is gone


def test_workers_exit_when_their_parent_is_killed(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    parent = subprocess.Popen(
        [sys.executable, "-c", ORPHAN_SCRIPT, str(pids)],
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parent.parent,
    )
    deadline = time.monotonic() + 60
    while len(list(pids.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [int(p.name) for p in pids.iterdir()]
    assert len(workers) == 2, "the two workers never started"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in workers if _alive(pid)]
    for pid in left:  # clean up before failing
        os.kill(pid, signal.SIGKILL)
    assert not left, f"workers {left} outlived their parent"


# -- the run folder ----------------------------------------------------------------------------


class _Result(BaseModel):
    case_id: str


class _Config(BaseModel):
    benchmark: str = "ddxplus"
    name: str = "test"


class _Summary(RunStatus):
    n: int


class _FailSome:
    def __init__(self, ids: list[str], failing: set[str]) -> None:
        self.ids, self.failing = ids, failing
        self.order: list[str] = []

    def run(self, index: int) -> _Result:
        case_id = self.ids[index]
        self.order.append(case_id)
        if case_id in self.failing:
            raise ValueError(f"cannot do {case_id}")
        return _Result(case_id=case_id)


def _run(out: Path, runner: _FailSome, limit: int = 5) -> _Summary:
    run = run_in_folder(
        out,
        _Config(),
        runner,
        runner.ids,
        _Result,
        lambda r: r.case_id,
        Execution(workers=1, description="test", max_consecutive_failures=limit),
        lambda message: None,
    )
    return finish_run(out, _Summary(n=len(run.cases)), run).summary


def test_failed_cases_are_listed_retried_last_and_the_summary_says_incomplete(
    tmp_path: Path,
) -> None:
    ids = [f"c{i}" for i in range(6)]
    first = _run(tmp_path, _FailSome(ids, {"c0", "c3"}))
    assert json.loads((tmp_path / "failed.json").read_text()) == {
        "c0": "ValueError: cannot do c0",
        "c3": "ValueError: cannot do c3",
    }
    assert (first.incomplete, first.failed, first.not_run, first.n) == (True, 2, 0, 4)
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["incomplete"] is True and written["failed"] == 2

    retry = _FailSome(ids, {"c0"})
    second = _run(tmp_path, retry)
    assert retry.order == ["c0", "c3"]  # only the failed cases run again
    assert (second.incomplete, second.failed, second.n) == (True, 1, 5)
    assert json.loads((tmp_path / "failed.json").read_text()) == {"c0": "ValueError: cannot do c0"}

    last = _run(tmp_path, _FailSome(ids, set()))
    assert (last.incomplete, last.failed, last.n) == (False, 0, 6)
    assert json.loads((tmp_path / "failed.json").read_text()) == {}


def test_a_case_that_always_fails_does_not_block_the_others_on_rerun(tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(4)]
    with pytest.raises(DdxError):
        _run(tmp_path, _FailSome(ids, set(ids)), limit=1)  # stops at c0
    rerun = _FailSome(ids, {"c0"})
    with pytest.raises(DdxError, match="The run stopped"):
        _run(tmp_path, rerun, limit=1)
    assert rerun.order[0] == "c1"  # never-tried cases before the one that failed
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["n"] == 3 and summary["incomplete"] is True


def test_a_run_where_no_case_finished_writes_no_summary(tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(20)]
    with pytest.raises(DdxError, match=r"No case finished .*5 cases failed in a row"):
        _run(tmp_path, _FailSome(ids, set(ids)))
    assert not (tmp_path / "summary.json").exists()
    assert len(json.loads((tmp_path / "failed.json").read_text())) == 5


def test_a_run_stopped_by_failures_keeps_a_summary_marked_incomplete(tmp_path: Path) -> None:
    ids = [f"c{i}" for i in range(20)]
    with pytest.raises(DdxError, match=r"The run stopped: 5 cases failed in a row.*2 of 20"):
        _run(tmp_path, _FailSome(ids, set(ids[2:])))
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert (summary["n"], summary["failed"], summary["not_run"]) == (2, 5, 13)
    assert summary["incomplete"] is True


# -- one benchmark per folder ------------------------------------------------------------------


@pytest.fixture
def ddxplus_run(
    tmp_path: Path, mini_data_dir: Path, mini_patients_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    for name in ("DDX_DATA_DIR", "DDX_CONFIDENCE_THRESHOLD", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    out = tmp_path / "ddxplus-run"
    args = ("--data-dir", mini_data_dir, "eval", "ddxplus", "--patients", mini_patients_csv)
    result = cli(*args, "--questions", "2", "--out", out)
    assert result.exit_code == 0, result.output
    return out


def _unchanged(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted(out.iterdir()) if p.is_file()}


def test_doctors_eval_refuses_a_ddxplus_run_folder(ddxplus_run: Path, tmp_path: Path) -> None:
    before = _unchanged(ddxplus_run)
    doctors = Path(__file__).parent / "fixtures" / "doctors" / "drrank_zh.jsonl"
    result = cli("--data-dir", tmp_path / "none", "doctors", "eval", "--data", doctors,
                 "--ranker", "baseline", "--out", ddxplus_run)  # fmt: skip
    one_line_error(result, "holds a ddxplus run", "ddx eval ddxplus", "another --out")
    assert _unchanged(ddxplus_run) == before


def test_eval_retrieval_refuses_a_ddxplus_run_folder(ddxplus_run: Path) -> None:
    before = _unchanged(ddxplus_run)
    fixtures = Path(__file__).parent / "fixtures" / "retrieval"
    result = cli("eval", "retrieval", "--corpus", fixtures / "corpus.jsonl",
                 "--queries", fixtures / "queries.jsonl", "--qrels", fixtures / "qrels.tsv",
                 "--method", "bm25", "--out", ddxplus_run)  # fmt: skip
    one_line_error(result, "holds a ddxplus run")
    assert _unchanged(ddxplus_run) == before


def test_ddxplus_refuses_another_benchmarks_folder_naming_it(
    tmp_path: Path, mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    for benchmark in ("rarebench", "icraftmd", "retrieval", "doctors"):
        out = tmp_path / benchmark
        out.mkdir()
        (out / "run.json").write_text(json.dumps({"benchmark": benchmark, "cases": "x"}))
        result = cli("--data-dir", mini_data_dir, "eval", "ddxplus",
                     "--patients", mini_patients_csv, "--out", out)  # fmt: skip
        message = one_line_error(result, f"holds a {benchmark} run")
        assert "not a run configuration" not in message
    legacy = tmp_path / "old-retrieval"  # written before retrieval runs had a run.json
    legacy.mkdir()
    (legacy / "summary.json").write_text("{}")
    (legacy / "per_query.jsonl").write_text("")
    result = cli("--data-dir", mini_data_dir, "eval", "ddxplus",
                 "--patients", mini_patients_csv, "--out", legacy)  # fmt: skip
    one_line_error(result, "holds a retrieval run")


# -- outputs that cannot be written ------------------------------------------------------------


def test_an_unwritable_out_is_one_line_for_eval_doctors_and_kb_fit(
    mini_data_dir: Path, mini_patients_csv: Path, tmp_path: Path
) -> None:
    folder = _unwritable()
    doctors = Path(__file__).parent / "fixtures" / "doctors" / "drrank_zh.jsonl"
    commands = [
        ("eval", "ddxplus", "--patients", mini_patients_csv, "--out", folder),
        ("doctors", "eval", "--data", doctors, "--ranker", "baseline", "--out", folder),
        ("kb", "fit", "--patients", mini_patients_csv, "--out", folder / "model.npz"),
    ]
    for command in commands:
        result = cli("--data-dir", mini_data_dir, *command)
        one_line_error(result, f"Cannot write to the output folder {folder}")


def test_report_plot_into_a_folder_or_unwritable_is_one_line(ddxplus_run: Path) -> None:
    folder = _unwritable()
    one_line_error(cli("eval", "report", ddxplus_run, "--plot", ddxplus_run), "is a folder")
    one_line_error(
        cli("eval", "report", ddxplus_run, "--plot", folder / "p.png"), "Cannot write the"
    )


def test_report_without_plot_writes_nothing_into_the_current_folder(
    ddxplus_run: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = cli("eval", "report", ddxplus_run)
    assert result.exit_code == 0, result.output
    assert list(here.iterdir()) == []


def test_doctors_rank_with_an_empty_need_is_one_line(tmp_path: Path) -> None:
    directory = Path(__file__).parent / "fixtures" / "doctors" / "directory.jsonl"
    result = cli("--data-dir", tmp_path, "doctors", "rank", "", "--directory", directory)
    one_line_error(result, "Say what the patient needs")

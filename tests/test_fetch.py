"""`ddx data fetch` against a real local HTTP server that plays the figshare API (no internet)."""

from __future__ import annotations

import hashlib
import io
import json
import socket
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from agent.errors import DdxError
from data.fetch import (
    DDXPLUS_ARTICLE_ID,
    FetchError,
    RetryPolicy,
    dataset_status,
    fetch_ddxplus,
)

FAST = RetryPolicy(attempts=3, backoff_s=0.0, timeout_s=5.0, connect_timeout_s=2.0)
ARTICLE_PATH = f"/v2/articles/{DDXPLUS_ARTICLE_ID}"
CSV_HEADER = "AGE,DIFFERENTIAL_DIAGNOSIS,SEX,PATHOLOGY,EVIDENCES,INITIAL_EVIDENCE\n"


@dataclass
class FakeFigshare:
    """What the fake server serves and what it was asked; tests edit it before fetching."""

    origin: str
    files: dict[str, bytes]
    md5_override: dict[str, str] = field(default_factory=dict)
    status_script: dict[str, list[int]] = field(default_factory=dict)
    article_body: bytes | None = None
    requests: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"{self.origin}/v2"

    def article_json(self) -> bytes:
        entries = [
            {
                "id": index,
                "name": name,
                "size": len(body),
                "computed_md5": self.md5_override.get(name, hashlib.md5(body).hexdigest()),
                "download_url": f"{self.origin}/files/{name}",
            }
            for index, (name, body) in enumerate(self.files.items())
        ]
        return json.dumps({"id": DDXPLUS_ARTICLE_ID, "files": entries}).encode()

    def respond(self, path: str) -> tuple[int, bytes]:
        """A scripted status first (e.g. 503), then the real content, else 404."""
        self.requests.append(path)
        script = self.status_script.get(path)
        if script:
            return script.pop(0), b"scripted"
        if path == ARTICLE_PATH:
            return 200, self.article_body or self.article_json()
        name = path.removeprefix("/files/")
        if path.startswith("/files/") and name in self.files:
            return 200, self.files[name]
        return 404, b"not found"

    def file_requests(self) -> list[str]:
        return [path for path in self.requests if path.startswith("/files/")]


class _Server(ThreadingHTTPServer):
    fake: FakeFigshare


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        status, body = self.server.fake.respond(self.path)
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output clean
        return None


def _zip_with(member: str, text: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(member, text)
    return buffer.getvalue()


def _release() -> dict[str, bytes]:
    """A tiny release; the test zip's member has no extension, the others end in .csv."""
    return {
        "release_evidences.json": json.dumps({"E_1": {"name": "E_1"}}).encode(),
        "release_conditions.json": json.dumps({"Flu": {"severity": 3}}).encode(),
        "release_train_patients.zip": _zip_with(
            "release_train_patients.csv", CSV_HEADER + "30,[],M,Flu,['E_1'],E_1\n"
        ),
        "release_validate_patients.zip": _zip_with(
            "release_validate_patients.csv", CSV_HEADER + "40,[],F,Flu,['E_1'],E_1\n"
        ),
        "release_test_patients.zip": _zip_with(
            "release_test_patients", CSV_HEADER + "50,[],F,Flu,['E_1'],E_1\n"
        ),
    }


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """httpx honours proxy variables; requests to 127.0.0.1 must not go through one."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("all_proxy", raising=False)


@pytest.fixture
def figshare() -> Iterator[FakeFigshare]:
    server = _Server(("127.0.0.1", 0), _Handler)
    host, port = server.server_address[:2]
    server.fake = FakeFigshare(origin=f"http://{host!s}:{port}", files=_release())
    # A short poll interval: shutdown() waits for the next poll, 0.5 s by default.
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        yield server.fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def closed_port() -> int:
    """A port nothing listens on: bound, then closed, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _fetch(data_dir: Path, fake: FakeFigshare, **options: bool) -> list[str]:
    report = fetch_ddxplus(data_dir, api_base=fake.api, progress=False, retry=FAST, **options)
    return [item.action for item in report.files]


# --- the fetcher -------------------------------------------------------------------------------


def test_full_fetch_writes_json_and_extracted_csvs(tmp_path: Path, figshare: FakeFigshare):
    actions = _fetch(tmp_path, figshare)

    folder = tmp_path / "ddxplus"
    assert actions == ["downloaded"] * 5
    assert sorted(p.name for p in folder.iterdir()) == [
        "release_conditions.json",
        "release_evidences.json",
        "release_test_patients.csv",
        "release_train_patients.csv",
        "release_validate_patients.csv",
    ]
    release = _release()
    assert (folder / "release_evidences.json").read_bytes() == release["release_evidences.json"]
    test_csv = (folder / "release_test_patients.csv").read_text()
    assert test_csv == CSV_HEADER + "50,[],F,Flu,['E_1'],E_1\n"
    assert all(status.present for status in dataset_status(tmp_path))


def test_kb_only_fetches_only_the_two_json_files(tmp_path: Path, figshare: FakeFigshare):
    _fetch(tmp_path, figshare, kb_only=True)

    assert sorted(p.name for p in (tmp_path / "ddxplus").iterdir()) == [
        "release_conditions.json",
        "release_evidences.json",
    ]
    assert sorted(figshare.file_requests()) == [
        "/files/release_conditions.json",
        "/files/release_evidences.json",
    ]


def test_skip_existing_downloads_nothing_again(tmp_path: Path, figshare: FakeFigshare):
    _fetch(tmp_path, figshare)
    figshare.requests.clear()

    actions = _fetch(tmp_path, figshare, skip_existing=True)

    assert actions == ["kept"] * 5
    assert figshare.requests == [ARTICLE_PATH]


def test_if_missing_needs_no_network_when_the_files_are_there(
    tmp_path: Path, figshare: FakeFigshare, closed_port: int
):
    _fetch(tmp_path, figshare, kb_only=True)
    offline = fetch_ddxplus(
        tmp_path,
        api_base=f"http://127.0.0.1:{closed_port}",
        kb_only=True,
        if_missing=True,
        progress=False,
        retry=FAST,
    )
    assert [item.action for item in offline.files] == ["kept", "kept"]


def test_if_missing_fetches_when_a_file_is_missing(tmp_path: Path, figshare: FakeFigshare):
    _fetch(tmp_path, figshare, kb_only=True)
    (tmp_path / "ddxplus" / "release_conditions.json").unlink()
    figshare.requests.clear()

    actions = _fetch(tmp_path, figshare, kb_only=True, if_missing=True)

    assert sorted(actions) == ["downloaded", "downloaded"]
    assert (tmp_path / "ddxplus" / "release_conditions.json").is_file()


def test_skip_existing_replaces_a_local_file_that_differs(tmp_path: Path, figshare: FakeFigshare):
    _fetch(tmp_path, figshare, kb_only=True)
    evidences = tmp_path / "ddxplus" / "release_evidences.json"
    evidences.write_text("{}")
    figshare.requests.clear()

    actions = _fetch(tmp_path, figshare, kb_only=True, skip_existing=True)

    assert actions == ["downloaded", "kept"]
    assert figshare.file_requests() == ["/files/release_evidences.json"]
    assert evidences.read_bytes() == _release()["release_evidences.json"]


def test_without_skip_existing_everything_is_downloaded_again(
    tmp_path: Path, figshare: FakeFigshare
):
    _fetch(tmp_path, figshare, kb_only=True)
    figshare.requests.clear()

    _fetch(tmp_path, figshare, kb_only=True)

    assert len(figshare.file_requests()) == 2


def test_md5_mismatch_is_a_clear_error_and_keeps_no_file(tmp_path: Path, figshare: FakeFigshare):
    figshare.md5_override["release_conditions.json"] = "0" * 32

    with pytest.raises(FetchError, match="MD5") as caught:
        _fetch(tmp_path, figshare, kb_only=True)

    message = str(caught.value)
    assert f"{figshare.origin}/files/release_conditions.json" in message
    assert "0" * 32 in message
    names = sorted(p.name for p in (tmp_path / "ddxplus").iterdir())
    assert names == ["release_evidences.json"]  # fetched before; no conditions, no .partial


def test_article_404_names_the_url(tmp_path: Path, figshare: FakeFigshare):
    with pytest.raises(FetchError, match="HTTP 404") as caught:
        fetch_ddxplus(tmp_path, api_base=f"{figshare.origin}/wrong", retry=FAST, progress=False)

    assert f"{figshare.origin}/wrong/articles/{DDXPLUS_ARTICLE_ID}" in str(caught.value)
    assert figshare.requests == [f"/wrong/articles/{DDXPLUS_ARTICLE_ID}"]  # 4xx: no retry


def test_file_404_names_the_file_url(tmp_path: Path, figshare: FakeFigshare):
    figshare.status_script["/files/release_evidences.json"] = [404]

    with pytest.raises(FetchError, match=r"/files/release_evidences\.json returned HTTP 404"):
        _fetch(tmp_path, figshare, kb_only=True)

    assert not (tmp_path / "ddxplus" / "release_evidences.json").exists()


def test_refused_connection_says_offline_and_how_to_copy_by_hand(tmp_path: Path, closed_port: int):
    with pytest.raises(FetchError) as caught:
        fetch_ddxplus(
            tmp_path, api_base=f"http://127.0.0.1:{closed_port}/v2", retry=FAST, progress=False
        )

    message = str(caught.value)
    assert "seems offline" in message
    assert str(tmp_path / "ddxplus") in message
    assert "DDX_DATA_DIR" in message
    assert "\n" not in message


def test_server_errors_are_retried_a_bounded_number_of_times(
    tmp_path: Path, figshare: FakeFigshare
):
    figshare.status_script[ARTICLE_PATH] = [503, 502]
    _fetch(tmp_path, figshare, kb_only=True)
    assert figshare.requests.count(ARTICLE_PATH) == 3

    figshare.requests.clear()
    figshare.status_script[ARTICLE_PATH] = [503] * 5
    with pytest.raises(FetchError, match="HTTP 503"):
        _fetch(tmp_path, figshare, kb_only=True)
    assert figshare.requests.count(ARTICLE_PATH) == FAST.attempts


def test_article_without_the_expected_files_is_a_clear_error(
    tmp_path: Path, figshare: FakeFigshare
):
    del figshare.files["release_conditions.json"]

    with pytest.raises(FetchError, match=r"does not list release_conditions\.json"):
        _fetch(tmp_path, figshare, kb_only=True)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"<html>maintenance</html>", "did not return JSON"),
        (b'{"id": 20043374}', "without a 'files' list"),
        (
            b'{"files": [{"name": "release_evidences.json", "size": 1}, '
            b'{"name": "release_conditions.json", "size": 1}]}',
            "lists release_evidences.json with missing or invalid fields: download_url",
        ),
    ],
)
def test_unexpected_api_json_is_a_clear_error(
    tmp_path: Path, figshare: FakeFigshare, body: bytes, expected: str
):
    figshare.article_body = body

    with pytest.raises(FetchError, match=expected):
        _fetch(tmp_path, figshare, kb_only=True)

    assert figshare.file_requests() == []


def test_zip_without_the_expected_csv_is_a_clear_error(tmp_path: Path, figshare: FakeFigshare):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        bundle.writestr("a.csv", "x")
        bundle.writestr("b.csv", "y")
    figshare.files["release_train_patients.zip"] = buffer.getvalue()

    with pytest.raises(FetchError, match=r"should hold one CSV named release_train_patients\.csv"):
        _fetch(tmp_path, figshare)

    assert not (tmp_path / "ddxplus" / "release_train_patients.csv").exists()


def test_unwritable_data_dir_names_the_path(tmp_path: Path, figshare: FakeFigshare):
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")

    with pytest.raises(FetchError, match="--data-dir") as caught:
        _fetch(not_a_folder, figshare)

    assert str(not_a_folder) in str(caught.value)
    assert figshare.requests == []  # fails before touching the network


# --- the CLI -----------------------------------------------------------------------------------


def _cli(data_dir: Path, *args: str) -> Result:
    from agent.cli import app

    return CliRunner().invoke(app, ["--data-dir", str(data_dir), "data", *args])


def test_cli_fetch_kb_only_then_check(
    tmp_path: Path, figshare: FakeFigshare, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DDX_FIGSHARE_API", figshare.api)

    before = _cli(tmp_path, "check")
    fetched = _cli(tmp_path, "fetch", "ddxplus", "--kb-only")
    after = _cli(tmp_path, "check", "ddxplus")

    assert before.exit_code == 1
    assert f"missing  {tmp_path / 'ddxplus' / 'release_evidences.json'}" in before.output
    assert fetched.exit_code == 0, fetched.output
    assert f"downloaded {tmp_path / 'ddxplus' / 'release_conditions.json'}" in fetched.output
    assert after.exit_code == 0
    assert f"present  {tmp_path / 'ddxplus' / 'release_evidences.json'}" in after.output
    assert "missing  " in after.output  # the patients CSVs, for benchmarks only


def test_cli_unknown_dataset_lists_the_known_ones(tmp_path: Path):
    result = _cli(tmp_path, "fetch", "mimic")

    assert isinstance(result.exception, DdxError)
    assert "Unknown dataset 'mimic'" in str(result.exception)
    assert "ddxplus" in str(result.exception)
    assert not (tmp_path / "ddxplus").exists()


def test_cli_fetch_error_reaches_the_caller_as_ddx_error(
    tmp_path: Path, figshare: FakeFigshare, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setenv("DDX_FIGSHARE_API", f"{figshare.origin}/nowhere")

    result = _cli(tmp_path, "fetch", "ddxplus")

    assert isinstance(result.exception, FetchError)
    assert "HTTP 404" in str(result.exception)


def test_main_prints_one_line_and_exits_2(
    tmp_path: Path,
    figshare: FakeFigshare,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
):
    from agent.cli import main

    monkeypatch.setenv("DDX_FIGSHARE_API", f"{figshare.origin}/nowhere")
    argv = ["ddx", "--data-dir", str(tmp_path), "data", "fetch", "ddxplus", "--kb-only"]
    monkeypatch.setattr(sys, "argv", argv)

    with pytest.raises(SystemExit) as exited:
        main()

    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "error: " in err
    assert f"{figshare.origin}/nowhere/articles/{DDXPLUS_ARTICLE_ID} returned HTTP 404" in err
    assert "Traceback" not in err

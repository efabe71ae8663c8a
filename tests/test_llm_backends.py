"""LLM backends: backend strings, settings order, the fake, the cache, structured output with
retries, the OpenAI-compatible path against a stub server (timeouts, 500s, malformed JSON, a
server that is down) and the hf: path on a tiny random model."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from agent.backend_spec import parse_backend
from agent.errors import SettingsError
from agent.llm.base import ChatRequest, LLMUnavailableError, Message, StructuredOutputError
from agent.llm.cache import LLMCache
from agent.llm.client import LLMClient, case_meter
from agent.llm.factory import role_clients
from agent.llm.fake import FakeChat, load_script
from agent.llm.openai_chat import OpenAIChat
from agent.llm.schemas import Differential, NextStep
from agent.llm.structured import extract_json, generate_structured
from agent.settings import load_settings
from tests.llm_fixtures import build_tiny_model, completion, stub_server

ASK = '{"action": "ask", "question": "Do you have a cough?", "reason": "separates"}'
USER = [Message(role="user", content="next?")]


def test_backend_strings_parse_and_print_back() -> None:
    for text in ("kb", "fake", "hf:/models/qwen", "hf:org/model+/lora", "openai:m@http://h:1/v1"):
        assert str(parse_backend(text)) == text
    spec = parse_backend("hf:org/model+/adapters/a")
    assert (spec.kind, spec.model, spec.adapter) == ("hf", "org/model", "/adapters/a")
    openai = parse_backend("openai:qwen2.5@http://127.0.0.1:8000/v1/")
    assert (openai.model, openai.base_url) == ("qwen2.5", "http://127.0.0.1:8000/v1")
    for bad in ("gpt4", "hf:", "openai:model", "openai:m@ftp://x"):
        with pytest.raises(SettingsError, match="Unknown LLM backend"):
            parse_backend(bad)


def test_settings_order_is_argument_then_environment_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DDX_DOCTOR", raising=False)
    assert load_settings().doctor == "kb"
    monkeypatch.setenv("DDX_DOCTOR", "fake")
    assert load_settings().doctor == "fake"
    assert load_settings(doctor="kb").doctor == "kb"
    assert load_settings().diagnoser_backend == "fake"  # the diagnoser follows the doctor
    monkeypatch.setenv("DDX_DOCTOR", "nonsense")
    with pytest.raises(SettingsError, match="doctor"):
        load_settings()


def test_api_key_comes_from_the_environment_and_stays_secret(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DDX_OPENAI_API_KEY", "sk-test-123")
    settings = load_settings()
    assert settings.openai_api_key is not None
    assert settings.openai_api_key.get_secret_value() == "sk-test-123"
    assert "sk-test-123" not in repr(settings)


def test_roles_naming_the_same_backend_share_one_client(tmp_path: Path) -> None:
    settings = load_settings(doctor="fake", patient="fake", llm_cache_dir=tmp_path)
    clients = role_clients(settings)
    assert clients.doctor is clients.diagnoser is clients.patient
    assert clients.judge is None
    assert len(clients.all()) == 1


def test_extract_json_finds_the_object_in_chatter() -> None:
    assert extract_json('Sure! ```json\n{"a": 1}\n``` done') == '{"a": 1}'
    assert extract_json('Answer: {"a": {"b": 2}} thanks') == '{"a": {"b": 2}}'


def test_invalid_answers_are_retried_with_the_error_fed_back() -> None:
    chat = FakeChat(["not json at all", '{"action": "ask"}', ASK])
    client = LLMClient(chat, format_retries=2)
    step = generate_structured(client, USER, NextStep)
    assert step.question == "Do you have a cough?"
    assert client.stats.invalid_outputs == 2 and client.stats.llm_calls == 3
    retry = chat.requests[2].messages
    assert retry[-2].content == '{"action": "ask"}'
    assert "question" in retry[-1].content and "invalid" in retry[-1].content
    assert chat.requests[0].schema_name == "NextStep"
    assert chat.requests[0].json_schema == NextStep.model_json_schema()


def test_retries_are_bounded_and_then_fail_loudly() -> None:
    client = LLMClient(FakeChat(lambda request: "gibberish"), format_retries=1)
    with pytest.raises(StructuredOutputError, match="NextStep: no valid answer after 2"):
        generate_structured(client, USER, NextStep)
    assert client.stats.llm_calls == 2


def test_a_differential_must_name_something_unless_it_defers() -> None:
    with pytest.raises(ValueError, match="at least one diagnosis"):
        Differential.model_validate({"diagnoses": []})
    assert Differential.model_validate({"keep_engine_ranking": True}).diagnoses == []


def test_fake_defers_and_scripts_play_in_order(tmp_path: Path) -> None:
    fake = FakeChat()
    request = ChatRequest(messages=tuple(USER), schema_name="NextStep")
    assert json.loads(fake.complete(request))["action"] == "defer"
    assert fake.complete(ChatRequest(messages=tuple(USER))) == "I don't know."
    script = tmp_path / "replies.jsonl"
    script.write_text(json.dumps(ASK) + "\n" + json.dumps({"summary": "x"}) + "\n")
    played = load_script(script)
    assert played.complete(request) == ASK
    assert json.loads(played.complete(request)) == {"summary": "x"}


def test_cache_answers_identical_requests_and_counts_hits(tmp_path: Path) -> None:
    chat = FakeChat(lambda request: ASK)
    client = LLMClient(chat, cache=LLMCache(tmp_path))
    with case_meter() as stats:
        first = generate_structured(client, USER, NextStep)
        second = generate_structured(client, USER, NextStep)
    assert first == second
    assert len(chat.requests) == 1
    assert (stats.llm_calls, stats.cache_hits) == (2, 1)
    other = LLMClient(FakeChat(lambda request: "never called"), cache=LLMCache(tmp_path))
    assert generate_structured(other, USER, NextStep) == first  # a new process, same cache
    changed = [Message(role="user", content="next, please?")]
    with pytest.raises(StructuredOutputError):
        generate_structured(other, changed, NextStep, retries=0)


# -- openai: against a stub server ------------------------------------------------------------


@pytest.fixture
def stub() -> Iterator[Any]:
    with stub_server(lambda payload: completion(ASK)) as server:
        yield server


def _openai(url: str, **kwargs: Any) -> LLMClient:
    options: dict[str, Any] = {"timeout": 2.0, "attempts": 3, "backoff": 0.01}
    options.update(kwargs)
    return LLMClient(OpenAIChat("tiny", url, **options))


def test_openai_backend_sends_the_schema_and_parses_the_answer(stub: Any) -> None:
    client = _openai(stub.url, api_key="sk-secret")
    step = generate_structured(client, USER, NextStep)
    assert step.action == "ask"
    sent = stub.requests[0]
    assert sent["model"] == "tiny" and sent["temperature"] == 0.0
    assert sent["response_format"]["json_schema"]["name"] == "NextStep"


def test_openai_backend_retries_500s_and_timeouts(stub: Any) -> None:
    replies = iter([(500, "boom"), (503, "busy"), completion(ASK)])
    stub.set(lambda payload: next(replies))
    assert generate_structured(_openai(stub.url), USER, NextStep).action == "ask"
    assert len(stub.requests) == 3

    slow = iter([0.8, 0.0])

    def sometimes_slow(payload: dict[str, Any]) -> tuple[int, str]:
        time.sleep(next(slow, 0.0))
        return completion(ASK)

    stub.set(sometimes_slow)
    client = _openai(stub.url, timeout=0.3)
    assert generate_structured(client, USER, NextStep).action == "ask"


def test_openai_malformed_bodies_are_retried_then_reported(stub: Any) -> None:
    stub.set(lambda payload: (200, "{not json"))
    with pytest.raises(LLMUnavailableError, match="failed 3 time"):
        _openai(stub.url).complete(ChatRequest(messages=tuple(USER)))
    stub.set(lambda payload: completion("{broken json"))
    with pytest.raises(StructuredOutputError, match="not valid JSON"):
        generate_structured(_openai(stub.url), USER, NextStep, retries=1)


def test_a_server_that_is_down_is_one_clear_error() -> None:
    with stub_server(lambda payload: completion(ASK)) as server:
        url = server.url  # the port is free again once the server stops
    client = _openai(url, attempts=2)
    with pytest.raises(LLMUnavailableError, match=r"Is it running") as caught:
        client.complete(ChatRequest(messages=tuple(USER)))
    assert url in str(caught.value)


def test_a_wrong_url_or_model_is_one_clear_error_not_a_fallback(stub: Any) -> None:
    stub.set(lambda payload: (404, "model not found"))
    with pytest.raises(LLMUnavailableError, match=r"HTTP 404.*'tiny'"):
        generate_structured(_openai(stub.url), USER, NextStep)
    assert len(stub.requests) == 1  # not retried


def test_servers_that_reject_json_schema_are_asked_without_it(stub: Any) -> None:
    def picky(payload: dict[str, Any]) -> tuple[int, str]:
        return (400, "no json_schema") if "response_format" in payload else completion(ASK)

    stub.set(picky)
    assert generate_structured(_openai(stub.url), USER, NextStep).action == "ask"


# -- hf: a tiny random model ------------------------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("tiny-qwen2"))


def test_hf_backend_runs_the_chat_template_and_its_gibberish_fails_cleanly(
    tiny_model_dir: Path, tmp_path: Path
) -> None:
    settings = load_settings(doctor=f"hf:{tiny_model_dir}", llm_cache_dir=tmp_path)
    client = role_clients(settings).doctor
    assert client is not None and client.name == f"hf:{tiny_model_dir}"
    text = client.complete(ChatRequest(messages=tuple(USER), max_tokens=8))
    assert isinstance(text, str)
    with pytest.raises(StructuredOutputError):
        generate_structured(client, USER, NextStep, retries=1, max_tokens=8)
    assert client.stats.invalid_outputs == 2


def test_hf_backend_applies_a_lora_adapter(tiny_model_dir: Path, tmp_path: Path) -> None:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    from agent.llm.hf_chat import HFChat

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    adapter = tmp_path / "adapter"
    lora = get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    lora.save_pretrained(str(adapter))
    chat = HFChat(str(tiny_model_dir), str(adapter))
    assert chat.name.endswith(f"+{adapter}")
    assert isinstance(chat.complete(ChatRequest(messages=tuple(USER), max_tokens=4)), str)


def test_hf_backend_names_a_missing_model_clearly(tmp_path: Path) -> None:
    from agent.llm.hf_chat import HFChat

    with pytest.raises(SettingsError, match=r"Cannot load the model .*: no such folder"):
        HFChat(str(tmp_path / "nothing-here"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(SettingsError, match="Cannot load the model"):
        HFChat(str(tmp_path / "empty"))
    with pytest.raises(SettingsError, match="Unknown device 'gpu0'"):
        HFChat(str(tmp_path / "empty"), device="gpu0")


# -- end to end: the CLI over the tiny model and the stub server ------------------------------


@pytest.fixture
def quiet_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DDX_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("DDX_LLM_MAX_TOKENS", "16")
    monkeypatch.setenv("DDX_LLM_FORMAT_RETRIES", "1")
    return tmp_path


def test_chat_with_a_local_model_doctor_runs_to_a_report(
    tiny_model_dir: Path, quiet_env: Path, mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    args = ["--data-dir", str(mini_data_dir), "chat", "--doctor", f"hf:{tiny_model_dir}"]
    args += ["--patient-file", str(mini_patients_csv), "--questions", "2", "--no-knowledge"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "Differential diagnosis" in result.output and "ground truth:" in result.output


def test_icraftmd_runs_on_the_tiny_model_and_reports_its_failures(
    tiny_model_dir: Path, quiet_env: Path
) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    cases = Path(__file__).parent / "fixtures" / "llm" / "icraftmd_cases.jsonl"
    backend = f"hf:{tiny_model_dir}"
    args = ["eval", "icraftmd", "--cases", str(cases), "--out", str(quiet_env / "run")]
    args += ["--doctor", backend, "--patient", backend, "--questions", "1", "--limit", "1"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    summary = json.loads((quiet_env / "run" / "summary.json").read_text())
    assert summary["n"] == 1 and summary["gtpa@1"] == 0.0
    assert summary["invalid_outputs"] >= 2 and summary["failed_steps"] == 1


def test_ddxplus_runs_against_the_stub_server(
    quiet_env: Path, mini_data_dir: Path, mini_patients_csv: Path
) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    def reply(payload: dict[str, Any]) -> tuple[int, str]:
        schema = payload.get("response_format", {}).get("json_schema", {}).get("name")
        if schema == "NextStep":
            return completion(ASK)
        return completion('{"diagnoses": [{"name": "Pneumonia"}], "rationale": "cough"}')

    with stub_server(reply) as server:
        args = ["--data-dir", str(mini_data_dir), "eval", "ddxplus", "--patients"]
        args += [str(mini_patients_csv), "--out", str(quiet_env / "run"), "--questions", "2"]
        result = CliRunner().invoke(app, [*args, "--doctor", f"openai:stub@{server.url}"])
        assert result.exit_code == 0, result.output
    cases = [json.loads(line) for line in (quiet_env / "run" / "cases.jsonl").open()]
    assert all(case["differential"][0][0] == "Pneumonia" for case in cases)
    assert all(case["transcript"][0]["code"] == "E_2" for case in cases if case["transcript"])


def test_batch_runs_check_the_server_first(quiet_env: Path) -> None:
    from typer.testing import CliRunner

    from agent.cli import app

    with stub_server(lambda payload: completion(ASK)) as server:
        url = server.url  # the server is gone once the block ends
    cases = Path(__file__).parent / "fixtures" / "llm" / "icraftmd_cases.jsonl"
    backend = f"openai:stub@{url}"
    args = ["eval", "icraftmd", "--cases", str(cases), "--out", str(quiet_env / "run")]
    args += ["--doctor", backend, "--patient", backend]
    outcome = CliRunner().invoke(app, args)
    assert isinstance(outcome.exception, LLMUnavailableError)
    assert "Cannot reach the LLM server" in str(outcome.exception)
    assert not (quiet_env / "run").exists()

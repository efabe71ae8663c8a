"""Harness figures for LLM runs (BENCHMARKS.md, "LLM backends (issue 3)"), against the stub
OpenAI-compatible server, so they measure the harness and not a model:

1. overhead per LLM call against a stub that answers instantly;
2. iCraft-MD throughput against a stub that takes ``--delay`` seconds per call, at
   concurrency 1, 2, 4, 8, 16 (the speed-up should grow near-linearly);
3. a re-run of a finished configuration from the on-disk cache, against its first run.

Run: ``python -m eval.icraftmd_bench --cases $DDX_DATA_DIR/icraftmd/dev_cases.jsonl``.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from agent.llm.base import Message
from agent.llm.cache import LLMCache
from agent.llm.client import LLMClient
from agent.llm.openai_chat import OpenAIChat
from agent.llm.schemas import NextStep
from agent.llm.structured import generate_structured
from agent.llm.stub_server import completion, stub_server
from eval.icraftmd import IcraftRunConfig, run_icraftmd
from eval.icraftmd_cases import IcraftCase, IcraftSetup, load_cases
from eval.icraftmd_schema import IcraftSummary

QUESTIONS = 2
_ASKED = re.compile(r"- Doctor:")
_FIRST_OPTION = re.compile(r"exactly as written\):\n(.+)")


def scripted_reply(payload: dict[str, Any]) -> tuple[int, str]:
    """A stand-in clinician: asks QUESTIONS questions, then names the first listed option; the
    patient does not know. (Accuracy is meaningless here; the harness's speed is the point.)"""
    schema = payload.get("response_format", {}).get("json_schema", {}).get("name")
    prompt = payload["messages"][-1]["content"]
    if schema == "NextStep":
        if len(_ASKED.findall(prompt)) >= QUESTIONS:
            return completion('{"action": "stop"}')
        return completion('{"action": "ask", "question": "Any itching?"}')
    if schema == "Differential":
        first = _FIRST_OPTION.search(prompt)
        name = first.group(1).strip() if first else "unknown"
        return completion(json.dumps({"diagnoses": [{"name": name}]}))
    return completion("I don't know.")


def overhead_ms(calls: int) -> float:
    """Mean wall time per structured call against an instant stub (HTTP round trip included)."""
    with stub_server(lambda payload: completion('{"action": "stop"}')) as server:
        client = LLMClient(OpenAIChat("stub", server.url))
        messages = [Message(role="user", content="next?")]
        for _ in range(20):  # warm the connection pool
            generate_structured(client, messages, NextStep)
        started = time.perf_counter()
        for _ in range(calls):
            generate_structured(client, messages, NextStep)
        return (time.perf_counter() - started) / calls * 1000


def timed_run(
    cases: list[IcraftCase], url: str, concurrency: int, cache: LLMCache | None, out: Path
) -> tuple[float, IcraftSummary]:
    client = LLMClient(OpenAIChat("stub", url, max_connections=64), cache=cache)
    setup = IcraftSetup(doctor=client, diagnoser=client, patient=client, questions=QUESTIONS)
    config = IcraftRunConfig(
        cases="bench",
        cases_sha256="-",
        mode="mc",
        questions=QUESTIONS,
        rounds=1,
        strategy="standard",
        doctor=client.name,
        diagnoser=client.name,
        patient=client.name,
        limit=len(cases),
        seed=0,
    )
    started = time.perf_counter()
    outcome = run_icraftmd(setup, cases, config, out, concurrency=concurrency)
    return time.perf_counter() - started, outcome.summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=32)
    parser.add_argument("--delay", type=float, default=0.2)
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    cases = load_cases(args.cases).cases[: args.limit]
    print(f"overhead per call (instant stub): {overhead_ms(args.calls):.2f} ms")
    with tempfile.TemporaryDirectory() as tmp, stub_server(scripted_reply, args.delay) as server:
        base = None
        for concurrency in (1, 2, 4, 8, 16):
            seconds, summary = timed_run(
                cases, server.url, concurrency, None, Path(tmp) / f"c{concurrency}"
            )
            base = base or seconds
            print(
                f"concurrency {concurrency:2d}: {seconds:6.2f} s, {len(cases) / seconds:6.2f} "
                f"cases/s, speed-up {base / seconds:5.2f}x ({summary.llm_calls} calls)"
            )
        cache = LLMCache(Path(tmp) / "cache")
        first, _ = timed_run(cases, server.url, 4, cache, Path(tmp) / "first")
        again, summary = timed_run(cases, server.url, 4, cache, Path(tmp) / "again")
        print(
            f"cache: first run {first:.2f} s, re-run {again:.3f} s, {first / again:.0f}x faster "
            f"({summary.cache_hits} of {summary.llm_calls} calls from the cache)"
        )


if __name__ == "__main__":
    main()

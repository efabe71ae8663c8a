"""LLM backends: one string names a backend, one factory builds it, one client calls it.

Backends (:mod:`agent.backend_spec`): ``kb`` (no LLM), ``hf:<dir or hub id>[+<LoRA dir>]``,
``openai:<model>@<base url>``, ``fake`` / ``fake:<replies.jsonl>``. Everything an LLM must
return is a pydantic model in :mod:`agent.llm.schemas`, obtained through
:func:`agent.llm.structured.generate_structured` (bounded retries that feed the validation
error back). :class:`agent.llm.client.LLMClient` adds the on-disk cache, transport retries
and the call counters every benchmark reports.
"""

"""The append-only results file of a run (``cases.jsonl``), safe against kills.

Each finished case is one JSON line, written and flushed as soon as the case finishes, so a
killed run loses only the cases in flight. A kill can leave a partial last line: on resume it is
cut off (and its case runs again); a malformed line anywhere else is an error, never skipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, TypeVar

from pydantic import BaseModel, ValidationError

from agent.errors import DataFormatError
from eval.schema import CaseResult

ResultT = TypeVar("ResultT", bound=BaseModel)


def validation_message(exc: ValidationError) -> str:
    """The first problem of a validation error, with where it is: 'pathology: Field required'."""
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "record"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}: {first['msg']}{more}"


def read_cases(path: Path, *, repair: bool = False) -> list[CaseResult]:
    """All finished cases. A partial last line is ignored (and cut off when ``repair``)."""
    return read_results(path, CaseResult, repair=repair)


def read_results(path: Path, model: type[ResultT], *, repair: bool = False) -> list[ResultT]:
    """All finished cases of any benchmark, read as ``model`` (see :func:`read_cases`)."""
    if not path.exists():
        return []
    raw = path.read_bytes()
    lines = raw.split(b"\n")
    last_content = max((i for i, line in enumerate(lines, start=1) if line.strip()), default=0)
    cases: list[ResultT] = []
    good_bytes = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            good_bytes += len(line) + 1
            continue
        try:
            record = json.loads(line.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            if number == last_content and not raw.endswith(b"\n"):
                break  # half-written by a killed run: that case simply did not finish
            raise DataFormatError(
                f"{path}, line {number}: not valid JSON ({exc}). Fix or delete that line, "
                "or run the benchmark into a new folder."
            ) from None
        try:
            cases.append(model.model_validate(record))
        except ValidationError as exc:
            raise DataFormatError(
                f"{path}, line {number}: not a case result ({validation_message(exc)}). "
                "Was the folder written by another version of ddx?"
            ) from None
        good_bytes += len(line) + 1
    if repair:
        with path.open("r+b") as handle:
            if good_bytes < len(raw):
                handle.truncate(good_bytes)
            elif raw and not raw.endswith(b"\n"):  # a complete line cut just before its newline
                handle.seek(0, 2)
                handle.write(b"\n")
    return cases


class ResultsWriter:
    """Appends case results, one flushed line each."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def __enter__(self) -> ResultsWriter:
        self._handle = self.path.open("a", encoding="utf-8")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._handle is not None:
            self._handle.close()

    def write(self, result: BaseModel) -> None:
        assert self._handle is not None, "use ResultsWriter as a context manager"
        self._handle.write(result.model_dump_json() + "\n")
        self._handle.flush()

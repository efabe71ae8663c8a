"""Which consultations belong to which user, and each user's settings: a small SQLite file
beside the checkpoints.

The graph's checkpointer keeps each consultation's state under its thread id, but knows nothing
of users. This index records, for every consultation the app opens, who opened it, with which
knowledge (common conditions or rare diseases), the presenting complaint and a one-line summary
for the sidebar, so a user sees only their own consultations and can reopen them after the app
restarts. It also keeps the settings each user applied, so they outlive reloads and restarts.
It lives in its own file in the state folder (``ui-consultations.sqlite``); one connection per
process behind a lock serves Streamlit's one-thread-per-session model.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel

from data.locations import ensure_folder

INDEX_FILE = "ui-consultations.sqlite"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS consultations (
    thread_id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    title TEXT NOT NULL,
    started REAL NOT NULL,
    updated REAL NOT NULL,
    finished INTEGER NOT NULL DEFAULT 0,
    questions INTEGER NOT NULL DEFAULT 0,
    leading TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS consultations_by_user ON consultations (user_id, updated);
CREATE TABLE IF NOT EXISTS user_settings (
    user_id TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated REAL NOT NULL
);
"""
_ADDED_COLUMNS = {
    "knowledge": "TEXT NOT NULL DEFAULT 'ddxplus'",
    "complaint": "TEXT NOT NULL DEFAULT ''",
}
"""Columns later versions added: an older index file gets them on opening."""


class ConsultationEntry(BaseModel):
    """One line of a user's history."""

    thread_id: str
    title: str
    started: float
    updated: float
    finished: bool
    questions: int
    leading: str
    knowledge: str = "ddxplus"
    complaint: str = ""


class HistoryStore:
    """The user → consultations index, in ``state_dir/ui-consultations.sqlite``."""

    def __init__(self, state_dir: Path) -> None:
        ensure_folder(state_dir, "state folder")
        self.path = state_dir / INDEX_FILE
        # One connection for the process (closing the last one flushes the log to disk, which
        # would cost every answer a disk sync); the lock serialises Streamlit's threads.
        self._conn = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
        self._lock = threading.Lock()
        with self._connect() as conn:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # with WAL: no disk flush per commit
            conn.executescript(_SCHEMA)
            have = {row[1] for row in conn.execute("PRAGMA table_info(consultations)")}
            for name, kind in _ADDED_COLUMNS.items():
                if name not in have:
                    conn.execute(f"ALTER TABLE consultations ADD COLUMN {name} {kind}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:  # commits on success, rolls back on error
            yield self._conn

    def add(
        self,
        user_id: str,
        thread_id: str,
        title: str,
        *,
        knowledge: str = "ddxplus",
        complaint: str = "",
    ) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO consultations (thread_id, user_id, title, started, updated, "
                "knowledge, complaint) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (thread_id, user_id, title, now, now, knowledge, complaint),
            )

    def update(
        self, user_id: str, thread_id: str, *, finished: bool, questions: int, leading: str
    ) -> None:
        with self._connect() as conn:
            conn.execute(
                "UPDATE consultations SET updated = ?, finished = ?, questions = ?, leading = ? "
                "WHERE thread_id = ? AND user_id = ?",
                (time.time(), int(finished), questions, leading, thread_id, user_id),
            )

    def owns(self, user_id: str, thread_id: str) -> bool:
        return self.entry(user_id, thread_id) is not None

    def entry(self, user_id: str, thread_id: str) -> ConsultationEntry | None:
        """The user's entry for one consultation; None when it is not theirs (or unknown)."""
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_FIELDS} FROM consultations WHERE thread_id = ? AND user_id = ?",
                (thread_id, user_id),
            ).fetchone()
        return _entry(row) if row is not None else None

    def list(self, user_id: str, limit: int = 50) -> list[ConsultationEntry]:
        """The user's consultations, most recently touched first."""
        with self._connect() as conn:
            rows = conn.execute(
                f"SELECT {_FIELDS} FROM consultations WHERE user_id = ? "
                "ORDER BY updated DESC LIMIT ?",
                (user_id, limit),
            ).fetchall()
        return [_entry(r) for r in rows]

    def save_settings(self, user_id: str, settings: dict[str, object]) -> None:
        """Keep what the user applied on the settings page (JSON-able values only)."""
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO user_settings (user_id, settings, updated) VALUES (?, ?, ?) "
                "ON CONFLICT (user_id) DO UPDATE SET settings = excluded.settings, "
                "updated = excluded.updated",
                (user_id, json.dumps(settings, sort_keys=True), time.time()),
            )

    def saved_settings(self, user_id: str) -> dict[str, object]:
        """What the user applied last ({} when nothing, or when the stored row is unreadable)."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT settings FROM user_settings WHERE user_id = ?", (user_id,)
            ).fetchone()
        if row is None:
            return {}
        try:
            value = json.loads(row[0])
        except ValueError:
            return {}
        return value if isinstance(value, dict) else {}


_FIELDS = "thread_id, title, started, updated, finished, questions, leading, knowledge, complaint"


def _entry(row: tuple[object, ...]) -> ConsultationEntry:
    return ConsultationEntry.model_validate(dict(zip(_FIELDS.split(", "), row, strict=True)))


@functools.cache
def open_store(state_dir: Path) -> HistoryStore:
    """The one store of a state folder in this process (every engine and session shares it)."""
    return HistoryStore(state_dir)

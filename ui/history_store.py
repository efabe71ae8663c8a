"""Which consultations belong to which user: a small SQLite index beside the checkpoints.

The graph's checkpointer keeps each consultation's state under its thread id, but knows nothing
of users. This index records, for every consultation the app opens, who opened it and a
one-line summary for the sidebar, so a user sees only their own consultations and can reopen
them after the app restarts. It lives in its own file in the state folder
(``ui-consultations.sqlite``); one connection behind a lock serves Streamlit's
one-thread-per-session model.
"""

from __future__ import annotations

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
"""


class ConsultationEntry(BaseModel):
    """One line of a user's history."""

    thread_id: str
    title: str
    started: float
    updated: float
    finished: bool
    questions: int
    leading: str


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

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._conn:  # commits on success, rolls back on error
            yield self._conn

    def add(self, user_id: str, thread_id: str, title: str) -> None:
        now = time.time()
        with self._connect() as conn:
            conn.execute(
                "INSERT INTO consultations (thread_id, user_id, title, started, updated) "
                "VALUES (?, ?, ?, ?, ?)",
                (thread_id, user_id, title, now, now),
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
        with self._connect() as conn:
            row = conn.execute(
                "SELECT 1 FROM consultations WHERE thread_id = ? AND user_id = ?",
                (thread_id, user_id),
            ).fetchone()
        return row is not None

    def list(self, user_id: str, limit: int = 50) -> list[ConsultationEntry]:
        """The user's consultations, most recently touched first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT thread_id, title, started, updated, finished, questions, leading "
                "FROM consultations WHERE user_id = ? ORDER BY updated DESC LIMIT ?",
                (user_id, limit),
            ).fetchall()
        return [
            ConsultationEntry(
                thread_id=r[0],
                title=r[1],
                started=r[2],
                updated=r[3],
                finished=bool(r[4]),
                questions=r[5],
                leading=r[6],
            )
            for r in rows
        ]

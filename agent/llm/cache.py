"""On-disk cache of LLM calls, keyed by the full request and the backend's name.

A re-run of a finished configuration reads every answer from here: it costs no model time and
gives the same result (decoding is greedy, and invalid answers are cached too, so the same
retries happen again). Failed calls are never cached, so they are retried on the next run.
SQLite in WAL mode: safe for threads (one lock) and for forked worker processes (one
connection per process, opened lazily).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

from agent.errors import SettingsError

CACHE_FILE = "llm_calls.sqlite"


class LLMCache:
    def __init__(self, folder: Path) -> None:
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise SettingsError(f"Cannot create the LLM cache folder {folder}: {exc}") from None
        self.path = folder / CACHE_FILE
        self._lock = threading.Lock()
        self._pid = -1
        self._conn: sqlite3.Connection | None = None

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS calls (key TEXT PRIMARY KEY, backend TEXT, reply TEXT)"
            )
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get(self, key: str) -> str | None:
        with self._lock:
            row = (
                self._connection()
                .execute("SELECT reply FROM calls WHERE key = ?", (key,))
                .fetchone()
            )
        return None if row is None else str(row[0])

    def put(self, key: str, backend: str, reply: str) -> None:
        with self._lock:
            conn = self._connection()
            conn.execute(
                "INSERT OR REPLACE INTO calls (key, backend, reply) VALUES (?, ?, ?)",
                (key, backend, reply),
            )
            conn.commit()

    def __len__(self) -> int:
        with self._lock:
            row = self._connection().execute("SELECT COUNT(*) FROM calls").fetchone()
        return int(row[0])

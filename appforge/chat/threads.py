"""Which chat thread belongs to which app, so ``appforge chat --app SLUG`` (and the dashboard)
continue the same conversation. A table of its own in the store's SQLite file."""

from __future__ import annotations

import sqlite3
import time

from appforge.config import Settings

_SCHEMA = """CREATE TABLE IF NOT EXISTS chats (
    slug TEXT PRIMARY KEY,
    thread TEXT NOT NULL,
    updated_at REAL NOT NULL
)"""


def _connect(settings: Settings) -> sqlite3.Connection:
    settings.home.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(settings.db_path, timeout=30)
    conn.execute(_SCHEMA)
    return conn


def remember(settings: Settings, slug: str, thread: str) -> None:
    with _connect(settings) as conn:
        conn.execute("INSERT INTO chats (slug, thread, updated_at) VALUES (?, ?, ?) "
                     "ON CONFLICT(slug) DO UPDATE SET thread = excluded.thread, "
                     "updated_at = excluded.updated_at", (slug, thread, time.time()))
    conn.close()


def thread_of(settings: Settings, slug: str) -> str | None:
    with _connect(settings) as conn:
        row = conn.execute("SELECT thread FROM chats WHERE slug = ?", (slug,)).fetchone()
    conn.close()
    return row[0] if row else None


def forget(settings: Settings, slug: str) -> None:
    with _connect(settings) as conn:
        conn.execute("DELETE FROM chats WHERE slug = ?", (slug,))
    conn.close()

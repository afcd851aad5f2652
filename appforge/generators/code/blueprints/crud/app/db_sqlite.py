"""SQLite storage (the default): ``$DATA_DIR/app.db``, using only the standard library.

The database never grows into the last :data:`RESERVE_BYTES` of free disk space: when the disk
fills, adding a record fails ("database or disk is full", answered 507 by the web layer) while
there is still room for the journals of edits and deletes, so people can make room again.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from app.db import Database, quote
from app.fields import EntityDef

#: Free disk space the database file leaves for rollback journals (a delete needs a few pages).
RESERVE_BYTES = 256 * 1024


def free_bytes(folder: Path) -> int | None:
    """Disk space this process may still use in ``folder`` (None when the system won't say)."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


class SqliteDatabase(Database):
    storage_errors = (sqlite3.OperationalError,)

    def __init__(self, path: Path, entities: tuple[EntityDef, ...], uploads: Path) -> None:
        super().__init__(entities, uploads)
        self.path = Path(path)
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        if not self._ready:
            self.migrate()
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            conn.row_factory = sqlite3.Row
            self._keep_reserve(conn)
            with conn:
                yield conn

    def _keep_reserve(self, conn: sqlite3.Connection) -> None:
        """Let the file grow only into free space beyond the reserve (for this connection)."""
        free = free_bytes(self.path.parent)
        if free is None:
            return
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        growth = max(0, free - RESERVE_BYTES) // page_size
        # SQLite keeps the limit at the current size when asked for less; 0 would mean "no limit".
        conn.execute(f"PRAGMA max_page_count = {max(1, pages + growth)}")

    def migrate(self) -> None:
        with self._lock:
            if self._ready:
                return
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
                for entity in self.entities:
                    self._migrate_table(conn, entity)
            self._ready = True

    @staticmethod
    def _migrate_table(conn: sqlite3.Connection, entity: EntityDef) -> None:
        table = quote(entity.table)
        columns = ", ".join(f"{quote(f.name)} {f.sql_type}" for f in entity.fields)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            f"created_at TEXT NOT NULL, updated_at TEXT NOT NULL, {columns})"
        )
        existing = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for field in entity.fields:
            if field.name not in existing:
                conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN {quote(field.name)} {field.sql_type}"
                )

    def _insert(self, conn: Any, sql: str, params: list[Any]) -> int:
        return int(conn.execute(sql, params).lastrowid or 0)

"""SQLite storage for every entity, using only the standard library.

Each entity has one table named after its plural, with ``id``, ``created_at`` and ``updated_at``
columns plus one column per field. :meth:`Database.migrate` creates missing tables and adds missing
columns, so a newer version of the app (with a new field) starts on an older database unharmed.

A file field's column holds the uploaded file's metadata (stored name, original name, size,
type); the file itself is ``uploads/<stored name>`` beside the database (see app/uploads.py).
Deleting a record deletes its files.

The database never grows into the last :data:`RESERVE_BYTES` of free disk space: when the disk
fills, adding a record fails ("database or disk is full", answered 507 by the web layer) while
there is still room for the journals of edits and deletes, so people can make room again.
"""

from __future__ import annotations

import datetime
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

from app.fields import EntityDef


def _quote(name: str) -> str:
    """Quote an identifier (names are checked identifiers already; this also covers keywords)."""
    return '"' + name.replace('"', '""') + '"'


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


#: Free disk space the database file leaves for rollback journals (a delete needs a few pages).
RESERVE_BYTES = 256 * 1024
#: Ids are SQLite's 64-bit rowids; a larger number names no record (and SQLite cannot take it).
MAX_ID = 2**63 - 1


def _storable(item_id: int) -> bool:
    return 0 < item_id <= MAX_ID


def free_bytes(folder: Path) -> int | None:
    """Disk space this process may still use in ``folder`` (None when the system won't say)."""
    try:
        stats = os.statvfs(folder)
    except OSError:
        return None
    return stats.f_bavail * stats.f_frsize


class Database:
    def __init__(self, path: Path, entities: tuple[EntityDef, ...]) -> None:
        self.path = Path(path)
        #: Where uploaded files are kept (app/uploads.py writes them).
        self.uploads = self.path.parent / "uploads"
        self.entities = entities
        self._ready = False
        self._lock = threading.Lock()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        """A connection inside a transaction: committed on success, rolled back on error."""
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
        """Create missing tables and add missing columns; never drops anything."""
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
        table = _quote(entity.table)
        columns = ", ".join(f"{_quote(f.name)} {f.sql_type}" for f in entity.fields)
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY AUTOINCREMENT, "
            f"created_at TEXT NOT NULL, updated_at TEXT NOT NULL, {columns})"
        )
        existing = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        for field in entity.fields:
            if field.name not in existing:
                conn.execute(
                    f"ALTER TABLE {table} ADD COLUMN {_quote(field.name)} {field.sql_type}"
                )

    # -- reading ---------------------------------------------------------------------------------

    def find(
        self, entity: EntityDef, *, query: str = "", limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Records, newest first; ``query`` keeps those whose text fields contain it."""
        where, params = self._search(entity, query)
        sql = f"SELECT * FROM {_quote(entity.table)}{where} ORDER BY id DESC LIMIT ? OFFSET ?"
        with self.connect() as conn:
            rows = conn.execute(sql, [*params, limit, offset]).fetchall()
        return [self._record(entity, row) for row in rows]

    def count(self, entity: EntityDef, *, query: str = "") -> int:
        where, params = self._search(entity, query)
        with self.connect() as conn:
            return conn.execute(
                f"SELECT COUNT(*) FROM {_quote(entity.table)}{where}", params
            ).fetchone()[0]

    def get(self, entity: EntityDef, item_id: int) -> dict[str, Any] | None:
        if not _storable(item_id):
            return None
        with self.connect() as conn:
            row = conn.execute(
                f"SELECT * FROM {_quote(entity.table)} WHERE id = ?", (item_id,)
            ).fetchone()
        return self._record(entity, row) if row else None

    @staticmethod
    def _search(entity: EntityDef, query: str) -> tuple[str, list[str]]:
        query = query.strip()
        if not query or not entity.searchable:
            return "", []
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses = [f"{_quote(f.name)} LIKE ? ESCAPE '\\'" for f in entity.searchable]
        return " WHERE " + " OR ".join(clauses), [pattern] * len(clauses)

    @staticmethod
    def _record(entity: EntityDef, row: sqlite3.Row) -> dict[str, Any]:
        record: dict[str, Any] = {"id": row["id"]}
        keys = set(row.keys())
        for field in entity.fields:
            value = field.from_db(row[field.name]) if field.name in keys else None
            if field.is_upload and value is not None:
                value = {**value, "url": f"/api/{entity.plural}/{row['id']}/{field.name}"}
            record[field.name] = value
        record["created_at"] = row["created_at"]
        record["updated_at"] = row["updated_at"]
        return record

    # -- writing ---------------------------------------------------------------------------------

    def insert(self, entity: EntityDef, values: dict[str, Any]) -> dict[str, Any]:
        now = _now()
        names = [f.name for f in entity.fields]
        columns = ", ".join(_quote(n) for n in ["created_at", "updated_at", *names])
        marks = ", ".join("?" for _ in range(len(names) + 2))
        params = [now, now, *(f.to_db(values.get(f.name)) for f in entity.fields)]
        with self.connect() as conn:
            cursor = conn.execute(
                f"INSERT INTO {_quote(entity.table)} ({columns}) VALUES ({marks})", params
            )
            item_id = cursor.lastrowid
        record = self.get(entity, int(item_id or 0))
        assert record is not None
        return record

    def update(
        self, entity: EntityDef, item_id: int, values: dict[str, Any]
    ) -> dict[str, Any] | None:
        """Replace every field of a record (a file field only when ``values`` names it: its
        metadata, or None for no file); None when there is no such record."""
        if not _storable(item_id):
            return None
        changed = [f for f in entity.fields if not f.is_upload or f.name in values]
        assignments = ", ".join(f"{_quote(f.name)} = ?" for f in changed)
        params = [_now(), *(f.to_db(values.get(f.name)) for f in changed), item_id]
        with self.connect() as conn:
            cursor = conn.execute(
                f"UPDATE {_quote(entity.table)} SET updated_at = ?, {assignments} WHERE id = ?",
                params,
            )
            if cursor.rowcount == 0:
                return None
        return self.get(entity, item_id)

    def set_file(
        self, entity: EntityDef, item_id: int, name: str, meta: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Point a record's file field at a stored file (None: no file); None when there is no
        such record."""
        if not _storable(item_id):
            return None
        field = entity.field(name)
        assert field is not None and field.is_upload
        with self.connect() as conn:
            cursor = conn.execute(
                f"UPDATE {_quote(entity.table)} SET updated_at = ?, {_quote(name)} = ? "
                "WHERE id = ?",
                (_now(), field.to_db(meta), item_id),
            )
            if cursor.rowcount == 0:
                return None
        return self.get(entity, item_id)

    def stored_files(self, entity: EntityDef, record: dict[str, Any] | None) -> list[str]:
        """The stored names of a record's uploaded files."""
        return [
            record[f.name]["stored"]
            for f in entity.upload_fields
            if record and isinstance(record.get(f.name), dict) and record[f.name].get("stored")
        ]

    def delete(self, entity: EntityDef, item_id: int) -> bool:
        """Delete a record, then its files (a file left by a crash in between is only space)."""
        record = self.get(entity, item_id)
        if record is None:
            return False
        with self.connect() as conn:
            cursor = conn.execute(f"DELETE FROM {_quote(entity.table)} WHERE id = ?", (item_id,))
            if cursor.rowcount == 0:
                return False
        for stored in self.stored_files(entity, record):
            (self.uploads / stored).unlink(missing_ok=True)
        return True

"""Storage for every entity: one table per entity, in SQLite (the default) or in Postgres.

Each entity has one table named after its plural, with ``id``, ``created_at`` and ``updated_at``
columns plus one column per field. ``migrate()`` creates missing tables and adds missing columns,
so a newer version of the app (with a new field) starts on an older database unharmed.

:func:`open_database` picks the backend: a ``postgresql://`` URL in ``$DATABASE_URL`` (appforge
sets it for apps planned with ``--database postgres``, whose replicas share one server) gives
app/db_postgres.py; otherwise the records are in ``$DATA_DIR/app.db`` (app/db_sqlite.py). Both
store the same columns with the same values (money as whole cents, dates as ``YYYY-MM-DD``
text), so this module writes the queries once and a backend only connects, migrates and says
which of its errors mean a full disk.

A file field's column holds the uploaded file's metadata (stored name, original name, size,
type); the file itself is ``$DATA_DIR/uploads/<stored name>`` on the data volume, whichever
backend holds the records (see app/uploads.py). Deleting a record deletes its files.
"""

from __future__ import annotations

import datetime
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from app.fields import EntityDef

#: Ids are 64-bit integers in both backends; a larger number names no record.
MAX_ID = 2**63 - 1


def quote(name: str) -> str:
    """Quote an identifier (names are checked identifiers already; this also covers keywords)."""
    return '"' + name.replace('"', '""') + '"'


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _storable(item_id: int) -> bool:
    return 0 < item_id <= MAX_ID


def open_database(data_dir: Path, entities: tuple[EntityDef, ...], url: str = "") -> Database:
    """The backend ``url`` names (a ``postgresql://`` URL), else SQLite in ``data_dir``."""
    uploads = Path(data_dir) / "uploads"
    if url.startswith(("postgresql://", "postgres://")):
        from app.db_postgres import PostgresDatabase

        return PostgresDatabase(url, entities, uploads)
    if url:
        raise ValueError("DATABASE_URL must be a postgresql:// URL (or unset, for SQLite)")
    from app.db_sqlite import SqliteDatabase

    return SqliteDatabase(Path(data_dir) / "app.db", entities, uploads)


class Database:
    """The records of every entity; a backend supplies :meth:`connect` and :meth:`migrate`."""

    #: The query parameter marker of the backend's driver.
    mark = "?"
    #: How the backend compares text without regard to (ASCII) case.
    like = "LIKE"
    #: Exceptions a write may raise that can mean the disk is full (see web.storage_full).
    storage_errors: tuple[type[BaseException], ...] = ()

    def __init__(self, entities: tuple[EntityDef, ...], uploads: Path) -> None:
        self.entities = entities
        #: Where uploaded files are kept (app/uploads.py writes them).
        self.uploads = Path(uploads)

    def connect(self) -> AbstractContextManager[Any]:
        """A connection inside a transaction: committed on success, rolled back on error."""
        raise NotImplementedError

    def migrate(self) -> None:
        """Create missing tables and add missing columns; never drops anything."""
        raise NotImplementedError

    def _insert(self, conn: Any, sql: str, params: list[Any]) -> int:
        """Run an INSERT; return the new record's id."""
        raise NotImplementedError

    def close(self) -> None:
        """Close what the backend keeps open (when the app stops)."""

    def _matches_nothing(self, query: str) -> bool:
        """Whether no stored text can contain ``query`` (so no row is searched for it)."""
        return False

    # -- reading ---------------------------------------------------------------------------------

    def find(
        self, entity: EntityDef, *, query: str = "", limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        """Records, newest first; ``query`` keeps those whose text fields contain it."""
        if self._matches_nothing(query.strip()):
            return []
        where, params = self._search(entity, query)
        m = self.mark
        sql = f"SELECT * FROM {quote(entity.table)}{where} ORDER BY id DESC LIMIT {m} OFFSET {m}"
        with self.connect() as conn:
            rows = conn.execute(sql, [*params, limit, offset]).fetchall()
        return [self._record(entity, row) for row in rows]

    def count(self, entity: EntityDef, *, query: str = "") -> int:
        if self._matches_nothing(query.strip()):
            return 0
        where, params = self._search(entity, query)
        with self.connect() as conn:
            row = conn.execute(f"SELECT COUNT(*) AS n FROM {quote(entity.table)}{where}",
                               params).fetchone()
        return int(row["n"])

    def get(self, entity: EntityDef, item_id: int) -> dict[str, Any] | None:
        if not _storable(item_id):
            return None
        with self.connect() as conn:
            row = conn.execute(
                f"SELECT * FROM {quote(entity.table)} WHERE id = {self.mark}", (item_id,)
            ).fetchone()
        return self._record(entity, row) if row else None

    def _search(self, entity: EntityDef, query: str) -> tuple[str, list[str]]:
        query = query.strip()
        if not query or not entity.searchable:
            return "", []
        pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses = [f"{quote(f.name)} {self.like} {self.mark} ESCAPE '\\'"
                   for f in entity.searchable]
        return " WHERE " + " OR ".join(clauses), [pattern] * len(clauses)

    @staticmethod
    def _record(entity: EntityDef, row: Any) -> dict[str, Any]:
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
        stamp = now()
        names = [f.name for f in entity.fields]
        columns = ", ".join(quote(n) for n in ["created_at", "updated_at", *names])
        marks = ", ".join(self.mark for _ in range(len(names) + 2))
        params = [stamp, stamp, *(f.to_db(values.get(f.name)) for f in entity.fields)]
        with self.connect() as conn:
            item_id = self._insert(
                conn, f"INSERT INTO {quote(entity.table)} ({columns}) VALUES ({marks})", params
            )
        record = self.get(entity, item_id)
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
        assignments = ", ".join(f"{quote(f.name)} = {self.mark}" for f in changed)
        params = [now(), *(f.to_db(values.get(f.name)) for f in changed), item_id]
        with self.connect() as conn:
            cursor = conn.execute(
                f"UPDATE {quote(entity.table)} SET updated_at = {self.mark}, {assignments} "
                f"WHERE id = {self.mark}",
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
        m = self.mark
        with self.connect() as conn:
            cursor = conn.execute(
                f"UPDATE {quote(entity.table)} SET updated_at = {m}, {quote(name)} = {m} "
                f"WHERE id = {m}",
                (now(), field.to_db(meta), item_id),
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
            cursor = conn.execute(
                f"DELETE FROM {quote(entity.table)} WHERE id = {self.mark}", (item_id,)
            )
            if cursor.rowcount == 0:
                return False
        for stored in self.stored_files(entity, record):
            (self.uploads / stored).unlink(missing_ok=True)
        return True


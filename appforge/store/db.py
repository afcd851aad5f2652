"""The SQLite store: apps, versions and events.

One short-lived connection per operation (WAL mode, a busy timeout), so the CLI, a build and the
dashboard can share the file. Rows come back as small dataclasses.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appforge.errors import AppNotFound, InvalidDomain

SCHEMA = """
CREATE TABLE IF NOT EXISTS apps (
    slug TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    kind TEXT NOT NULL,
    host TEXT NOT NULL,
    url TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'new',
    current_version INTEGER,
    memory_limit TEXT,
    cpu_limit REAL,
    pids_limit INTEGER,
    body_limit TEXT,
    replicas INTEGER,
    node TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    slug TEXT NOT NULL REFERENCES apps(slug) ON DELETE CASCADE,
    version INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'building',
    description TEXT NOT NULL DEFAULT '',
    spec TEXT NOT NULL,
    workspace TEXT NOT NULL,
    image TEXT NOT NULL DEFAULT '',
    upstream TEXT NOT NULL DEFAULT '',
    test_summary TEXT NOT NULL DEFAULT '',
    timings TEXT NOT NULL DEFAULT '{}',
    error TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    screenshot TEXT NOT NULL DEFAULT '',
    settings TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (slug, version)
);
CREATE TABLE IF NOT EXISTS domains (
    host TEXT PRIMARY KEY,
    slug TEXT NOT NULL REFERENCES apps(slug) ON DELETE CASCADE,
    position INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS deployments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL,
    version INTEGER NOT NULL,
    kind TEXT NOT NULL,
    result TEXT NOT NULL,
    container TEXT NOT NULL DEFAULT '',
    seconds REAL NOT NULL DEFAULT 0,
    detail TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    slug TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    message TEXT NOT NULL
);
"""


@dataclass
class AppRecord:
    slug: str
    name: str
    title: str
    kind: str
    host: str
    url: str
    status: str
    current_version: int | None
    created_at: float
    updated_at: float
    memory_limit: str | None = None
    cpu_limit: float | None = None
    pids_limit: int | None = None
    body_limit: str | None = None
    #: Swarm: how many copies run (None: the default, ``APPFORGE_REPLICAS``).
    replicas: int | None = None
    #: Swarm: the node (its ID) holding the app's data volume; None: the manager.
    node: str | None = None


@dataclass
class VersionRecord:
    slug: str
    version: int
    status: str
    description: str
    spec: dict[str, Any]
    workspace: str
    image: str
    upstream: str
    test_summary: str
    timings: dict[str, float] = field(default_factory=dict)
    error: str = ""
    created_at: float = 0.0
    #: The home page as headless Chromium saw it after deploy ('' when none was taken).
    screenshot: str = ""
    #: What this version runs with: ``limits`` (those set: memory, cpus, pids, body) and
    #: ``domains``. They become the app's only when the version deploys; {} for versions made
    #: before settings were kept per version (they run with the app's).
    settings: dict[str, Any] = field(default_factory=dict)


#: Columns added after their table first shipped, for stores made by an earlier appforge.
ADDED_COLUMNS = (("apps", "memory_limit", "TEXT"), ("apps", "cpu_limit", "REAL"),
                 ("apps", "pids_limit", "INTEGER"), ("apps", "body_limit", "TEXT"),
                 ("versions", "screenshot", "TEXT NOT NULL DEFAULT ''"),
                 ("versions", "settings", "TEXT NOT NULL DEFAULT '{}'"),
                 ("apps", "replicas", "INTEGER"), ("apps", "node", "TEXT"))


class Store:
    """Apps, versions, deployments and events in ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            for table, column, kind in ADDED_COLUMNS:
                have = {r["name"] for r in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {kind}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys=ON")
        try:
            yield db
        finally:
            db.close()

    # Apps -------------------------------------------------------------------------------------
    def upsert_app(self, slug: str, name: str, title: str, kind: str, host: str) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO apps (slug, name, title, kind, host, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(slug) DO UPDATE SET name=excluded.name, "
                "title=excluded.title, kind=excluded.kind, host=excluded.host, "
                "updated_at=excluded.updated_at",
                (slug, name, title, kind, host, now, now),
            )

    def get_app(self, slug: str) -> AppRecord:
        with self._connect() as db:
            row = db.execute("SELECT * FROM apps WHERE slug = ?", (slug,)).fetchone()
        if row is None:
            raise AppNotFound(f"no app named {slug!r}", hint="`appforge list` shows the apps")
        return AppRecord(**dict(row))

    def find_app(self, slug: str) -> AppRecord | None:
        try:
            return self.get_app(slug)
        except AppNotFound:
            return None

    def list_apps(self) -> list[AppRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM apps ORDER BY updated_at DESC").fetchall()
        return [AppRecord(**dict(r)) for r in rows]

    def app_for_host(self, host: str) -> AppRecord | None:
        with self._connect() as db:
            row = db.execute("SELECT a.* FROM apps a JOIN domains d ON d.slug = a.slug "
                             "WHERE d.host = ?", (host,)).fetchone()
        return AppRecord(**dict(row)) if row else None

    def check_domains_free(self, slug: str, hosts: list[str]) -> None:
        """Raise :class:`InvalidDomain` if another app already answers at one of ``hosts``."""
        for host in hosts:
            owner = self.app_for_host(host)
            if owner is not None and owner.slug != slug:
                raise InvalidDomain(f"the domain {host} is already used by app {owner.slug!r}",
                                    hint=f"choose another domain, or remove it from "
                                    f"{owner.slug} (appforge destroy {owner.slug})")

    def set_domains(self, slug: str, hosts: list[str]) -> None:
        """Make ``hosts`` (first = primary) the app's domains, refusing any another app has."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                for host in hosts:
                    row = db.execute("SELECT slug FROM domains WHERE host = ?", (host,)).fetchone()
                    if row and row["slug"] != slug:
                        raise InvalidDomain(f"the domain {host} is already used by app "
                                            f"{row['slug']!r}")
                db.execute("DELETE FROM domains WHERE slug = ?", (slug,))
                db.executemany("INSERT INTO domains (host, slug, position) VALUES (?, ?, ?)",
                               [(h, slug, i) for i, h in enumerate(hosts)])
                db.execute("UPDATE apps SET host = ? WHERE slug = ?", (hosts[0], slug))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def domains(self, slug: str) -> list[str]:
        with self._connect() as db:
            rows = db.execute("SELECT host FROM domains WHERE slug = ? ORDER BY position",
                              (slug,)).fetchall()
        return [r["host"] for r in rows]

    def set_app_state(self, slug: str, *, status: str, url: str | None = None,
                      current_version: int | None = None) -> None:
        sets, args = ["status = ?", "updated_at = ?"], [status, time.time()]
        if url is not None:
            sets.append("url = ?")
            args.append(url)
        if current_version is not None:
            sets.append("current_version = ?")
            args.append(current_version)
        with self._connect() as db:
            db.execute(f"UPDATE apps SET {', '.join(sets)} WHERE slug = ?", (*args, slug))

    def replace_limits(self, slug: str, limits: dict[str, Any]) -> None:
        """Make ``limits`` (memory, cpus, pids, body; absent: the default) the app's, exactly."""
        with self._connect() as db:
            db.execute("UPDATE apps SET memory_limit = ?, cpu_limit = ?, pids_limit = ?, "
                       "body_limit = ? WHERE slug = ?",
                       (limits.get("memory"), limits.get("cpus"), limits.get("pids"),
                        limits.get("body"), slug))

    def set_replicas(self, slug: str, replicas: int | None) -> None:
        with self._connect() as db:
            db.execute("UPDATE apps SET replicas = ? WHERE slug = ?", (replicas, slug))

    def set_node(self, slug: str, node: str | None) -> None:
        with self._connect() as db:
            db.execute("UPDATE apps SET node = ? WHERE slug = ?", (node, slug))

    def set_identity(self, slug: str, name: str, title: str, kind: str, host: str) -> None:
        """The app's name, title, kind and primary host, as its serving version has them."""
        with self._connect() as db:
            db.execute("UPDATE apps SET name = ?, title = ?, kind = ?, host = ?, updated_at = ? "
                       "WHERE slug = ?", (name, title, kind, host, time.time(), slug))

    def delete_app(self, slug: str) -> None:
        with self._connect() as db:
            db.execute("DELETE FROM domains WHERE slug = ?", (slug,))
            db.execute("DELETE FROM deployments WHERE slug = ?", (slug,))
            db.execute("DELETE FROM versions WHERE slug = ?", (slug,))
            db.execute("DELETE FROM apps WHERE slug = ?", (slug,))
        self.add_event(slug, "destroy", "app destroyed")

    # Versions ---------------------------------------------------------------------------------
    def new_version(self, slug: str, description: str, spec: dict[str, Any],
                    workspace_root: Path) -> VersionRecord:
        """Allocate the next version number of an app (atomically) and record it."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            (last,) = db.execute("SELECT COALESCE(MAX(version), 0) FROM versions WHERE slug = ?",
                                 (slug,)).fetchone()
            version = last + 1
            workspace = str(workspace_root / slug / f"v{version}")
            db.execute(
                "INSERT INTO versions (slug, version, description, spec, workspace, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (slug, version, description, json.dumps(spec), workspace, time.time()),
            )
            db.execute("COMMIT")
        return self.get_version(slug, version)

    def get_version(self, slug: str, version: int) -> VersionRecord:
        with self._connect() as db:
            row = db.execute("SELECT * FROM versions WHERE slug = ? AND version = ?",
                             (slug, version)).fetchone()
        if row is None:
            raise AppNotFound(f"app {slug!r} has no version {version}")
        return _version(row)

    def list_versions(self, slug: str) -> list[VersionRecord]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM versions WHERE slug = ? ORDER BY version",
                              (slug,)).fetchall()
        return [_version(r) for r in rows]

    def update_version(self, slug: str, version: int, **values: Any) -> None:
        allowed = {"status", "image", "upstream", "test_summary", "timings", "error", "spec",
                   "screenshot", "settings"}
        unknown = set(values) - allowed
        if unknown:
            raise ValueError(f"unknown version columns: {sorted(unknown)}")
        cols = {k: json.dumps(v) if k in ("timings", "spec", "settings") else v
                for k, v in values.items()}
        with self._connect() as db:
            db.execute(
                f"UPDATE versions SET {', '.join(f'{k} = ?' for k in cols)} "
                "WHERE slug = ? AND version = ?",
                (*cols.values(), slug, version),
            )

    def live_routes(self) -> list[tuple[str, tuple[str, ...], str]]:
        """(slug, hosts, upstream) for every deployed app; a stopped app's upstream is ''."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT a.slug, a.status, v.upstream FROM apps a JOIN versions v "
                "ON v.slug = a.slug AND v.version = a.current_version "
                "WHERE a.status IN ('running', 'stopped') AND v.upstream != '' ORDER BY a.slug"
            ).fetchall()
        return [(r["slug"], tuple(self.domains(r["slug"])),
                 r["upstream"] if r["status"] == "running" else "") for r in rows]

    # Deployments ------------------------------------------------------------------------------
    def add_deployment(self, slug: str, version: int, kind: str, result: str, container: str = "",
                       seconds: float = 0.0, detail: str = "") -> None:
        with self._connect() as db:
            db.execute("INSERT INTO deployments (slug, version, kind, result, container, seconds, "
                       "detail, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       (slug, version, kind, result, container, seconds, detail, time.time()))

    def deployments(self, slug: str, limit: int = 50) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM deployments WHERE slug = ? ORDER BY id DESC LIMIT ?",
                              (slug, limit)).fetchall()
        return [dict(r) for r in rows]

    # Events -----------------------------------------------------------------------------------
    def add_event(self, slug: str, kind: str, message: str) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO events (slug, at, kind, message) VALUES (?, ?, ?, ?)",
                       (slug, time.time(), kind, message))

    def events(self, slug: str, limit: int = 100) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM events WHERE slug = ? ORDER BY id DESC LIMIT ?",
                              (slug, limit)).fetchall()
        return [dict(r) for r in rows]


def _version(row: sqlite3.Row) -> VersionRecord:
    data = dict(row)
    data["spec"] = json.loads(data["spec"])
    data["timings"] = json.loads(data["timings"])
    data["settings"] = json.loads(data.get("settings") or "{}")
    return VersionRecord(**data)

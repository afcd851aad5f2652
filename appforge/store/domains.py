"""Domain purchases and their steps, in the same SQLite file as the apps.

Every purchase attempt is a row, refusals included, with the quoted and the charged price in
integer minor units. At most one *live* purchase per name (``submitting``, ``pending``,
``registered``, ``in_doubt``): a unique index makes a second one impossible, so a second ``buy``
of the same name resumes the first instead of paying again. The ``submitting`` row, with its
idempotency key, is committed *before* the registrar's create call is sent.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS domain_purchases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    registrar TEXT NOT NULL,
    sandbox INTEGER NOT NULL DEFAULT 0,
    slug TEXT,
    years INTEGER NOT NULL,
    currency TEXT NOT NULL,
    quoted_minor INTEGER NOT NULL,
    renewal_minor INTEGER,
    max_price_minor INTEGER,
    charged_minor INTEGER,
    charged_source TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    idempotency_key TEXT NOT NULL,
    order_ref TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS one_live_purchase ON domain_purchases(name)
    WHERE state IN ('submitting', 'pending', 'registered', 'in_doubt');
CREATE TABLE IF NOT EXISTS domain_steps (
    purchase_id INTEGER NOT NULL REFERENCES domain_purchases(id),
    step TEXT NOT NULL,
    status TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '',
    at REAL NOT NULL,
    PRIMARY KEY (purchase_id, step)
);
"""

LIVE_STATES = ("submitting", "pending", "registered", "in_doubt")
STATES = ("refused", "quoted", "dry_run_ok", "failed", *LIVE_STATES)


@dataclass
class Purchase:
    id: int
    name: str
    registrar: str
    sandbox: bool
    slug: str | None
    years: int
    currency: str
    quoted_minor: int
    renewal_minor: int | None
    max_price_minor: int | None
    charged_minor: int | None
    charged_source: str
    state: str
    reason: str
    idempotency_key: str
    order_ref: str
    created_at: float
    updated_at: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("idempotency_key")  # not secret, but of no use to a reader
        return data


class LivePurchaseExists(Exception):
    """Internal: a live purchase of the name is already recorded (``purchase`` is it)."""

    def __init__(self, purchase: Purchase) -> None:
        super().__init__(purchase.name)
        self.purchase = purchase


class BudgetExceeded(Exception):
    """Internal: the live purchases already took ``spent_minor``; this one would go over."""

    def __init__(self, spent_minor: int) -> None:
        super().__init__(spent_minor)
        self.spent_minor = spent_minor


class DomainStore:
    """Purchases and steps in the store file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            yield db
        finally:
            db.close()

    def add(self, *, name: str, registrar: str, sandbox: bool, slug: str | None, years: int,
            currency: str, quoted_minor: int, renewal_minor: int | None,
            max_price_minor: int | None, state: str, reason: str = "",
            idempotency_key: str = "") -> Purchase:
        """Record a purchase; a live ``state`` for a name that already has a live purchase
        raises :class:`LivePurchaseExists` (and writes nothing)."""
        assert state in STATES, state
        now = time.time()
        with self._connect() as db:
            try:
                cur = db.execute(
                    "INSERT INTO domain_purchases (name, registrar, sandbox, slug, years, "
                    "currency, quoted_minor, renewal_minor, max_price_minor, state, reason, "
                    "idempotency_key, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, registrar, int(sandbox), slug, years, currency, quoted_minor,
                     renewal_minor, max_price_minor, state, reason, idempotency_key, now, now))
            except sqlite3.IntegrityError:
                live = self.live(name)
                if live is None:
                    raise
                raise LivePurchaseExists(live) from None
            purchase_id = cur.lastrowid
        assert purchase_id is not None
        return self.get(purchase_id)

    def get(self, purchase_id: int) -> Purchase:
        with self._connect() as db:
            row = db.execute("SELECT * FROM domain_purchases WHERE id = ?",
                             (purchase_id,)).fetchone()
        if row is None:
            raise KeyError(purchase_id)
        return _purchase(row)

    def live(self, name: str) -> Purchase | None:
        marks = ", ".join("?" * len(LIVE_STATES))
        with self._connect() as db:
            row = db.execute(f"SELECT * FROM domain_purchases WHERE name = ? AND state IN "
                             f"({marks})", (name, *LIVE_STATES)).fetchone()
        return _purchase(row) if row else None

    def update(self, purchase_id: int, **values: Any) -> Purchase:
        allowed = {"state", "reason", "charged_minor", "charged_source", "order_ref", "slug"}
        assert set(values) <= allowed, values
        if "state" in values:
            assert values["state"] in STATES, values["state"]
        sets = ", ".join(f"{k} = ?" for k in values)
        with self._connect() as db:
            try:
                db.execute(f"UPDATE domain_purchases SET {sets}, updated_at = ? WHERE id = ?",
                           (*values.values(), time.time(), purchase_id))
            except sqlite3.IntegrityError:
                live = self.live(self.get(purchase_id).name)
                if live is None:
                    raise
                raise LivePurchaseExists(live) from None
        return self.get(purchase_id)

    def claim(self, purchase_id: int, budget_minor: int) -> Purchase:
        """Make the purchase ``submitting`` (committed before its create call is sent), in one
        transaction with the check that it and every other live purchase stay within
        ``budget_minor``: two buys of different names at once cannot both spend the last of
        the budget. Raises :class:`BudgetExceeded` or :class:`LivePurchaseExists`."""
        marks = ", ".join("?" * len(LIVE_STATES))
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute("SELECT name, currency, quoted_minor, state FROM "
                                 "domain_purchases WHERE id = ?", (purchase_id,)).fetchone()
                spent = db.execute(
                    f"SELECT COALESCE(SUM(COALESCE(charged_minor, quoted_minor)), 0) AS spent "
                    f"FROM domain_purchases WHERE currency = ? AND state IN ({marks}) AND id != ?",
                    (row["currency"], *LIVE_STATES, purchase_id)).fetchone()["spent"]
                if spent + row["quoted_minor"] > budget_minor:
                    raise BudgetExceeded(int(spent))
                db.execute("UPDATE domain_purchases SET state = 'submitting', reason = '', "
                           "updated_at = ? WHERE id = ?", (time.time(), purchase_id))
                db.execute("COMMIT")
            except sqlite3.IntegrityError:
                db.execute("ROLLBACK")
                live = self.live(row["name"])
                if live is None:
                    raise
                raise LivePurchaseExists(live) from None
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return self.get(purchase_id)

    def purchases(self, name: str | None = None) -> list[Purchase]:
        query, args = "SELECT * FROM domain_purchases", ()
        if name is not None:
            query, args = query + " WHERE name = ?", (name,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [_purchase(r) for r in rows]

    def spent_minor(self, currency: str = "USD") -> int:
        """What live purchases took: the charged amount, else the quote (money in doubt counts
        until proven unspent)."""
        marks = ", ".join("?" * len(LIVE_STATES))
        with self._connect() as db:
            row = db.execute(
                f"SELECT COALESCE(SUM(COALESCE(charged_minor, quoted_minor)), 0) AS spent FROM "
                f"domain_purchases WHERE currency = ? AND state IN ({marks})",
                (currency, *LIVE_STATES)).fetchone()
        return int(row["spent"])

    def record_step(self, purchase_id: int, step: str, status: str, detail: str = "") -> None:
        with self._connect() as db:
            db.execute("INSERT INTO domain_steps (purchase_id, step, status, detail, at) "
                       "VALUES (?, ?, ?, ?, ?) ON CONFLICT(purchase_id, step) DO UPDATE SET "
                       "status=excluded.status, detail=excluded.detail, at=excluded.at",
                       (purchase_id, step, status, detail, time.time()))

    def steps(self, purchase_id: int) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute("SELECT step, status, detail, at FROM domain_steps WHERE "
                              "purchase_id = ? ORDER BY at, rowid", (purchase_id,)).fetchall()
        return [dict(r) for r in rows]


def _purchase(row: sqlite3.Row) -> Purchase:
    data = dict(row)
    data["sandbox"] = bool(data["sandbox"])
    return Purchase(**data)

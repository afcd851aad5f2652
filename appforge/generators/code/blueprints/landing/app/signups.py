"""The people who asked to hear more: email addresses in SQLite, each stored once.

Nothing reads them back over the web; the owner reads ``$DATA_DIR/app.db`` directly.
"""

from __future__ import annotations

import datetime
import re
import sqlite3
from contextlib import closing
from pathlib import Path

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_MAX = 254


def valid_email(text: str) -> str | None:
    """The address, trimmed, or None when it does not look like one."""
    email = text.strip()
    if len(email) > EMAIL_MAX or not EMAIL_RE.match(email):
        return None
    return email


class Signups:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def migrate(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS signups (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "email TEXT NOT NULL UNIQUE COLLATE NOCASE, created_at TEXT NOT NULL)"
            )

    def add(self, email: str) -> None:
        """Store ``email``; an address already stored is left as it is."""
        self.migrate()
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
        with closing(sqlite3.connect(self.path, timeout=10)) as conn, conn:
            conn.execute(
                "INSERT OR IGNORE INTO signups (email, created_at) VALUES (?, ?)", (email, now)
            )

    def count(self) -> int:
        self.migrate()
        with closing(sqlite3.connect(self.path, timeout=10)) as conn:
            return conn.execute("SELECT COUNT(*) FROM signups").fetchone()[0]

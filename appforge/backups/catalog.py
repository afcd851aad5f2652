"""The snapshots on disk: where they live, how they are named, listed, matched and pruned.

A snapshot is a folder ``<backups>/<slug>/<id>/`` holding copies of the files of the app's data
volume and a ``manifest.json`` (who, when, which version was live, why, and each file's size and
SHA-256). The manifest on disk is the source of truth, not a table in the store: a snapshot must
outlive the app it belongs to (``destroy`` deletes the app's rows, and the backups stay), it can be
copied to another machine by copying the folder, and there is no second record that a crash
between two writes could leave disagreeing with the files. A folder becomes a snapshot only by
the atomic rename of ``<id>.partial`` once its manifest is written; anything still ``.partial``
is unfinished and ``repair`` removes it.

Ids sort by time: ``20261129T221530.123Z-pre-deploy-v3`` (UTC to the millisecond, then why).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from appforge.config import Settings
from appforge.errors import InvalidInput

MANIFEST = "manifest.json"
PARTIAL = ".partial"
#: Marks a restore under way (removed when it finishes); ``repair`` reports one left behind.
RESTORING = ".restoring"
REASON_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,40}$")
ID_RE = re.compile(r"^\d{8}T\d{6}\.\d{3}Z-[a-z0-9][a-z0-9-]{0,40}$")
HELPER_UID = 10001

Log = Callable[[str], None]


@dataclass
class Backup:
    id: str
    slug: str
    #: The app's live version when the snapshot was taken (None: not deployed, or unknown).
    version: int | None
    reason: str
    size: int
    files: int
    created_at: float
    path: Path
    #: ``complete``, or ``damaged`` when its manifest cannot be read.
    status: str = "complete"

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["path"] = str(self.path)
        return data


def app_dir(settings: Settings, slug: str, create: bool = False) -> Path:
    """``<backups>/<slug>``; made (with its parent) readable by this user only."""
    path = settings.backups / slug
    if create:
        for folder in (settings.backups, path):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.chmod(0o700)
    return path


def new_id(reason: str, now: float | None = None) -> str:
    if not REASON_RE.match(reason):
        raise InvalidInput(f"invalid backup reason {reason!r}: lowercase letters, digits and "
                           "dashes")
    now = time.time() if now is None else now
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now))
    return f"{stamp}.{int(now * 1000) % 1000:03d}Z-{reason}"


def free_id(root: Path, reason: str, now: float | None = None) -> str:
    """A new id whose folder (finished or partial) does not exist yet."""
    now = time.time() if now is None else now
    while True:
        backup_id = new_id(reason, now)
        if not (root / backup_id).exists() and not (root / (backup_id + PARTIAL)).exists():
            return backup_id
        now += 0.001


def check_id(backup_id: str) -> str:
    if not ID_RE.match(backup_id):
        raise InvalidInput(f"invalid backup id {backup_id!r}",
                           hint="`appforge backups SLUG` lists the ids")
    return backup_id


def read(path: Path, slug: str) -> Backup:
    """The snapshot in ``path`` as its manifest describes it (``damaged`` when unreadable)."""
    try:
        manifest = json.loads((path / MANIFEST).read_text())
        return Backup(id=path.name, slug=slug, version=manifest.get("version"),
                      reason=manifest["reason"], size=int(manifest["size"]),
                      files=len(manifest["files"]), created_at=float(manifest["created_at"]),
                      path=path)
    except (OSError, ValueError, KeyError, TypeError):
        reason = path.name.split("-", 1)[1] if "-" in path.name else ""
        return Backup(id=path.name, slug=slug, version=None, reason=reason, size=0, files=0,
                      created_at=0.0, path=path, status="damaged")


def list_backups(settings: Settings, slug: str) -> list[Backup]:
    """The app's finished snapshots, newest first."""
    root = app_dir(settings, slug)
    if not root.is_dir():
        return []
    found = [read(p, slug) for p in root.iterdir() if p.is_dir() and ID_RE.match(p.name)]
    return sorted(found, key=lambda b: b.id, reverse=True)


def find(settings: Settings, slug: str, backup_id: str) -> Backup:
    check_id(backup_id)
    for backup in list_backups(settings, slug):
        if backup.id == backup_id:
            if backup.status != "complete":
                raise InvalidInput(f"backup {backup_id} of {slug} is damaged (no readable "
                                   "manifest)", hint="choose another one: `appforge backups "
                                   f"{slug}`")
            return backup
    raise InvalidInput(f"{slug} has no backup {backup_id}",
                       hint=f"`appforge backups {slug}` lists them")


def newest(settings: Settings, slug: str, version: int | None = None) -> Backup | None:
    """The newest complete snapshot (taken while ``version`` was live, when given)."""
    return next((b for b in list_backups(settings, slug) if b.status == "complete"
                 and (version is None or b.version == version)), None)


def prune(settings: Settings, slug: str, log: Log, keep: int | None = None) -> list[str]:
    """Delete all but the newest ``keep`` (default ``settings.backup_keep``) snapshots."""
    keep = settings.backup_keep if keep is None else keep
    removed = []
    for backup in list_backups(settings, slug)[keep:]:
        shutil.rmtree(backup.path, ignore_errors=True)
        removed.append(backup.id)
    if removed:
        log(f"removed {len(removed)} old backup(s) of {slug} (keeping {keep}): "
            f"{', '.join(removed)}")
    return removed


def open_to_helper(path: Path) -> int:
    """Let the helper's uid write ``path``; return the umask it should use.

    As root, the folder is given to uid 10001 (its parents stay 0700 and root's). Otherwise the
    folder is opened to everyone while the helper runs (its parents still keep others out), and
    the helper writes with umask 0, so this user can delete what it wrote.
    """
    if os.geteuid() == 0:
        os.chown(path, HELPER_UID, HELPER_UID)
        return 0o077
    path.chmod(0o777)
    return 0


def close_to_others(path: Path) -> None:
    if os.geteuid() != 0:
        path.chmod(0o700)


def size_label(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"

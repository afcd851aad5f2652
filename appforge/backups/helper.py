"""The script a backup helper container runs: copy an app's /data into a snapshot, or back.

It runs inside a hardened container from the Python base image (uid 10001, no network), so it
uses only the standard library and is handed to ``python3 -c`` as source; the host never opens
the app's files itself. SQLite databases (found by their 16-byte header, not their name) go
through SQLite's online backup API, so a database being written is captured, and restored, as one
consistent transaction: a running app sees the restored rows at its next query. Other files are
copied (on restore through a temporary file and a rename). Every file's size and SHA-256 go into
``manifest.json``, and a restore checks them before it touches anything.

Usage: ``python3 -c SOURCE snapshot|restore|wipe OPTIONS_JSON``. The last line of output is a JSON
report; the exit code is 0 when done, 28 when a disk is full, 1 otherwise.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import sqlite3
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

SQLITE_HEADER = b"SQLite format 3\x00"
#: Files SQLite keeps beside a database while it is open; they belong to the live database only.
SIDE_SUFFIXES = ("-wal", "-shm", "-journal")
MANIFEST = "manifest.json"
TEMP_PREFIX = ".appforge-restore-"
DISK_FULL_EXIT = 28
SQLITE_FULL = 13


class Damaged(Exception):
    """A snapshot file is missing or does not match its checksum."""


def is_sqlite(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(16) == SQLITE_HEADER
    except OSError:
        return False


def is_side_file(path: Path) -> bool:
    """``x.db-wal`` and friends, next to a database ``x.db``."""
    for suffix in SIDE_SUFFIXES:
        if path.name.endswith(suffix) and is_sqlite(path.with_name(path.name[:-len(suffix)])):
            return True
    return False


def walk(root: Path) -> tuple[list[str], list[str]]:
    """Regular files and folders under ``root`` as sorted relative paths (links, sockets,
    SQLite's side files and our own temporary files are left out)."""
    files, dirs = [], []
    for here, subdirs, names in os.walk(root):
        base = Path(here)
        subdirs[:] = sorted(d for d in subdirs if not (base / d).is_symlink())
        dirs += [(base / d).relative_to(root).as_posix() for d in subdirs]
        for name in sorted(names):
            path = base / name
            if path.is_symlink() or not path.is_file() or name.startswith(TEMP_PREFIX) \
                    or is_side_file(path):
                continue
            files.append(path.relative_to(root).as_posix())
    return sorted(files), sorted(dirs)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def backup_sqlite(source: Path, target: Path) -> None:
    """One consistent copy of a live database, as a self-contained file (no -wal beside it)."""
    with closing(sqlite3.connect(source, timeout=30)) as src, \
            closing(sqlite3.connect(target)) as dst:
        src.backup(dst)  # all pages in one step: one read transaction, one consistent state
        dst.execute("PRAGMA journal_mode=DELETE")


def snapshot(data: Path, dest: Path, meta: dict[str, Any]) -> dict[str, Any]:
    files, dirs = walk(data)
    entries = []
    for rel in files:
        source, target = data / rel, dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if is_sqlite(source):
            backup_sqlite(source, target)
            kind = "sqlite"
        else:
            shutil.copyfile(source, target)
            kind = "file"
        fsync(target)
        entries.append({"path": rel, "kind": kind, "size": target.stat().st_size,
                        "sha256": sha256(target)})
    manifest = {**meta, "files": entries, "dirs": dirs,
                "size": sum(e["size"] for e in entries)}
    temp = dest / (MANIFEST + ".tmp")
    temp.write_text(json.dumps(manifest, indent=1))
    fsync(temp)
    temp.rename(dest / MANIFEST)
    return {"files": len(entries), "size": manifest["size"]}


def check(snap: Path, manifest: dict[str, Any]) -> None:
    for entry in manifest["files"]:
        path = snap / entry["path"]
        if not path.is_file() or sha256(path) != entry["sha256"]:
            raise Damaged(f"{entry['path']} is missing from the snapshot or does not match "
                          "its checksum")


def restore_file(source: Path, target: Path, kind: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite" and is_sqlite(target):
        # Into the live database, as one write transaction: readers see the old or the new.
        with closing(sqlite3.connect(f"file:{source}?immutable=1", uri=True)) as src, \
                closing(sqlite3.connect(target, timeout=30)) as dst:
            src.backup(dst)
        return
    temp = target.with_name(TEMP_PREFIX + target.name)
    try:
        shutil.copyfile(source, temp)
        fsync(temp)
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def remove_extras(data: Path, manifest: dict[str, Any]) -> int:
    """Delete what the snapshot did not have (a database goes with its side files)."""
    keep = {e["path"] for e in manifest["files"]}
    files, dirs = walk(data)
    removed = 0
    for rel in files:
        if rel not in keep:
            for suffix in ("", *SIDE_SUFFIXES):
                (data / (rel + suffix)).unlink(missing_ok=True)
            removed += 1
    wanted = set(manifest.get("dirs", []))
    for rel in sorted(dirs, reverse=True):
        if rel not in wanted and not any((data / rel).iterdir()):
            (data / rel).rmdir()
    return removed


def restore(snap: Path, data: Path) -> dict[str, Any]:
    manifest = json.loads((snap / MANIFEST).read_text())
    check(snap, manifest)
    for stale in data.rglob(TEMP_PREFIX + "*"):  # left by a restore that was killed
        stale.unlink(missing_ok=True)
    for rel in manifest.get("dirs", []):
        (data / rel).mkdir(parents=True, exist_ok=True)
    for entry in manifest["files"]:
        restore_file(snap / entry["path"], data / entry["path"], entry["kind"])
    removed = remove_extras(data, manifest)
    return {"files": len(manifest["files"]), "size": manifest["size"], "removed": removed}


def wipe(data: Path) -> dict[str, Any]:
    """Empty ``data`` (an old copy of an app's data, once the app moved to another node)."""
    removed = 0
    for entry in list(data.iterdir()):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
        removed += 1
    return {"files": 0, "size": 0, "removed": removed}


def disk_full(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return exc.errno in (errno.ENOSPC, errno.EDQUOT)
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == SQLITE_FULL or "disk is full" in str(exc))


def main(argv: list[str]) -> int:
    mode, options = argv[0], json.loads(argv[1])
    os.umask(options.get("umask", 0o022))
    data, backup = Path(options.get("data", "/data")), Path(options.get("backup", "/backup"))
    try:
        if mode == "snapshot":
            report = snapshot(data, backup, options["meta"])
        elif mode == "wipe":
            report = wipe(data)
        else:
            report = restore(backup, data)
    except Damaged as exc:
        print(json.dumps({"ok": False, "error": "damaged", "message": str(exc)}))
        return 1
    except (OSError, sqlite3.Error) as exc:
        full = disk_full(exc)
        print(json.dumps({"ok": False, "error": "disk-full" if full else "failed",
                          "message": f"{type(exc).__name__}: {exc}",
                          "path": getattr(exc, "filename", None) or ""}))
        return DISK_FULL_EXIT if full else 1
    print(json.dumps({"ok": True, **report}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

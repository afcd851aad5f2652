"""The two ends of a snapshot or restore of data that lives on another node of a swarm.

An app moved to another node (``appforge move``) keeps its volume there, where the manager's
engine cannot mount it. Its snapshots and restores then run in two halves joined by one TCP
connection over the app's own internal overlay network:

- ``serve`` runs as a one-shot Swarm service on the node that holds the volume (``/data``), from
  the app's own image (which every node can pull from the cluster's registry).
- ``connect`` runs in a helper container on the manager with the snapshot folder at ``/backup``,
  and dials the service by its name.

Modes (the same words as ``helper.py``'s, and the same JSON report as its last line):

- ``snapshot``: ``serve`` takes the snapshot with ``helper.snapshot`` (SQLite's backup API) into
  its tmpfs, then sends a header line and a tar of it; ``connect`` unpacks it into ``/backup`` and
  checks every file against the manifest.
- ``restore``: ``connect`` sends a tar of the snapshot; ``serve`` unpacks it into its tmpfs,
  checks it, restores it with ``helper.restore`` and answers with the report.
- ``wipe``: ``serve`` empties ``/data`` (an old copy, once its app moved on) and answers.

This file is appended to ``helper.py``'s source (without its ``__main__`` block) and run with
``python3 -c``: only the standard library, and the helper's functions are in scope.
"""

# ruff: noqa: F821  (snapshot, restore, wipe, check, disk_full, Damaged, MANIFEST: helper.py's)
from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import sys
import tarfile
import time
from pathlib import Path
from typing import Any

PORT = 7070
STAGE = Path("/tmp/appforge-relay")
#: How long the server waits for its other half, and the other half for the server's name.
WAIT_S = 120.0


def _report_of(exc: BaseException) -> dict[str, Any]:
    if isinstance(exc, Damaged):
        return {"ok": False, "error": "damaged", "message": str(exc)}
    full = disk_full(exc)
    return {"ok": False, "error": "disk-full" if full else "failed",
            "message": f"{type(exc).__name__}: {exc}"}


def _send_tar(stream: Any, folder: Path) -> None:
    with tarfile.open(fileobj=stream, mode="w|") as tar:
        for entry in sorted(folder.rglob("*")):
            if entry.is_file() or entry.is_dir():
                tar.add(entry, arcname=str(entry.relative_to(folder)), recursive=False)


def _receive_tar(stream: Any, folder: Path) -> None:
    """Unpack regular files and folders only, each strictly inside ``folder`` (Debian 12's
    Python 3.11.2 has no extraction filters)."""
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            target = (root / member.name).resolve()
            if target != root and root not in target.parents:
                raise tarfile.TarError(f"{member.name!r} points outside the folder")
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
            elif member.isfile():
                target.parent.mkdir(parents=True, exist_ok=True)
                source = tar.extractfile(member)
                assert source is not None
                with source, target.open("wb") as out:
                    shutil.copyfileobj(source, out, 1 << 20)


def serve(mode: str, options: dict[str, Any]) -> int:
    data, stage = Path(options.get("data", "/data")), Path(options.get("stage", STAGE))
    listener = socket.create_server(("", int(options.get("port", PORT))))
    listener.settimeout(WAIT_S)
    header: dict[str, Any] = {"ok": True}
    if mode == "snapshot":  # taken before the other half asks: it is the slow part
        try:
            stage.mkdir(parents=True, exist_ok=True)
            snapshot(data, stage, options["meta"])
        except (OSError, sqlite3.Error) as exc:
            header = _report_of(exc)
    try:
        conn, _ = listener.accept()
    except TimeoutError:
        print(json.dumps({"ok": False, "error": "failed",
                          "message": "the manager's half never connected"}))
        return 1
    conn.settimeout(WAIT_S)
    with conn, conn.makefile("rwb") as stream:
        if mode == "snapshot":
            stream.write((json.dumps(header) + "\n").encode())
            if header["ok"]:
                _send_tar(stream, stage)
            stream.flush()
            print(json.dumps(header))
            return 0 if header["ok"] else 1
        try:
            if mode == "restore":
                _receive_tar(stream, stage)
                report = {"ok": True, **restore(stage, data)}
            else:
                report = {"ok": True, **wipe(data)}
        except (OSError, sqlite3.Error, tarfile.TarError, Damaged) as exc:
            report = _report_of(exc) if not isinstance(exc, tarfile.TarError) else {
                "ok": False, "error": "failed", "message": f"the snapshot arrived broken: {exc}"}
        stream.write((json.dumps(report) + "\n").encode())
        stream.flush()
    print(json.dumps(report))
    return 0 if report["ok"] else 1


def _dial(host: str, port: int) -> socket.socket:
    deadline = time.monotonic() + WAIT_S
    while True:
        try:
            return socket.create_connection((host, port), timeout=WAIT_S)
        except OSError:  # its name is not known yet, or it does not listen yet
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


def connect(mode: str, options: dict[str, Any]) -> int:
    backup = Path(options.get("backup", "/backup"))
    try:
        conn = _dial(options["host"], int(options.get("port", PORT)))
    except OSError as exc:
        print(json.dumps({"ok": False, "error": "unreachable",
                          "message": f"no answer from the node's half: {exc}"}))
        return 1
    with conn, conn.makefile("rwb") as stream:
        try:
            if mode == "snapshot":
                report = json.loads(stream.readline() or b'{"ok": false, "error": "failed", '
                                    b'"message": "the node closed the connection"}')
                if report.get("ok"):
                    _receive_tar(stream, backup)
                    manifest = json.loads((backup / MANIFEST).read_text())
                    check(backup, manifest)
                    report = {"ok": True, "files": len(manifest["files"]),
                              "size": manifest["size"]}
            else:
                if mode == "restore":
                    _send_tar(stream, backup)
                stream.flush()
                conn.shutdown(socket.SHUT_WR)
                line = stream.readline()
                report = json.loads(line) if line else {
                    "ok": False, "error": "failed", "message": "the node's half ended without "
                    "a report"}
        except (OSError, sqlite3.Error, Damaged) as exc:
            report = _report_of(exc)
        except (tarfile.TarError, ValueError) as exc:
            report = {"ok": False, "error": "failed", "message": f"the transfer broke: {exc}"}
    print(json.dumps(report))
    return 0 if report.get("ok") else (DISK_FULL_EXIT if report.get("error") == "disk-full"
                                       else 1)


def relay_main(argv: list[str]) -> int:
    role, mode, options = argv[0], argv[1], json.loads(argv[2])
    os.umask(options.get("umask", 0o022))
    return serve(mode, options) if role == "serve" else connect(mode, options)


if __name__ == "__main__":
    sys.exit(relay_main(sys.argv[1:]))

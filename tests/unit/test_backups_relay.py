"""The two halves of a snapshot or restore of data on another swarm node (``backups/relay.py``),
run here as the two processes they are, joined by a TCP connection on loopback: what the node's
half and the manager's half do to the files, whatever the network between them."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

from appforge.backups.remote import script


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def relay(mode: str, serve: dict[str, Any], connect: dict[str, Any]) -> tuple[dict, dict]:
    """Both halves of ``mode``; their last output lines (their reports)."""
    port = free_port()
    source = script()
    node = subprocess.Popen([sys.executable, "-c", source, "serve", mode,
                             json.dumps({**serve, "port": port})],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    manager = subprocess.run([sys.executable, "-c", source, "connect", mode,
                              json.dumps({**connect, "host": "127.0.0.1", "port": port})],
                             capture_output=True, text=True, timeout=120, check=False)
    node_out, _ = node.communicate(timeout=120)
    last = (manager.stdout.strip().splitlines() or ["{}"])[-1]
    return json.loads(last), json.loads((node_out.strip().splitlines() or ["{}"])[-1])


def app_data(root: Path) -> Path:
    data = root / "data"
    (data / "uploads").mkdir(parents=True)
    (data / "uploads" / "photo.txt").write_text("a picture")
    with closing(sqlite3.connect(data / "app.db")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE plants (name TEXT)")
        db.executemany("INSERT INTO plants VALUES (?)", [("fern",), ("cactus",)])
        db.commit()
    return data


def rows(db: Path) -> list[str]:
    with closing(sqlite3.connect(db)) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM plants ORDER BY name")]


def test_snapshot_then_restore_across_the_connection(tmp_path: Path) -> None:
    data, backup = app_data(tmp_path), tmp_path / "backup"
    backup.mkdir()
    # A connection holds the database open, as the running app would (its WAL not checkpointed).
    live = sqlite3.connect(data / "app.db")
    live.execute("INSERT INTO plants VALUES ('ivy')")
    live.commit()
    manager, node = relay("snapshot", {"data": str(data), "stage": str(tmp_path / "stage-a"),
                                       "meta": {"id": "x", "slug": "sprout"}},
                          {"backup": str(backup)})
    live.close()
    assert manager["ok"] and node["ok"], (manager, node)
    assert manager["files"] == 2
    manifest = json.loads((backup / "manifest.json").read_text())
    assert {e["path"]: e["kind"] for e in manifest["files"]} == {"app.db": "sqlite",
                                                                 "uploads/photo.txt": "file"}
    assert rows(backup / "app.db") == ["cactus", "fern", "ivy"]

    # Onto another node's volume, which holds something else: exactly the snapshot afterwards.
    other = tmp_path / "other"
    other.mkdir()
    (other / "stale.txt").write_text("from before")
    manager, node = relay("restore", {"data": str(other), "stage": str(tmp_path / "stage-b")},
                          {"backup": str(backup)})
    assert manager["ok"] and node["ok"], (manager, node)
    assert manager["removed"] == 1 and not (other / "stale.txt").exists()
    assert rows(other / "app.db") == ["cactus", "fern", "ivy"]
    assert (other / "uploads" / "photo.txt").read_text() == "a picture"


def test_a_damaged_snapshot_changes_nothing_on_the_node(tmp_path: Path) -> None:
    data, backup = app_data(tmp_path), tmp_path / "backup"
    backup.mkdir()
    relay("snapshot", {"data": str(data), "stage": str(tmp_path / "s1"), "meta": {}},
          {"backup": str(backup)})
    (backup / "uploads" / "photo.txt").write_text("tampered")
    target = tmp_path / "target"
    target.mkdir()
    (target / "keep.txt").write_text("today's data")
    manager, _ = relay("restore", {"data": str(target), "stage": str(tmp_path / "s2")},
                       {"backup": str(backup)})
    assert manager == {"ok": False, "error": "damaged", "message": manager["message"]}
    assert "uploads/photo.txt" in manager["message"]
    assert [p.name for p in target.iterdir()] == ["keep.txt"]


def test_wipe_empties_an_old_copy(tmp_path: Path) -> None:
    data = app_data(tmp_path)
    manager, node = relay("wipe", {"data": str(data)}, {})
    assert manager["ok"] and manager["removed"] == 2  # app.db (and its side files), uploads/
    assert list(data.iterdir()) == []


def test_no_node_half_is_a_clear_report(tmp_path: Path, monkeypatch: Any) -> None:
    port = free_port()  # nobody listens there
    done = subprocess.run(
        [sys.executable, "-c", script().replace("WAIT_S = 120.0", "WAIT_S = 1.0"), "connect",
         "wipe", json.dumps({"host": "127.0.0.1", "port": port})],
        capture_output=True, text=True, timeout=60, check=False)
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert done.returncode == 1
    assert report["error"] == "unreachable" and "no answer" in report["message"]

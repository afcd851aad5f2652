"""Backups without an engine: the helper script on real files and real SQLite databases (as it
runs inside its container), ids, listing and retention on disk, the rollback's note about data
of another shape, the CLI's refusal without --yes, and the dashboard's backups card.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from appforge.backups import catalog, helper, list_backups
from appforge.backups.schema import before_rollback
from appforge.config import Settings
from appforge.errors import InvalidInput
from appforge.store import Store
from tests.conftest import appforge_env

PLANTS = {"entities": [{"name": "plant", "plural": "plants", "fields": [
    {"name": "name", "type": "text"}, {"name": "location", "type": "text"}]}]}
PLANTS_PINNED = {"entities": [{"name": "plant", "plural": "plants", "fields": [
    {"name": "name", "type": "text"}, {"name": "location", "type": "text"},
    {"name": "pinned", "type": "boolean"}]}]}


def _run_helper(mode: str, options: dict) -> tuple[int, dict]:
    """helper.py as its container runs it: ``python3 -c SOURCE mode OPTIONS``."""
    proc = subprocess.run([sys.executable, "-c", Path(helper.__file__).read_text(), mode,
                           json.dumps(options)], capture_output=True, text=True, timeout=60,
                          check=False)
    return proc.returncode, json.loads(proc.stdout.strip().splitlines()[-1])


def _data(root: Path) -> Path:
    data = root / "data"
    (data / "uploads").mkdir(parents=True)
    with closing(sqlite3.connect(data / "app.db")) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE plants (id INTEGER PRIMARY KEY, name TEXT)")
        db.execute("INSERT INTO plants (name) VALUES ('fern'), ('basil')")
        db.commit()
    (data / "uploads" / "fern.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    return data


def _names(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return [r[0] for r in db.execute("SELECT name FROM plants ORDER BY id")]


def _take(settings: Settings, slug: str, data: Path, reason: str, version: int | None = 1,
          now: float | None = None) -> str:
    """A finished snapshot on disk, made by the helper as ``snapshot`` makes them."""
    root = catalog.app_dir(settings, slug, create=True)
    backup_id = catalog.free_id(root, reason, now)
    (root / backup_id).mkdir()
    meta = {"id": backup_id, "slug": slug, "version": version, "reason": reason,
            "created_at": now or 1.0}
    code, report = _run_helper("snapshot", {"data": str(data), "backup": str(root / backup_id),
                                            "meta": meta})
    assert code == 0 and report["ok"], report
    return backup_id


# -- the helper ------------------------------------------------------------------------------

def test_a_snapshot_of_a_database_being_written_is_consistent_and_listed_in_the_manifest(
        tmp_path: Path) -> None:
    data = _data(tmp_path)
    stop = threading.Event()

    def write() -> None:  # pairs of rows, each pair in one transaction
        with closing(sqlite3.connect(data / "app.db", timeout=30)) as db:
            while not stop.is_set():
                with db:
                    db.execute("INSERT INTO plants (name) VALUES ('a')")
                    db.execute("INSERT INTO plants (name) VALUES ('b')")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        code, report = _run_helper("snapshot", {"data": str(data), "backup": str(tmp_path / "s"),
                                                "meta": {"reason": "manual"}})
    finally:
        stop.set()
        writer.join()
    assert code == 0 and report["ok"], report
    copy = tmp_path / "s" / "app.db"
    with closing(sqlite3.connect(copy)) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        (count,) = db.execute("SELECT COUNT(*) FROM plants").fetchone()
    assert count % 2 == 0  # never half a transaction
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())
    files = {f["path"]: f for f in manifest["files"]}
    assert set(files) == {"app.db", "uploads/fern.jpg"}  # no -wal or -shm of the live database
    assert files["app.db"]["kind"] == "sqlite" and files["uploads/fern.jpg"]["kind"] == "file"
    assert files["uploads/fern.jpg"]["size"] == len(b"\xff\xd8 not really a jpeg")
    assert re.fullmatch(r"[0-9a-f]{64}", files["app.db"]["sha256"])
    assert not (tmp_path / "s" / "app.db-wal").exists()  # the copy stands alone


def test_restore_writes_into_the_live_database_and_removes_what_the_snapshot_lacked(
        tmp_path: Path) -> None:
    data = _data(tmp_path)
    _run_helper("snapshot", {"data": str(data), "backup": str(tmp_path / "s"),
                             "meta": {"reason": "manual"}})
    live = sqlite3.connect(data / "app.db", isolation_level=None)  # the running app's connection
    live.execute("DELETE FROM plants WHERE name = 'fern'")
    (data / "uploads" / "later.txt").write_text("added after the snapshot")
    (data / "uploads" / "fern.jpg").write_text("changed")
    code, report = _run_helper("restore", {"data": str(data), "backup": str(tmp_path / "s")})
    assert code == 0 and report == {"ok": True, "files": 2, "size": report["size"], "removed": 1}
    assert [r[0] for r in live.execute("SELECT name FROM plants ORDER BY id")] == ["fern", "basil"]
    assert live.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # still the app's mode
    live.close()
    assert (data / "uploads" / "fern.jpg").read_bytes() == b"\xff\xd8 not really a jpeg"
    assert not (data / "uploads" / "later.txt").exists()


def test_a_damaged_snapshot_is_refused_before_anything_is_touched(tmp_path: Path) -> None:
    data = _data(tmp_path)
    _run_helper("snapshot", {"data": str(data), "backup": str(tmp_path / "s"),
                             "meta": {"reason": "manual"}})
    (tmp_path / "s" / "uploads" / "fern.jpg").write_text("bit rot")
    with closing(sqlite3.connect(data / "app.db")) as db, db:
        db.execute("INSERT INTO plants (name) VALUES ('today')")
    code, report = _run_helper("restore", {"data": str(data), "backup": str(tmp_path / "s")})
    assert code == 1 and report["error"] == "damaged"
    assert "uploads/fern.jpg" in report["message"]
    assert _names(data / "app.db") == ["fern", "basil", "today"]


# -- ids, listing, retention -----------------------------------------------------------------

def test_ids_sort_by_time_carry_the_reason_and_never_collide(tmp_path: Path) -> None:
    first = catalog.new_id("pre-deploy-v3", 1795990530.25)
    assert first == "20261129T221530.250Z-pre-deploy-v3"
    assert catalog.new_id("manual", 1795990531.0) > first
    (tmp_path / first).mkdir()
    assert catalog.free_id(tmp_path, "pre-deploy-v3", 1795990530.25) != first
    with pytest.raises(InvalidInput):
        catalog.new_id("../etc")
    with pytest.raises(InvalidInput):
        catalog.check_id("../../etc/passwd")


def test_backups_are_listed_newest_first_and_only_the_newest_are_kept(
        settings: Settings, tmp_path: Path) -> None:
    data = _data(tmp_path)
    ids = [_take(settings, "sprout", data, reason, now=1795990000.0 + i)
           for i, reason in enumerate(["manual", "pre-deploy-v2", "manual", "pre-restore"])]
    (catalog.app_dir(settings, "sprout") / "20991231T000000.000Z-manual.partial").mkdir()
    listed = list_backups(settings, "sprout")
    assert [b.id for b in listed] == ids[::-1]  # an unfinished .partial is no backup
    assert listed[0].reason == "pre-restore" and listed[0].files == 2 and listed[0].size > 0
    assert oct(settings.backups.stat().st_mode & 0o777) == "0o700"
    assert oct(catalog.app_dir(settings, "sprout").stat().st_mode & 0o777) == "0o700"
    said: list[str] = []
    removed = catalog.prune(settings, "sprout", said.append, keep=2)
    assert sorted(removed) == ids[:2]
    assert [b.id for b in list_backups(settings, "sprout")] == ids[:1:-1]
    assert "keeping 2" in said[0]


def test_a_snapshot_without_a_readable_manifest_is_listed_as_damaged(settings: Settings) -> None:
    root = catalog.app_dir(settings, "sprout", create=True)
    (root / "20261129T221530.000Z-manual").mkdir()
    (listed,) = list_backups(settings, "sprout")
    assert listed.status == "damaged" and listed.reason == "manual"
    with pytest.raises(InvalidInput, match="damaged"):
        catalog.find(settings, "sprout", listed.id)


# -- rollback across data shapes ---------------------------------------------------------------

def _two_versions(settings: Settings) -> Store:
    store = Store(settings.db_path)
    store.upsert_app("sprout", "Sprout", "Sprout", "crud", "sprout.localhost")
    store.new_version("sprout", "v1", PLANTS, settings.workspaces)
    store.new_version("sprout", "v2", PLANTS_PINNED, settings.workspaces)
    store.set_app_state("sprout", status="running", current_version=2)
    return store


def test_rollback_to_another_data_shape_names_the_matching_snapshot_and_keeps_todays_data(
        settings: Settings, tmp_path: Path) -> None:
    store = _two_versions(settings)
    data = _data(tmp_path)
    older = _take(settings, "sprout", data, "manual", version=1, now=1795990000.0)
    _take(settings, "sprout", data, "pre-deploy-v2", version=1, now=1795990100.0)
    _take(settings, "sprout", data, "manual", version=2, now=1795990200.0)
    said: list[str] = []
    assert before_rollback(settings, store, "sprout", 2, 1, False, said.append) is None
    text = "\n".join(said)
    assert "another shape" in text and "plants: pinned" in text and "Today's data is kept" in text
    matching = next(b for b in list_backups(settings, "sprout") if b.reason == "pre-deploy-v2")
    assert matching.id in text and older not in text
    assert f"appforge restore sprout --from {matching.id} --yes" in text
    chosen = before_rollback(settings, store, "sprout", 2, 1, True, said.append)
    assert chosen is not None and chosen.id == matching.id


def test_rollback_with_restore_data_and_no_matching_snapshot_is_refused(
        settings: Settings) -> None:
    store = _two_versions(settings)
    with pytest.raises(InvalidInput, match="no snapshot taken while v1 was live"):
        before_rollback(settings, store, "sprout", 2, 1, True, lambda _m: None)


# -- the CLI ---------------------------------------------------------------------------------

def _cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appforge.cli", *args], capture_output=True,
                          text=True, env=appforge_env(home, "afbku", 18998), timeout=120,
                          check=False)


def test_restore_without_yes_is_refused_and_changes_nothing(tmp_path: Path) -> None:
    proc = _cli(tmp_path, "restore", "sprout", "--from", "20261129T221530.000Z-manual")
    assert proc.returncode == 2
    assert "add --yes" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "backups").exists()


def test_backups_lists_snapshots_as_a_table_and_as_json(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, instance="afbku")
    assert json.loads(_cli(tmp_path, "backups", "sprout", "--json").stdout) == []
    backup_id = _take(settings, "sprout", _data(tmp_path / "x"), "pre-deploy-v2", version=1)
    table = _cli(tmp_path, "backups", "sprout")
    assert table.returncode == 0, table.stderr
    assert backup_id in table.stdout and "pre-deploy-v2" in table.stdout and "v1" in table.stdout
    (row,) = json.loads(_cli(tmp_path, "backups", "sprout", "--json").stdout)
    assert row["id"] == backup_id and row["version"] == 1 and row["files"] == 2


# -- the dashboard ---------------------------------------------------------------------------

def test_the_app_page_lists_backups_and_restore_needs_the_apps_name_typed(
        tmp_path: Path) -> None:
    from appforge.web.app import create_app

    settings = Settings(home=tmp_path / "home", instance="afbkw",
                        docker_host="unix:///nonexistent/docker.sock")
    _two_versions(settings)
    backup_id = _take(settings, "sprout", _data(tmp_path), "pre-deploy-v2", version=1)
    with TestClient(create_app(settings), base_url="http://127.0.0.1") as http:
        html = http.get("/apps/sprout").text
        card = html[html.index('id="backups"'):]
        assert backup_id in card and "pre-deploy-v2" in card and "v1" in card
        assert 'action="/apps/sprout/restore"' in card and 'data-confirm="sprout"' in card
        csrf = re.search(r'name="csrf" value="([^"]+)"', html).group(1)
        refused = http.post("/apps/sprout/restore", data={
            "csrf": csrf, "backup_id": backup_id, "confirm": "sprou"}, follow_redirects=False)
        assert refused.status_code == 303 and "?job=" not in refused.headers["location"]
        page = http.get(refused.headers["location"]).text
        assert "was not restored: type its name" in page
        unknown = http.post("/apps/sprout/restore", data={
            "csrf": csrf, "backup_id": "20000101T000000.000Z-manual", "confirm": "sprout"})
        assert unknown.status_code == 400 and "has no backup" in unknown.text

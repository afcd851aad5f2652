"""App data that cannot be lost, through the real CLI, engine and proxy.

One CRUD app (Sprout's plan, under its own slug so it never meets the end-to-end tests' Sprout):
a snapshot and a restore while it serves (and the restore undone), a redeploy's snapshot and
retention, a rollback that names the snapshot of the older data and one that brings the newer
data back (``--restore-data``), a full backup disk that changes nothing, a snapshot killed
half-way that ``up`` clears away, and a destroy whose snapshots stay.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from appforge.backups.snapshot import ROLE
from appforge.sandbox.engine import LABEL
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
SLUG = "greenhouse"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def greenhouse(installation: Installation) -> dict[str, Any]:
    return installation.run_json("build", "--app", SLUG, SPROUT)


@pytest.fixture
def http(installation: Installation) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"http://127.0.0.1:{installation.settings.http_port}",
                      headers={"Host": HOST}, timeout=10) as client:
        yield client


def _plant(name: str) -> dict[str, Any]:
    return {"name": name, "location": "Kitchen", "days_between_waterings": 3,
            "last_watered": "2026-11-20"}


def _names(http: httpx.Client) -> set[str]:
    answer = http.get("/api/plants", params={"limit": 500})
    assert answer.status_code == 200, answer.text
    return {p["name"] for p in answer.json()}


def _backups(installation: Installation) -> list[dict[str, Any]]:
    return installation.run_json("backups", SLUG)


class Reader:
    """Steady GETs of the plants through the proxy until stopped; counts what failed."""

    def __init__(self, port: int) -> None:
        self.ok, self.failed = 0, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(port,))

    def _run(self, port: int) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Host": HOST},
                          timeout=10) as client:
            while not self._stop.is_set():
                try:
                    answer = client.get("/api/plants")
                    if answer.status_code == 200:
                        self.ok += 1
                    else:
                        self.failed.append(f"HTTP {answer.status_code}")
                except httpx.HTTPError as exc:
                    self.failed.append(repr(exc))

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def test_backup_then_restore_while_serving_and_undo_the_restore(
        installation: Installation, greenhouse: dict[str, Any], http: httpx.Client) -> None:
    for name in ("Fern", "Basil", "Cactus"):
        assert http.post("/api/plants", json=_plant(name)).status_code in (200, 201)
    taken = installation.run_json("backup", SLUG)
    assert taken["reason"] == "manual" and taken["version"] == greenhouse["version"]
    assert taken["files"] >= 1 and taken["size"] > 0
    fern = next(p for p in http.get("/api/plants").json() if p["name"] == "Fern")
    assert http.delete(f"/api/plants/{fern['id']}").status_code == 204
    assert http.post("/api/plants", json=_plant("Weed")).status_code in (200, 201)

    with Reader(installation.settings.http_port) as reader:
        done = installation.run_json("restore", SLUG, "--from", taken["id"], "--yes")
    assert reader.failed == [] and reader.ok > 0  # it kept serving, with no restart
    assert done["restored"]["id"] == taken["id"] and done["undo"]["reason"] == "pre-restore"
    assert _names(http) >= {"Fern", "Basil", "Cactus"} and "Weed" not in _names(http)

    installation.run_json("restore", SLUG, "--from", done["undo"]["id"], "--yes")
    assert "Weed" in _names(http) and "Fern" not in _names(http)
    listed = {b["id"]: b for b in _backups(installation)}
    assert taken["id"] in listed and done["undo"]["id"] in listed
    assert [b["reason"] for b in listed.values()].count("pre-restore") == 2


def test_a_redeploy_snapshots_first_and_only_the_newest_are_kept(
        installation: Installation, greenhouse: dict[str, Any], http: httpx.Client) -> None:
    keep_two = installation.env | {"APPFORGE_BACKUP_KEEP": "2"}
    proc = installation.run_with_env(keep_two, "build", "--app", SLUG, "--json",
                                     SPROUT.replace(" and the date", ", a note and the date"))
    built = json.loads(proc.stdout.strip().splitlines()[-1])
    listed = _backups(installation)
    assert len(listed) == 2
    newest = listed[0]
    assert newest["reason"] == f"pre-deploy-v{built['version']}"
    assert newest["version"] == built["version"] - 1  # the data as the old version left it
    assert "Weed" in _names(http)  # a redeploy keeps the data

    # Back to the version whose data had no notes: today's data stays, the snapshot is named.
    back = installation.run("rollback", SLUG, "--to", str(built["version"] - 1))
    assert "another shape" in back.stdout and newest["id"] in back.stdout
    assert "Weed" in _names(http)
    before_rollback = _backups(installation)[0]
    assert before_rollback["reason"] == f"pre-rollback-v{built['version'] - 1}"
    assert before_rollback["version"] == built["version"]

    # Forward again with the data as the newer version left it: what was added since goes.
    assert http.post("/api/plants", json=_plant("Moss")).status_code in (200, 201)
    forward = installation.run("rollback", SLUG, "--to", str(built["version"]),
                               "--restore-data")
    assert before_rollback["id"] in forward.stdout
    assert "Moss" not in _names(http) and "Weed" in _names(http)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_a_full_backup_disk_is_a_clear_error_and_changes_nothing(
        installation: Installation, greenhouse: dict[str, Any], http: httpx.Client,
        tmp_path: Path) -> None:
    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], check=True)
    try:
        (small / "filler").write_bytes(b"\0" * 60 * 1024)  # 4 KiB left: less than one database
        full = installation.env | {"APPFORGE_BACKUP_DIR": str(small)}
        before = installation.run_json("show", SLUG)["current_version"]
        other = max(v["version"] for v in installation.run_json("show", SLUG)["versions"]
                    if v["version"] != before)
        rows = _names(http)
        for command in (("backup", SLUG), ("rollback", SLUG, "--to", str(other))):
            proc = installation.run_with_env(full, *command, check=False)
            assert proc.returncode == 1, proc.stdout + proc.stderr
            assert "the disk is full" in proc.stderr and str(small / SLUG) in proc.stderr
            assert "Traceback" not in proc.stderr
            assert list((small / SLUG).iterdir()) == []  # no partial snapshot left
        assert installation.run_json("show", SLUG)["current_version"] == before  # not deployed
        assert _names(http) == rows  # and it serves the same data
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_a_snapshot_killed_half_way_is_cleared_by_up(
        installation: Installation, greenhouse: dict[str, Any], docker_client: Any) -> None:
    folder = installation.settings.backups / SLUG
    proc = subprocess.Popen([sys.executable, "-m", "appforge.cli", "backup", SLUG],
                            env=installation.env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not list(folder.glob("*.partial")) and proc.poll() is None \
            and time.monotonic() < deadline:
        time.sleep(0.005)
    assert proc.poll() is None, "the backup finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    partial, = folder.glob("*.partial")
    up = installation.run_json("up")
    assert list(folder.glob("*.partial")) == []
    assert f"removed unfinished snapshot {partial}" in up["repaired"]
    helpers = docker_client.containers.list(all=True, filters={"label": [
        f"{LABEL}={ROLE}", f"{LABEL}.instance={installation.settings.instance}"]})
    assert helpers == []
    assert all(b["status"] == "complete" for b in _backups(installation))


def test_destroy_snapshots_the_data_and_the_snapshots_stay(
        installation: Installation, greenhouse: dict[str, Any]) -> None:
    gone = installation.run("destroy", SLUG, "--yes")
    assert "snapshot(s) stay in" in gone.stdout and f"appforge backups {SLUG}" in gone.stdout
    listed = _backups(installation)
    assert listed[0]["reason"] == "pre-destroy" and listed[0]["files"] >= 1


@pytest.mark.skipif(os.geteuid() != 0, reason="reading the engine's volume folder needs root")
def test_an_app_that_keeps_no_data_is_redeployed_without_a_snapshot(
        installation: Installation) -> None:
    # A gallery writes nothing to /data: a snapshot of an empty volume would only cost time.
    description = "a portfolio of six photos of foxes and owls"
    installation.run_json("build", "--app", "lenses", description)
    again = installation.run("build", "--app", "lenses", description)
    assert "no snapshot: lenses's data volume is empty" in again.stdout, again.stdout
    assert installation.run_json("backups", "lenses") == []
    installation.run_json("destroy", "lenses", "--yes")

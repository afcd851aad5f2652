"""The fault suite: kill -9 of appforge at each stage of a build and a rollback, docker kill of the
proxy and of an app, under a steady client.

For each kill point a real `appforge build` (or `rollback`) runs as a subprocess until it reaches
that point (``APPFORGE_TEST_PAUSE_AT`` makes it wait there) and is killed with SIGKILL, while a
client keeps reading the app through the proxy. Then the invariants: the live version kept
serving with no failed request, the data is intact, the next command (`appforge list`)
reconciles the store with the engine (every version in a final state, one app container left:
the version the store names), and afterwards a rebuild works.

Then the supervisor (on in this installation) must bring back a proxy and an app container
killed with `docker kill`, which the engine's restart policy leaves down (a manual stop). Each
fault prints a line (failed requests, recovery time, final state) for the issue's table.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.sandbox.containers import app_filter, container_name, purge_instance
from appforge.sandbox.proxy import proxy_name
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import Installation
from tests.integration.test_lifecycle import Load

pytestmark = pytest.mark.docker

LOG = "A ship's log called Logbook. Each entry has a title, a port and a date."
LOG_V2 = "A ship's log called Logbook. Each entry has a title, a port, a date and a crew count."
SLUG, HOST = "logbook", "logbook.localhost"
FINAL = {"running", "retired", "failed"}
#: Where a build is killed, one of each kind of state it can leave.
BUILD_POINTS = ["plan", "test:running", "package", "deploy:started", "deploy:switched",
                "deploy:recorded", "verify"]
ROLLBACK_POINTS = ["rollback:snapshotted", "deploy:switched", "deploy:recorded"]


@pytest.fixture(scope="module")
def faulty(docker_client: Any, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[Installation]:
    from appforge import supervisor

    home = tmp_path_factory.mktemp("appforge-faults")
    instance, port = f"aft{os.getpid()}f", free_port()
    settings = Settings(home=home, instance=instance, http_port=port, supervise=True)
    env = appforge_env(home, instance, port) | {"APPFORGE_SCREENSHOTS": "false"}
    yield Installation(settings=settings, env=env)
    supervisor.stop(settings)  # first, or it would bring back what the purge removes
    purge_instance(docker_client, instance)


@pytest.fixture(scope="module")
def logbook(faulty: Installation) -> list[str]:
    """The app at v2 with v1 behind it, and the titles of the entries it holds."""
    faulty.run_json("build", LOG)
    titles = [f"Entry {i}" for i in range(5)]
    with httpx.Client(base_url=f"http://127.0.0.1:{faulty.settings.http_port}",
                      headers={"Host": HOST}, timeout=10) as http:
        for title in titles:
            made = http.post("/api/entries", json={"title": title, "port": "Lisbon",
                                                   "date": "2026-11-30"})
            assert made.status_code == 201, made.text
    assert faulty.run_json("build", "--app", SLUG, LOG_V2)["version"] == 2
    return titles


def _kill_at(installation: Installation, point: str, args: list[str], tmp_path: Path) -> str:
    """Run ``appforge args`` until it pauses at ``point``, then kill -9 it; return its log."""
    marker, log = tmp_path / f"paused-{point.replace(':', '-')}", tmp_path / "command.log"
    env = installation.env | {"APPFORGE_TEST_PAUSE_AT": point,
                              "APPFORGE_TEST_PAUSE_FILE": str(marker)}
    if point == "test:running":  # the tests must really run (the same content passed before)
        env["APPFORGE_TEST_CACHE"] = "false"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "appforge.cli", *args], env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 600  # a bound on a hung build, not a speed requirement
    while not marker.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            raise AssertionError(f"appforge {' '.join(args)} never reached {point}:\n"
                                 f"{log.read_text()[-3000:]}")
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    return log.read_text()


def _check_reconciled(installation: Installation, docker_client: Any,
                      titles: list[str]) -> dict[str, Any]:
    """The invariants after a kill, once the next command has run; returns `show`."""
    installation.run_json("list")  # the next command: it reconciles first
    info = installation.run_json("show", SLUG)
    stuck = [(v["version"], v["status"]) for v in info["versions"] if v["status"] not in FINAL]
    assert stuck == [], stuck
    current = info["current_version"]
    assert [v["version"] for v in info["versions"] if v["status"] == "running"] == [current]
    left = sorted(c.name for c in docker_client.containers.list(
        all=True, filters=app_filter(installation.settings, SLUG)))
    assert left == [container_name(installation.settings, SLUG, current)], left
    assert info["live"]["live"] in ("running", "starting"), info["live"]
    held = installation.get(HOST, "/api/entries", params={"limit": 100}).json()
    assert {e["title"] for e in held} >= set(titles)  # the data is intact
    return info


@pytest.mark.parametrize("point", BUILD_POINTS)
def test_kill_9_of_a_build_at_each_stage(faulty: Installation, logbook: list[str], point: str,
                                         docker_client: Any, tmp_path: Path) -> None:
    before = faulty.run_json("show", SLUG)["current_version"]
    start = time.monotonic()
    with Load(faulty.settings.http_port, HOST, threads=2, path="/api/entries") as load:
        _kill_at(faulty, point, ["build", "--app", SLUG, LOG_V2], tmp_path)
        info = _check_reconciled(faulty, docker_client, logbook)
    assert load.failed == [] and load.ok > 0, load.failed[:5]
    newest = info["versions"][-1]
    # killed once the store named the new version, it is the one serving; before, the old one
    expected = newest["version"] if point in ("deploy:recorded", "verify") else before
    assert info["current_version"] == expected
    print(f"\nFAULT kill -9 build at {point}: {len(load.failed)} failed of "
          f"{load.ok + len(load.failed)} requests; reconciled in "
          f"{time.monotonic() - start:.1f} s; serving v{info['current_version']}, "
          f"v{newest['version']} {newest['status']}")


@pytest.mark.parametrize("point", ROLLBACK_POINTS)
def test_kill_9_of_a_rollback_at_each_stage(faulty: Installation, logbook: list[str],
                                            point: str, docker_client: Any,
                                            tmp_path: Path) -> None:
    before = faulty.run_json("show", SLUG)["current_version"]
    with Load(faulty.settings.http_port, HOST, threads=2, path="/api/entries") as load:
        _kill_at(faulty, point, ["rollback", SLUG], tmp_path)
        info = _check_reconciled(faulty, docker_client, logbook)
    assert load.failed == [] and load.ok > 0, load.failed[:5]
    rolled = point == "deploy:recorded"  # the store had switched to the older version
    assert (info["current_version"] < before) if rolled else (info["current_version"] == before)
    print(f"\nFAULT kill -9 rollback at {point}: 0 failed of {load.ok} requests; serving "
          f"v{info['current_version']}")
    if rolled:  # forward again for the next case
        faulty.run_json("rollback", SLUG, "--to", str(before))


def test_a_rebuild_works_after_all_of_it(faulty: Installation, logbook: list[str]) -> None:
    rebuilt = faulty.run_json("build", "--app", SLUG, LOG_V2)
    assert rebuilt["status"] == "running"
    assert "Entry 0" in faulty.get(HOST, "/api/entries").text


@pytest.mark.parametrize("what", ["proxy", "app"])
def test_the_supervisor_brings_back_what_docker_kill_took_down(
        faulty: Installation, logbook: list[str], what: str, docker_client: Any) -> None:
    from appforge import supervisor

    up = faulty.run_with_env(faulty.env | {"APPFORGE_SUPERVISE": "true"}, "up", "--json")
    assert up.returncode == 0
    for _ in range(100):  # it starts in the background
        if supervisor.running_pid(faulty.settings) not in (None, -1):
            break
        time.sleep(0.1)
    assert supervisor.running_pid(faulty.settings), "no supervisor runs after `appforge up`"
    current = faulty.run_json("show", SLUG)["current_version"]
    name = proxy_name(faulty.settings) if what == "proxy" else \
        container_name(faulty.settings, SLUG, current)
    with Load(faulty.settings.http_port, HOST, threads=2, path="/api/entries") as load:
        docker_client.containers.get(name).kill()
        killed = time.monotonic()
        back = None
        while back is None and time.monotonic() - killed < 120:  # a bound, not a requirement
            try:
                if httpx.get(f"http://127.0.0.1:{faulty.settings.http_port}/healthz",
                             headers={"Host": HOST}, timeout=2).status_code == 200:
                    back = time.monotonic() - killed
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    assert back is not None, f"the {what} did not come back by itself"
    assert docker_client.containers.get(name).status == "running"
    info = faulty.run_json("show", SLUG)
    assert info["current_version"] == current and info["live"]["live"] in ("running", "starting")
    print(f"\nFAULT docker kill {what}: {len(load.failed)} failed of "
          f"{load.ok + len(load.failed)} requests; serving again after {back:.1f} s "
          f"(supervisor); final: v{current} {info['live']['live']}")

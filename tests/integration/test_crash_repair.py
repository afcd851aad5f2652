"""A kill -9 of appforge mid-deploy leaves nothing that `appforge up` cannot repair.

A real `appforge build` runs as a subprocess until its new version's container has started (a test
setting makes it wait there), and is killed with SIGKILL. The old version keeps serving; `up`
leaves the app alone while a process holds its lock, then removes what the killed build left,
marks its version failed, and a new build works.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from appforge.sandbox.browser import screenshot_container_name
from appforge.sandbox.containers import (
    app_filter,
    app_labels,
    labels_of_test_run,
    name_of_test_run,
)
from appforge.store.locks import app_lock
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

BIRDS = "A birdwatching log called Plover. Each sighting has a species and a date."
MORE_BIRDS = "A birdwatching log called Plover. Each sighting has a species, a date and a count."


def _start_paused_build(installation: Installation, marker: Path, log: Path) -> subprocess.Popen:
    env = {**installation.env, "APPFORGE_TEST_PAUSE_AT": "deploy:started",
           "APPFORGE_TEST_PAUSE_FILE": str(marker)}
    with log.open("w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "appforge.cli", "build", "--app", "plover", MORE_BIRDS],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def _wait_for(marker: Path, build: subprocess.Popen, log: Path, limit_s: float = 600) -> None:
    deadline = time.monotonic() + limit_s
    while not marker.exists():
        if build.poll() is not None or time.monotonic() > deadline:
            build.kill()
            raise AssertionError(f"the build never paused mid-deploy:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _containers(docker_client: Any, installation: Installation) -> set[str]:
    return {c.name for c in docker_client.containers.list(
        all=True, filters=app_filter(installation.settings, "plover"))
        if c.labels.get("io.appforge") in ("app", "test")}


def _serves_the_old_version(installation: Installation) -> bool:
    assert installation.get("plover.localhost", "/healthz").status_code == 200
    schemas = installation.get("plover.localhost", "/openapi.json").json()["components"]
    return "count" not in json.dumps(schemas)


def test_kill_9_mid_deploy_is_repaired_by_up(installation: Installation, docker_client: Any,
                                             tmp_path: Path) -> None:
    settings, instance = installation.settings, installation.settings.instance
    assert installation.run_json("build", BIRDS)["version"] == 1
    marker, log = tmp_path / "paused", tmp_path / "build.log"

    build = _start_paused_build(installation, marker, log)
    _wait_for(marker, build, log)
    os.killpg(build.pid, signal.SIGKILL)
    build.wait(timeout=30)
    stray = f"{instance}-plover-v2"
    assert docker_client.containers.get(stray).status == "running"
    assert _serves_the_old_version(installation)
    # a test run whose build was killed, as it would be left
    docker_client.containers.run(
        settings.python_base_image, ["sleep", "600"], detach=True,
        name=name_of_test_run(settings, "plover", 2),
        labels=labels_of_test_run(settings, "plover", 2))
    # and a screenshot whose process was killed (the container ended; nobody removes it)
    docker_client.containers.run(
        settings.python_base_image, ["true"], detach=True,
        name=screenshot_container_name(settings, "plover", 1),
        labels={**app_labels(settings, "plover", "screenshot"), "io.appforge.version": "1"},
    ).wait()

    # while a process holds the app's lock (a build under way), up and every other command
    # leave the app alone
    with app_lock(settings.home, "plover"):
        busy = installation.run_json("up")
        assert installation.run_json("show", "plover")["versions"][-1]["status"] == "packaged"
    assert busy["repaired"] == []
    assert _containers(docker_client, installation) == {
        f"{instance}-plover-v1", stray, f"{instance}-plover-v2-test"}

    # once it is free, the next command (any: here `list`) reconciles the store with the engine
    listed = installation.run("list", "--json")
    repaired = [line.strip() for line in listed.stderr.splitlines() if line.strip()]
    assert sorted(repaired) == sorted([
        f"plover: removed {stray} (v2, never routed)",
        f"plover: removed {instance}-plover-v2-test (the tests of v2, whose build is gone)",
        f"plover: removed {instance}-plover-v1-screenshot (a screenshot of v1 whose process is "
        "gone)",
        "plover: v2 marked failed: the build stopped (appforge was killed?)"])
    assert installation.run_json("up")["repaired"] == []  # nothing left for up
    assert _containers(docker_client, installation) == {f"{instance}-plover-v1"}
    assert _serves_the_old_version(installation)
    info = installation.run_json("show", "plover")
    assert info["status"] == "running" and info["current_version"] == 1
    assert [(v["version"], v["status"]) for v in info["versions"]] == [
        (1, "running"), (2, "failed")]
    assert info["versions"][1]["error"] == "the build stopped (appforge was killed?)"
    listed = {a["slug"]: a for a in installation.run_json("list")}
    assert (listed["plover"]["status"], listed["plover"]["version"]) == ("running", 1)
    assert installation.run_json("up")["repaired"] == []  # nothing left to repair

    rebuilt = installation.run_json("build", "--app", "plover", MORE_BIRDS)
    assert rebuilt["version"] == 3 and rebuilt["status"] == "running"
    assert not _serves_the_old_version(installation)
    assert _containers(docker_client, installation) == {f"{instance}-plover-v3"}
    installation.run_json("destroy", "plover", "--yes")

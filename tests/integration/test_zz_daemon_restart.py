"""After the Docker daemon restarts, every app comes back by itself with its data.

Apps and the proxy run with the restart policy ``unless-stopped``: the engine starts them again
when it comes back (only ``docker stop``/``appforge stop`` keeps one down), so ``appforge up``
finds nothing to restore.

This restarts the engine, so it runs only in CI or when asked with
APPFORGE_TEST_RESTART_DOCKER=1 (a developer's engine is not restarted behind their back), and
never beside other tests: under pytest-xdist (the README's test command runs two files at a
time) it is skipped, and ``.ci/run`` runs it alone after the suite.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.conftest import Installation

pytestmark = [
    pytest.mark.docker,
    pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("APPFORGE_TEST_RESTART_DOCKER")),
                       reason="restarts the Docker engine; set APPFORGE_TEST_RESTART_DOCKER=1"),
    pytest.mark.skipif(bool(os.environ.get("PYTEST_XDIST_WORKER")),
                       reason="restarts the Docker engine, so never beside other tests: run it "
                              "alone (.ci/run does, after the suite)"),
]


def _engine_up() -> bool:
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def _restart_dockerd() -> None:
    booted_with_systemd = Path("/run/systemd/system").is_dir()
    if booted_with_systemd and subprocess.run(
            ["systemctl", "is-active", "--quiet", "docker"], check=False).returncode == 0:
        subprocess.run(["systemctl", "restart", "docker"], check=True)
    else:
        pid = int(subprocess.run(["pgrep", "-xo", "dockerd"], capture_output=True, text=True,
                                 check=True).stdout.split()[0])
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        os.kill(pid, signal.SIGTERM)
        for _ in range(200):
            if not Path(f"/proc/{pid}").exists():
                break
            time.sleep(0.1)
        with open("/tmp/appforge-dockerd.log", "ab") as log:
            subprocess.Popen([a.decode() for a in argv], stdout=log, stderr=log,
                             start_new_session=True)
    for _ in range(120):
        if _engine_up():
            return
        time.sleep(0.5)
    raise AssertionError("the Docker engine did not come back")


def _serves(installation: Installation, text: str) -> bool:
    try:
        return text in installation.get("cave.localhost", "/api/wines").text
    except httpx.HTTPError:
        return False


def test_apps_come_back_by_themselves_after_daemon_restart(installation: Installation) -> None:
    description = "A wine cellar called Cave. Each wine has a name, a year and a rating 1 to 5."
    installation.run_json("build", description)
    base = f"http://127.0.0.1:{installation.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "cave.localhost"}, timeout=10) as http:
        assert http.post("/api/wines", json={"name": "Douro", "year": 2019, "rating": 4}
                         ).status_code in (200, 201)
    _restart_dockerd()
    for _ in range(240):  # a bound on a slow engine start, not a speed requirement
        if _serves(installation, "Douro"):
            break
        time.sleep(0.5)
    else:
        raise AssertionError("cave did not come back by itself after the engine restarted")
    (cave,) = [a for a in installation.run_json("list") if a["slug"] == "cave"]
    assert cave["status"] == "running"
    assert cave["live"]["live"] in ("running", "starting", "restarting"), cave["live"]
    assert "cave" not in installation.run_json("up")["restored"]
    assert _serves(installation, "Douro")

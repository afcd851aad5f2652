"""Integration fixtures: a real Docker engine, one isolated appforge installation per run.

Base images are shared with the machine (bootstrapped once, cached by tag); everything else (apps,
networks, volumes, the proxy) belongs to a per-run instance name and is removed at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.sandbox.containers import purge_instance
from tests.conftest import appforge_env, free_port


@dataclass
class Installation:
    settings: Settings
    env: dict[str, str]

    def run(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return self.run_with_env(self.env, *args, check=check, timeout=timeout)

    def run_with_env(self, env: dict[str, str], *args: str, check: bool = True,
                     timeout: float = 900) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "appforge.cli", *args], env=env,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"appforge {' '.join(args)} exited {proc.returncode}\n"
                                 f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
        return proc

    def run_json(self, *args: str) -> Any:
        proc = self.run(*args, "--json")
        return json.loads(proc.stdout.strip().splitlines()[-1])

    @property
    def with_screenshots(self) -> dict[str, str]:
        """The environment with screenshots on (they are off in the others' tests)."""
        return self.env | {"APPFORGE_SCREENSHOTS": "true"}

    def wait_for_screenshot(self, slug: str, version: int) -> dict[str, Any]:
        """The version as ``show`` reports it once its background screenshot has ended."""
        from appforge.store.db import Store
        from appforge.tools.screenshot import screenshot_state

        # Waited for in the store, as ``show`` reads it (a CLI call per poll costs 0.6 s of
        # CPU); then asked of ``show`` itself.
        store = Store(self.settings.db_path)
        for _ in range(1200):  # a bound on a hung browser, not a speed requirement
            record = store.get_version(slug, version)
            if screenshot_state(record.workspace, record.screenshot)["status"] != "pending":
                break
            time.sleep(0.25)
        shown, = [v for v in self.run_json("show", slug)["versions"] if v["version"] == version]
        if shown["screenshot_status"] == "pending":
            raise AssertionError(f"the screenshot of {slug} v{version} is still pending")
        return shown

    def get(self, host: str, path: str = "/", **kwargs: Any) -> Any:
        import httpx

        # plain HTTP: verify=False spares loading a CA bundle (40-60 ms of CPU a request)
        return httpx.get(f"http://127.0.0.1:{self.settings.http_port}{path}",
                         headers={"Host": host}, timeout=10, verify=False, **kwargs)


def _engine_or_skip() -> Any:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env()
        client.ping()
        return client
    except DockerException as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must have a Docker engine (run scripts/install.sh): {exc}")
        pytest.skip(f"no Docker engine: {exc}")


@pytest.fixture(scope="session")
def docker_client() -> Any:
    return _engine_or_skip()


#: The swarm the tests made (its node ID), left once no test runs any more.
SWARM_TO_LEAVE = Path(tempfile.gettempdir()) / "appforge-test-swarm-node"


def leave_swarm_after_the_run(client: Any) -> None:
    """Leave the swarm the tests made when the whole run ends, not now: on Docker 20.10 a
    container started while the engine is in a swarm resolves no name joined to its networks
    after the engine leaves it (reproduced: the ACME test's proxy, started meanwhile, could not
    resolve Pebble), and the other files' tests run beside this one."""
    SWARM_TO_LEAVE.write_text(client.info()["Swarm"]["NodeID"])


def pytest_sessionfinish(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput") or not SWARM_TO_LEAVE.exists():
        return  # a worker (the controller leaves, after every worker), or no swarm made
    node = SWARM_TO_LEAVE.read_text().strip()
    SWARM_TO_LEAVE.unlink()
    import docker

    client = docker.from_env()
    if (client.info().get("Swarm") or {}).get("NodeID") == node:
        client.swarm.leave(force=True)


@pytest.fixture(scope="session")
def installation(docker_client: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installation]:
    home = tmp_path_factory.mktemp("appforge-home")
    instance = f"aft{os.getpid()}"
    port = free_port()
    settings = Settings(home=home, instance=instance, http_port=port)
    # Screenshots (Chromium in a container, seconds of CPU per build) are off except in the
    # tests about them (test_screenshot, test_dashboard), which turn them on.
    env = appforge_env(home, instance, port) | {"APPFORGE_SCREENSHOTS": "false"}
    yield Installation(settings=settings, env=env)
    purge_instance(docker_client, instance)


class Load:
    """Steady GETs on one host through the proxy, from a few threads, until stopped.

    Each thread waits ``pause`` seconds between requests: with two threads, a gap in serving of
    more than about 30 ms meets a request. Flat out, the clients (with the proxy and the app
    answering them) took most of a core from the build under test and the tests beside it; at
    a 20 ms pause, 72 requests a second still took 0.41 of a core, at 50 ms 35 took 0.2
    (a CRUD app's /api/notes, 2 threads, 10 s, an idle machine)."""

    def __init__(self, port: int, host: str, threads: int = 4, limit_s: float = 120,
                 path: str = "/api/notes", pause: float = 0.05) -> None:
        self.base, self.host, self.path = f"http://127.0.0.1:{port}", host, path
        self.ok = 0
        self.failed: list[str] = []
        self.latencies: list[float] = []
        self._stop = threading.Event()
        self._deadline = time.monotonic() + limit_s
        self._pause = pause
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def _run(self) -> None:
        import httpx

        with httpx.Client(base_url=self.base, headers={"Host": self.host}, timeout=10) as http:
            while not self._stop.is_set() and time.monotonic() < self._deadline:
                start = time.monotonic()
                try:
                    resp = http.get(self.path)
                    good = resp.status_code == 200
                    why = f"HTTP {resp.status_code}"
                except httpx.HTTPError as exc:
                    good, why = False, repr(exc)
                with self._lock:
                    self.latencies.append(time.monotonic() - start)
                    if good:
                        self.ok += 1
                    else:
                        self.failed.append(why)
                self._stop.wait(self._pause)

    def __enter__(self) -> Load:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def crashing_version(docker_client: Any, settings: Settings, slug: str, error: str) -> int:
    """A new packaged version of ``slug`` (its serving version's plan) whose app raises
    ``RuntimeError(error)`` as it starts; returns its number."""
    from pathlib import Path

    from appforge.generators.code import render_app
    from appforge.spec import AppSpec
    from appforge.store import Store
    from appforge.tools.sandbox import build_runtime_image

    store = Store(settings.db_path)
    serving = store.get_app(slug).current_version
    assert serving is not None
    spec = AppSpec.model_validate(store.get_version(slug, serving).spec)
    record = store.new_version(slug, "crashes on start", spec.model_dump(mode="json"),
                               settings.workspaces)
    workspace = Path(record.workspace)
    render_app(spec, workspace)
    main = workspace / "app" / "main.py"
    main.write_text(main.read_text() + f"\nraise RuntimeError({error!r})\n")
    image = build_runtime_image(docker_client, settings, slug, record.version, workspace,
                                lambda _m: None)
    store.update_version(slug, record.version, image=image, status="packaged")
    return record.version

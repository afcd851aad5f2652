"""An exported app runs where appforge is not: the real CLI exports it, Debian's docker-compose
1.29 runs the exported compose.yaml, and the app answers with its data.

One CRUD app (Sprout's plan, under its own slug), two versions: the second is a rebuild with
more memory (same code: its image content passed its tests at v1, so they are not run again).
A record is added through appforge's proxy; ``export --image --data`` writes the history, the
saved image and a consistent snapshot; the image is loaded back (``docker load``), the snapshot
loaded into a new compose project's volume (``snapshot/load.sh``), the project started on
another port next to appforge's own copy, and the record read back from it. Its container has
the hardening appforge's container has, flag for flag. ``scripts/install.sh --with-diffusers``
installs docker-compose for this test; without it the test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from appforge.sandbox.containers import container_name
from tests.conftest import free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
SLUG = "takeaway"
HOST = f"{SLUG}.localhost"
#: What the hardening is made of, as the engine reports a container's settings.
HARDENING = ("ReadonlyRootfs", "CapDrop", "SecurityOpt", "Memory", "MemorySwap", "NanoCpus",
             "PidsLimit", "Init", "Tmpfs", "LogConfig", "IpcMode")


def _plant(name: str) -> dict[str, Any]:
    return {"name": name, "location": "Balcony", "days_between_waterings": 4,
            "last_watered": "2026-11-21"}


def _compose(repo: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(["docker-compose", *args], cwd=repo, env=env, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, f"docker-compose {' '.join(args)}:\n{done.stdout}{done.stderr}"
    return done.stdout


def _plants(port: int) -> list[str] | None:
    """The plants the exported app lists, or None while it does not answer yet."""
    try:
        answer = httpx.get(f"http://127.0.0.1:{port}/api/plants", timeout=5)
    except httpx.HTTPError:
        return None
    return [p["name"] for p in answer.json()] if answer.status_code == 200 else None


def test_the_export_runs_with_compose_and_answers_with_its_data(
        installation: Installation, docker_client: Any, tmp_path: Path) -> None:
    if shutil.which("docker-compose") is None:
        pytest.skip("docker-compose is not installed (scripts/install.sh --with-diffusers "
                    "installs Debian's)")
    installation.run_json("build", "--app", SLUG, SPROUT)
    with httpx.Client(base_url=f"http://127.0.0.1:{installation.settings.http_port}",
                      headers={"Host": HOST}, timeout=10) as proxy:
        assert proxy.post("/api/plants", json=_plant("Fern")).status_code in (200, 201)
        installation.run_json("build", "--app", SLUG, "--memory", "300m", SPROUT)
        assert proxy.post("/api/plants", json=_plant("Basil")).status_code in (200, 201)

    done = installation.run_json("export", SLUG, str(tmp_path / "takeaway"), "--image", "--data")
    repo = Path(done["folder"])
    assert done["versions"] == [1, 2] and done["live_version"] == 2
    assert done["data"]["files"] >= 1 and not done["data"]["postgres"]
    built = {v["version"]: v for v in installation.run_json("show", SLUG)["versions"]}
    log = subprocess.run(["git", "log", "--reverse", "--format=%at %s"], cwd=repo, check=True,
                         capture_output=True, text=True).stdout.splitlines()
    assert [line.split(" ", 1)[1].split(":")[0] for line in log] == ["v1", "v2"]
    assert [int(line.split()[0]) for line in log] == [int(built[1]["created_at"]),
                                                      int(built[2]["created_at"])]
    ignored = subprocess.run(["git", "status", "--porcelain", "--ignored"], cwd=repo, check=True,
                             capture_output=True, text=True).stdout
    assert "!! images/" in ignored and "!! snapshot/" in ignored  # beside the history only

    image, = done["images"]
    with tarfile.open(image) as tar:  # what docker load reads, named by the version's tag
        manifest = json.load(tar.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert manifest[0]["RepoTags"] == [f"{installation.settings.instance}/{SLUG}:v2"]
    subprocess.run(["docker", "load", "-i", image], check=True, capture_output=True)

    port = free_port()
    env = {**os.environ, "COMPOSE_PROJECT_NAME": f"{installation.settings.instance}-export",
           "APP_PORT": str(port)}
    try:
        subprocess.run(["sh", str(repo / "snapshot" / "load.sh")], cwd=repo, env=env, check=True,
                       capture_output=True, timeout=300)
        _compose(repo, env, "up", "-d")
        for _ in range(300):  # a bound on a container that never answers, not a speed check
            names = _plants(port)
            if names is not None:
                break
            time.sleep(0.5)
        assert names is not None and {"Fern", "Basil"} <= set(names)

        exported, = docker_client.containers.list(
            filters={"label": f"com.docker.compose.project={env['COMPOSE_PROJECT_NAME']}"})
        ours = docker_client.containers.get(container_name(installation.settings, SLUG, 2))
        for key in HARDENING:
            assert exported.attrs["HostConfig"][key] == ours.attrs["HostConfig"][key], key
        assert exported.attrs["Config"]["User"] == ours.attrs["Config"]["User"] == "10001:10001"
        assert exported.attrs["HostConfig"]["Memory"] == 300 * 2**20
        for _ in range(120):  # its health check (the Dockerfile's) passes too
            exported.reload()
            if exported.attrs["State"]["Health"]["Status"] == "healthy":
                break
            time.sleep(0.5)
        assert exported.attrs["State"]["Health"]["Status"] == "healthy"
    finally:
        _compose(repo, env, "down", "-v")

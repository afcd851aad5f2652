"""Apps on a Docker Swarm (``APPFORGE_ENGINE=swarm``): a single-node swarm on the real engine.

One installation, a few builds, through the CLI: the cluster is made and listed, a landing page
runs two replicas and a CRUD app one (pinned, with its data), redeploys, a scale and a rollback
under steady load drop nothing, a version that never turns healthy is rolled back by Swarm while
the old one serves, stop/start, isolation probes from a task, and destroy leaves nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.errors import UnhealthyDeployment
from appforge.sandbox.containers import purge_instance
from appforge.store import Store
from appforge.tools import apps
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import (
    Installation,
    Load,
    crashing_version,
    leave_swarm_after_the_run,
)
from tests.integration.test_isolation import BLOCKED, _probe

pytestmark = pytest.mark.docker

LANDING = "A gallery of surf photos from Ericeira called Swell"
NOTES = "A notes app called Ledger. Each note has a title and a body."
SHARED = "A plant list called Greenhouse. Each plant has a name and a location."


@pytest.fixture(scope="module")
def swarm(docker_client: Any, tmp_path_factory: pytest.TempPathFactory
          ) -> Iterator[Installation]:
    """A swarm installation; the engine is made a single-node manager for the module (and left
    again after, unless it was one before)."""
    was = (docker_client.info().get("Swarm") or {}).get("LocalNodeState")
    home = tmp_path_factory.mktemp("appforge-swarm")
    instance, port, registry = f"afsw{os.getpid()}", free_port(), free_port()
    env = appforge_env(home, instance, port) | {
        "APPFORGE_ENGINE": "swarm", "APPFORGE_REGISTRY_PORT": str(registry),
        "APPFORGE_SCREENSHOTS": "false"}
    settings = Settings(home=home, instance=instance, http_port=port, engine="swarm",
                        registry_port=registry)
    yield Installation(settings, env)
    for service in docker_client.services.list(
            filters={"label": f"io.appforge.instance={instance}"}):
        service.remove()
    purge_instance(docker_client, instance)
    if was != "active":
        leave_swarm_after_the_run(docker_client)


def node_name(client: Any) -> str:
    return str(client.info()["Name"])


def test_without_a_swarm_the_error_says_how_to_make_one(swarm: Installation,
                                                        docker_client: Any) -> None:
    if (docker_client.info().get("Swarm") or {}).get("LocalNodeState") == "active":
        pytest.skip("this engine already is in a swarm")
    failed = swarm.run("build", LANDING, check=False)
    assert failed.returncode != 0
    assert "not in a swarm" in failed.stderr and "appforge cluster init" in failed.stderr
    assert swarm.run_json("list") == []  # nothing half-made


def test_cluster_init_and_nodes(swarm: Installation) -> None:
    made = swarm.run_json("cluster", "init", "--advertise-addr", "127.0.0.1")
    assert made["registry"].endswith(f":{swarm.settings.registry_port}")
    again = swarm.run_json("cluster", "init")  # idempotent: the same swarm, the same registry
    assert not again["initialised"] and again["node_id"] == made["node_id"]
    (node,) = swarm.run_json("cluster", "nodes")["nodes"]
    assert (node["role"], node["state"], node["availability"]) == ("manager", "ready", "active")
    assert node["cpus"] > 0 and node["memory"] > 0
    joining = swarm.run_json("cluster", "join-command")
    assert joining["command"].startswith("docker swarm join --token SWMTKN-")


def test_replicas_redeploy_scale_and_rollback_drop_nothing(swarm: Installation,
                                                           docker_client: Any) -> None:
    built = swarm.run_json("build", "--replicas", "2", LANDING)
    assert built["status"] == "running"
    info = swarm.run_json("show", "swell")
    assert info["container"]["replicas"]["running"] == 2, info["container"]
    assert "@sha256:" in info["container"]["image"]  # named by digest from the registry
    assert info["live"]["live"] == "running", info["live"]
    service = docker_client.services.get(f"{swarm.settings.instance}-swell")
    spec = service.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["ReadOnly"] and spec["CapabilityDrop"] == ["ALL"] and spec["User"] == "10001:10001"
    assert service.attrs["Spec"]["UpdateConfig"]["Order"] == "start-first"
    assert swarm.get("swell.localhost").status_code == 200
    with Load(swarm.settings.http_port, "swell.localhost", threads=2, path="/") as load:
        again = swarm.run_json("build", "--app", "swell", LANDING + " at sunrise")
        scaled = swarm.run_json("scale", "swell", "3")
        back = swarm.run_json("rollback", "swell")
    assert load.failed == [] and load.ok > 20, load.failed[:5]
    assert again["version"] == 2 and back["version"] == 1
    assert scaled["replicas"] == 3
    info = swarm.run_json("show", "swell")
    assert info["container"]["replicas"]["running"] == 3  # the rollback keeps the app's replicas
    nodes = swarm.run_json("cluster", "nodes")["nodes"]
    assert sum(1 for a in nodes[0]["apps"] if a.startswith("swell ")) == 3
    # the chat scales too (no plan to approve)
    said = subprocess.run([sys.executable, "-m", "appforge.cli", "chat", "--app", "swell"],
                          input="scale it to 2\n/quit\n", env=swarm.env, capture_output=True,
                          text=True, timeout=300)
    assert "swell now runs 2 replica(s)" in said.stdout, said.stdout + said.stderr
    assert swarm.run_json("show", "swell")["container"]["replicas"]["running"] == 2
    # the dashboard shows the node and what runs on it, and the app's replicas
    from starlette.testclient import TestClient

    from appforge.web.app import create_app

    with TestClient(create_app(swarm.settings), base_url="http://127.0.0.1") as web:
        page = web.get("/cluster").text
        assert nodes[0]["hostname"] in page and page.count("swell v1") == 2, page[-3000:]
        assert "2 running" in web.get("/apps/swell").text


def test_a_data_app_keeps_its_data_refuses_replicas_and_is_isolated(
        swarm: Installation, docker_client: Any) -> None:
    swarm.run_json("build", NOTES)
    base = f"http://127.0.0.1:{swarm.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "ledger.localhost"}, timeout=10) as http:
        made = http.post("/api/notes", json={"title": "kept", "body": "on the manager"})
        assert made.status_code in (200, 201), made.text
    refused = swarm.run("scale", "ledger", "2", check=False)
    assert refused.returncode != 0 and "SQLite" in refused.stderr and "Postgres" in refused.stderr
    with Load(swarm.settings.http_port, "ledger.localhost", threads=2) as load:
        swarm.run_json("build", "--app", "ledger", NOTES.replace("a body", "a body and a tag"))
    assert load.failed == [] and load.ok > 0, load.failed[:5]
    assert "kept" in swarm.get("ledger.localhost", "/api/notes").text
    # the manager holds its data: draining it is refused, saying which apps would stop
    refused = swarm.run("cluster", "drain", node_name(docker_client), check=False)
    assert refused.returncode != 0 and "holds the data of ledger" in refused.stderr, \
        refused.stderr
    assert "--force" in refused.stderr
    # forced, nothing can run anywhere: a scale says so, and activating brings all back
    swarm.run_json("cluster", "drain", "--force", node_name(docker_client))
    try:
        stuck = swarm.run("scale", "swell", "4", check=False)
        assert stuck.returncode != 0 and "no node can run" in stuck.stderr, stuck.stderr
        assert "activate a drained node" in stuck.stderr
    finally:
        swarm.run_json("cluster", "activate", node_name(docker_client))
    swarm.run_json("up")
    # stop answers 503; start brings it back with its data
    swarm.run_json("stop", "ledger")
    assert swarm.get("ledger.localhost", "/api/notes").status_code == 503
    assert swarm.run_json("show", "ledger")["live"]["live"] == "stopped"
    swarm.run_json("start", "ledger")
    assert "kept" in swarm.get("ledger.localhost", "/api/notes").text
    # snapshots and restores work on the manager's volume as on one engine
    snap = swarm.run_json("backup", "ledger")
    with httpx.Client(base_url=base, headers={"Host": "ledger.localhost"}, timeout=10) as http:
        assert http.post("/api/notes", json={"title": "later", "body": "x"}).status_code in (200, 201)
    swarm.run_json("restore", "ledger", "--from", snap["id"], "--yes")
    notes = swarm.get("ledger.localhost", "/api/notes").text
    assert "kept" in notes and "later" not in notes
    # a task is as locked in as a container: no way out, not to the other app, not to the
    # proxy's admin API
    tasks = docker_client.containers.list(filters={"label": [
        f"io.appforge.instance={swarm.settings.instance}", "io.appforge.app=ledger",
        "io.appforge=task"]})
    assert tasks, "no running task of ledger"
    task = tasks[0]
    assert task.attrs["HostConfig"]["ReadonlyRootfs"] and task.attrs["Config"]["User"]
    proxy = f"{swarm.settings.instance}-proxy"
    other = f"{swarm.settings.instance}-swell:8000"
    seen = _probe(task, ("tcp", "192.0.2.1:80"), ("tcp", other), ("tcp", f"{proxy}:2019"),
                  ("tcp", f"{proxy}:8080"))
    assert seen[f"{proxy}:8080"] == "connected", seen  # the probe itself works
    assert {seen["192.0.2.1:80"], seen[other], seen[f"{proxy}:2019"]} <= BLOCKED, seen


def test_move_refusals_and_the_relay_that_reaches_data_on_a_node(
        swarm: Installation, docker_client: Any, tmp_path: Any) -> None:
    """`appforge move` to where the data is, or of an app without data, is refused; the relay
    that snapshots and restores data on another node (a service from the app's image on the
    app's overlay network, and a helper on the manager) does both, here with the manager as
    the node (a real second node: bench/cluster.py)."""
    from appforge.backups import catalog, remote

    here = node_name(docker_client)
    same = swarm.run("move", "ledger", here, check=False)
    assert same.returncode != 0 and f"ledger's data is on {here} already" in same.stderr
    stateless = swarm.run("move", "swell", here, check=False)
    assert stateless.returncode != 0 and "keeps no data" in stateless.stderr
    nowhere = swarm.run("move", "ledger", "no-such-node", check=False)
    assert nowhere.returncode != 0 and "no node 'no-such-node'" in nowhere.stderr

    settings, node = swarm.settings, docker_client.info()["Swarm"]["NodeID"]
    folder = tmp_path / "snap"
    folder.mkdir()
    umask = catalog.open_to_helper(folder)
    taken = remote.run(docker_client, settings, "ledger", node, "snapshot", "afsw-relay-test",
                       folder, {"meta": {"id": "relay", "slug": "ledger"}, "umask": umask})
    assert taken["ok"] and taken["files"] >= 1, taken
    base = f"http://127.0.0.1:{settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "ledger.localhost"}, timeout=10) as http:
        assert http.post("/api/notes", json={"title": "after", "body": "x"}).status_code in (
            200, 201)
    put = remote.run(docker_client, settings, "ledger", node, "restore", "afsw-relay-test",
                     folder, {})
    assert put["ok"] and put["files"] == taken["files"], put
    notes = swarm.get("ledger.localhost", "/api/notes").text
    assert "kept" in notes and "after" not in notes
    label = f"io.appforge.instance={settings.instance}"
    assert not [s.name for s in docker_client.services.list(filters={"label": label})
                if "relay" in s.name or s.name.endswith("-node")]


def test_two_replicas_share_their_postgres_service(swarm: Installation,
                                                  docker_client: Any) -> None:
    """A CRUD app on Postgres runs two replicas that see the same records; its server is a
    hardened Swarm service whose password is a secret, not in its environment."""
    built = swarm.run_json("build", "--database", "postgres", "--replicas", "2", SHARED)
    slug, instance = built["slug"], swarm.settings.instance
    host = f"{slug}.localhost"
    assert swarm.run_json("show", slug)["container"]["replicas"]["running"] == 2
    base = f"http://127.0.0.1:{swarm.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": host}, timeout=10) as http:
        for title in ("fern", "basil", "ivy", "mint"):
            made = http.post("/api/plants", json={"name": title, "location": "sill"})
            assert made.status_code in (200, 201), made.text
        # the proxy spreads requests over both replicas: each answers with all four
        seen = {tuple(sorted(p["name"] for p in http.get("/api/plants").json()))
                for _ in range(8)}
    assert seen == {("basil", "fern", "ivy", "mint")}, seen
    server = docker_client.services.get(f"{instance}-{slug}-postgres")
    spec = server.attrs["Spec"]["TaskTemplate"]["ContainerSpec"]
    assert spec["User"] == "postgres" and spec["ReadOnly"] and spec["CapabilityDrop"] == ["ALL"]
    assert [s["File"]["Name"] for s in spec["Secrets"]] == ["db_password"]
    password = (swarm.settings.home / "postgres" / f"{slug}.password").read_text().strip()
    assert password not in str(server.attrs)
    snap = swarm.run_json("backup", slug)
    assert (Path(snap["path"]) / "postgres.dump").stat().st_size > 0  # pg_dump in its task
    swarm.run_json("destroy", slug, "--yes")
    assert not docker_client.services.list(filters={"name": f"{instance}-{slug}-postgres"})
    assert not docker_client.secrets.list(filters={"name": f"{instance}-{slug}-postgres"})


def test_a_version_that_never_turns_healthy_is_rolled_back_and_the_old_one_serves(
        swarm: Installation, docker_client: Any) -> None:
    settings = swarm.settings
    store = Store(settings.db_path)
    serving = store.get_app("ledger").current_version
    version = crashing_version(docker_client, settings, "ledger", "database password missing")
    with Load(settings.http_port, "ledger.localhost", threads=2) as load:
        with pytest.raises(UnhealthyDeployment) as info:
            apps.deploy(docker_client, settings.model_copy(update={"health_timeout": 40.0}),
                        store, "ledger", version, lambda _m: None)
    assert "database password missing" in (info.value.detail or ""), info.value.detail
    assert load.failed == [] and load.ok > 0, load.failed[:5]
    assert store.get_app("ledger").current_version == serving
    assert "kept" in swarm.get("ledger.localhost", "/api/notes").text


def test_destroy_leaves_nothing(swarm: Installation, docker_client: Any) -> None:
    for slug in ("swell", "ledger"):
        swarm.run_json("destroy", slug, "--yes")
    label = f"io.appforge.instance={swarm.settings.instance}"
    assert [s.name for s in docker_client.services.list(filters={"label": label})] == [
        f"{swarm.settings.instance}-registry"]
    assert [n.name for n in docker_client.networks.list(filters={"label": label})] == []
    assert not docker_client.volumes.list(filters={"label": label}) or all(
        v.name.endswith("-registry-data") for v in docker_client.volumes.list(
            filters={"label": label}))
    assert swarm.run_json("list") == []

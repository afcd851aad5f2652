"""Versions and deploys people can trust, through the real CLI, engine and proxy.

Redeploys under load drop nothing, a crashing version is never routed, rollback keeps the data,
the proxy comes back with every route, two builds of one app never corrupt it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from appforge.errors import UnhealthyDeployment
from appforge.store import Store
from appforge.tools import apps
from tests.integration.conftest import Installation, Load, crashing_version

pytestmark = pytest.mark.docker

NOTES = "A notes app called Jotter. Each note has a title, a body and a date."


@pytest.fixture(scope="module")
def jotter(installation: Installation) -> dict[str, Any]:
    return installation.run_json("build", NOTES)


def test_redeploy_under_load_drops_no_request(installation: Installation,
                                              jotter: dict[str, Any]) -> None:
    # Two client threads: enough to catch a dropped request, and they leave the build a core.
    with Load(installation.settings.http_port, "jotter.localhost", threads=2) as load:
        time.sleep(0.5)
        result = installation.run_json("build", "--app", "jotter", NOTES.replace(" and a date", ", a date and a pinned flag"))
        time.sleep(0.5)
    assert result["version"] == jotter["version"] + 1
    assert load.ok > 50
    assert load.failed == []
    fields = installation.get("jotter.localhost", "/openapi.json").json()
    assert "pinned" in str(fields["components"]["schemas"])


def test_rollback_serves_the_old_version_and_keeps_the_data(installation: Installation,
                                                            jotter: dict[str, Any]) -> None:
    base = f"http://127.0.0.1:{installation.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "jotter.localhost"}, timeout=10) as http:
        made = http.post("/api/notes", json={"title": "keep me", "body": "x",
                                             "date": "2026-11-25"})
        assert made.status_code in (200, 201), made.text
        before = installation.run_json("show", "jotter")["current_version"]
        back = installation.run_json("rollback", "jotter")
        assert back["version"] < before
        assert "keep me" in http.get("/api/notes").text
        assert "pinned" not in str(http.get("/openapi.json").json()["components"])
        forward = installation.run_json("rollback", "jotter", "--to", str(before))
        assert forward["version"] == before
        assert "keep me" in http.get("/api/notes").text


def test_show_reports_versions_health_and_limits(installation: Installation,
                                                 jotter: dict[str, Any]) -> None:
    info = installation.run_json("show", "jotter")
    assert [v["version"] for v in info["versions"]][:1] == [1]
    assert info["domains"] == ["jotter.localhost"]
    limits = info["container"]["limits"]
    assert limits["memory"] == 256 * 2**20 and limits["cpus"] == 1 and limits["pids"] == 128
    logs = installation.run("logs", "jotter", "--tail", "20").stdout
    assert "Uvicorn running" in logs or "GET /" in logs


def test_crashing_new_version_is_not_routed_and_old_keeps_serving(
        installation: Installation, jotter: dict[str, Any], docker_client: Any,
        tmp_path: Path) -> None:
    settings = installation.settings
    store = Store(settings.db_path)
    serving = store.get_app("jotter").current_version
    version = crashing_version(docker_client, settings, "jotter", "database password missing")
    fast = settings.model_copy(update={"health_timeout": 20.0})
    with Load(settings.http_port, "jotter.localhost", threads=2) as load:
        with pytest.raises(UnhealthyDeployment) as info:
            apps.deploy(docker_client, fast, store, "jotter", version, lambda _m: None)
    assert "database password missing" in (info.value.detail or "")
    assert load.failed == [] and load.ok > 0
    assert store.get_app("jotter").current_version == serving


def test_proxy_and_stopped_containers_come_back_with_up(installation: Installation,
                                                        jotter: dict[str, Any],
                                                        docker_client: Any) -> None:
    instance = installation.settings.instance
    docker_client.containers.get(f"{instance}-proxy").remove(force=True)
    current = installation.run_json("show", "jotter")["current_version"]
    docker_client.containers.get(f"{instance}-jotter-v{current}").stop(timeout=5)
    with pytest.raises(httpx.HTTPError):
        installation.get("jotter.localhost", "/healthz")
    installation.run_json("up")
    assert installation.get("jotter.localhost", "/healthz").status_code == 200


def test_down_takes_the_installation_offline_and_up_brings_it_back(
        installation: Installation, jotter: dict[str, Any], docker_client: Any) -> None:
    from docker.errors import NotFound

    instance = installation.settings.instance
    base = f"http://127.0.0.1:{installation.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "jotter.localhost"}, timeout=10) as http:
        assert http.post("/api/notes", json={"title": "Before down", "body": "kept",
                                             "date": "2026-11-30"}).status_code == 201
    current = installation.run_json("show", "jotter")["current_version"]
    down = installation.run_json("down")
    assert f"container {instance}-proxy" in down["removed"]
    assert f"network {instance}-edge" in down["removed"]
    for name in (f"{instance}-proxy", f"{instance}-jotter-v{current}"):
        with pytest.raises(NotFound):
            docker_client.containers.get(name)
    with pytest.raises(NotFound):
        docker_client.networks.get(f"{instance}-edge")
    assert docker_client.volumes.get(f"{instance}-data-jotter")  # the data stays
    with pytest.raises(httpx.HTTPError):
        installation.get("jotter.localhost", "/healthz")
    assert installation.run_json("show", "jotter")["status"] == "running"  # as intended
    up = installation.run_json("up")
    assert "jotter" in up["restored"]
    assert "Before down" in installation.get("jotter.localhost", "/api/notes").text


def test_stop_answers_503_and_start_brings_it_back(installation: Installation,
                                                   jotter: dict[str, Any]) -> None:
    installation.run_json("stop", "jotter")
    stopped = installation.get("jotter.localhost", "/")
    assert stopped.status_code == 503 and "stopped" in stopped.text
    assert installation.run_json("show", "jotter")["status"] == "stopped"
    installation.run_json("start", "jotter")
    assert installation.get("jotter.localhost", "/healthz").status_code == 200


def test_two_builds_of_one_app_at_once_both_land_in_order(installation: Installation,
                                                          jotter: dict[str, Any]) -> None:
    cmd = [sys.executable, "-m", "appforge.cli", "build", "--json", "--app", "jotter", NOTES]
    procs = [subprocess.Popen(cmd, env=installation.env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs

    versions = sorted(json.loads(o.strip().splitlines()[-1])["version"] for o, _ in outs)
    assert versions[1] == versions[0] + 1
    info = installation.run_json("show", "jotter")
    assert info["current_version"] == versions[1]
    running = [v for v in info["versions"] if v["status"] == "running"]
    assert [v["version"] for v in running] == [versions[1]]
    assert installation.get("jotter.localhost", "/healthz").status_code == 200


def test_a_build_waits_for_a_busy_app_at_most_wait_seconds_and_names_the_holder(
        installation: Installation, jotter: dict[str, Any]) -> None:
    import os

    from appforge.store.locks import app_lock

    with app_lock(installation.settings.home, "jotter"):  # as a hung build would
        busy = installation.run("build", "--app", "jotter", "--wait", "1", NOTES, check=False)
    assert busy.returncode == 5, busy.stderr
    assert "jotter is still busy after 1 s" in busy.stderr
    assert f"process {os.getpid()}" in busy.stderr


def test_custom_domains_and_conflicts(installation: Installation, jotter: dict[str, Any]) -> None:
    result = installation.run_json("build", "--app", "jotter", "--domain", "notes.example.com",
                                   "--domain", "Jotter.Example.org", NOTES)
    assert result["url"].startswith("http://notes.example.com")
    assert installation.get("notes.example.com", "/healthz").status_code == 200
    assert installation.get("jotter.example.org", "/healthz").status_code == 200
    assert installation.get("jotter.localhost", "/").status_code == 404  # no longer its domain
    clash = installation.run("build", "--domain", "notes.example.com", "a todo list",
                             check=False)
    assert clash.returncode == 2
    assert "notes.example.com is already used by app 'jotter'" in clash.stderr
    bad = installation.run("build", "--domain", "*.example.com", "a todo list", check=False)
    assert bad.returncode == 2 and "invalid domain" in bad.stderr
    # reserved and local names are refused (each kind is in tests/unit/test_spec.py)
    refused = installation.run("build", "--app", "jotter", "--domain", "localhost", NOTES,
                               check=False)
    assert refused.returncode == 2 and "localhost is this machine" in refused.stderr
    assert installation.get("notes.example.com", "/healthz").status_code == 200  # untouched
    # the domains belong to the version: a rollback to the one before brings its domain back
    installation.run_json("rollback", "jotter")
    assert installation.get("jotter.localhost", "/healthz").status_code == 200
    assert installation.get("notes.example.com", "/").status_code == 404
    assert installation.run_json("show", "jotter")["domains"] == ["jotter.localhost"]


def test_destroy_keep_data_then_rebuild_finds_the_data(installation: Installation) -> None:
    description = "A reading list called Shelf. Each book has a title and an author."
    # pasted from a terminal: colour escapes and a bell go, with a notice
    pasted = description.replace("Shelf", "\x1b[1mShelf\x1b[0m\x07")
    built = installation.run("build", "--json", pasted)
    assert "removed 9 control character(s)" in built.stderr
    shown = installation.run_json("show", "shelf")
    assert shown["title"].startswith("Shelf") and "\x1b" not in json.dumps(shown)
    readme = Path(shown["versions"][-1]["workspace"]) / "README.md"
    assert "\x1b" not in readme.read_text() and "\x07" not in readme.read_text()
    base = f"http://127.0.0.1:{installation.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "shelf.localhost"}, timeout=10) as http:
        assert http.post("/api/books", json={"title": "Dune", "author": "Herbert"}).status_code \
            in (200, 201)
    installation.run_json("destroy", "shelf", "--yes", "--keep-data")
    assert installation.get("shelf.localhost", "/").status_code == 404
    installation.run_json("build", description)
    assert "Dune" in installation.get("shelf.localhost", "/api/books").text
    installation.run_json("destroy", "shelf", "--yes")


def test_per_app_limits_apply_to_every_version(installation: Installation,
                                               docker_client: Any) -> None:
    description = "A habit tracker called Streak. Each habit has a name and a goal per week."
    installation.run_json("build", "--memory", "192m", "--cpus", "0.5", "--pids", "96",
                          description)
    # Limits are kept. Nothing else changed either: the same image content passed its tests at
    # v1, so they are not run again, and the build says so.
    again = installation.run("build", "--app", "streak", description)
    assert "this image's content passed its tests at streak v1; not run again" in again.stdout, \
        again.stdout
    info = installation.run_json("show", "streak")
    assert info["versions"][1]["test_summary"] == info["versions"][0]["test_summary"] != ""
    assert info["limits"] == {"memory": "192m", "cpus": 0.5, "pids": 96, "body": "1m"}
    host = docker_client.containers.get(info["container"]["name"]).attrs["HostConfig"]
    assert (host["Memory"], host["NanoCpus"], host["PidsLimit"]) == (192 * 2**20, 5 * 10**8, 96)
    kinds = [(d["kind"], d["result"], d["version"]) for d in info["deployments"]]
    assert kinds[:2] == [("deploy", "serving", 2), ("deploy", "serving", 1)]
    # too little memory to start: the error says so, with the limit and what to try
    starved = installation.run("build", "--app", "streak", "--memory", "32m", description,
                               check=False)
    assert starved.returncode != 0
    assert "ran out of memory" in starved.stderr and "32 MiB limit" in starved.stderr
    assert "--memory 64m" in starved.stderr
    assert installation.get("streak.localhost", "/healthz").status_code == 200  # v2 serves
    # ... and the failed build changed nothing of the live app: its limit is asked, not applied
    info = installation.run_json("show", "streak")
    assert info["limits"]["memory"] == "192m"
    assert info["not_applied"] == {"version": 3, "status": "failed",
                                   "settings": {"memory": "32m"}}
    assert "asked for by v3 (failed), not applied: memory 32m" in \
        installation.run("show", "streak").stdout
    docker_client.containers.get(info["container"]["name"]).kill()  # the serving one, gone
    installation.run_json("up")  # comes back as it was: 192m, not 32m
    host = docker_client.containers.get(info["container"]["name"]).attrs["HostConfig"]
    assert host["Memory"] == 192 * 2**20
    # a rollback brings back the limits of the version it deploys
    installation.run_json("build", "--app", "streak", "--memory", "160m", description)
    assert installation.run_json("show", "streak")["limits"]["memory"] == "160m"
    installation.run_json("rollback", "streak", "--to", "2")
    info = installation.run_json("show", "streak")
    assert info["limits"]["memory"] == "192m" and info["not_applied"] is None
    host = docker_client.containers.get(info["container"]["name"]).attrs["HostConfig"]
    assert host["Memory"] == 192 * 2**20
    installation.run_json("destroy", "streak", "--yes")

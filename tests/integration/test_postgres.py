"""A CRUD app on Postgres (``build --database postgres``), through the real CLI, engine and proxy.

One app (Sprout's plan, under its own slug): its records go through the API into its own Postgres
server (a container from the bootstrapped Debian image, on the app's internal network only, as
the postgres user with no capabilities), where psql finds them; the app's own Postgres tests pass
against that server; a redeploy with a new field finds every record; a snapshot holds a pg_dump
and a restore brings deleted records back; a destroy removes the server, its volume and its
password. A landing page asked for Postgres is refused before anything is built.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from appforge.sandbox import postgres
from appforge.sandbox.audit import audit_container, failures
from appforge.sandbox.containers import container_name, network_name
from appforge.tools.sandbox import image_tag
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
#: The same app with one more field, for the redeploy.
SPROUT_WITH_NOTES = SPROUT[:-1] + " and notes."
SLUG = "potting"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def potting(installation: Installation) -> dict[str, Any]:
    return installation.run_json("build", "--app", SLUG, "--database", "postgres", SPROUT)


@pytest.fixture(scope="module")
def http(installation: Installation) -> Any:
    with httpx.Client(base_url=f"http://127.0.0.1:{installation.settings.http_port}",
                      headers={"Host": HOST}, timeout=10) as client:
        yield client


def _plant(name: str) -> dict[str, Any]:
    return {"name": name, "location": "Shed", "days_between_waterings": 4,
            "last_watered": "2026-11-21"}


def _psql(docker_client: Any, installation: Installation, sql: str) -> list[str]:
    server = docker_client.containers.get(postgres.container_name(installation.settings, SLUG))
    return postgres.psql(server, sql).split()


def test_a_postgres_app_keeps_its_records_in_its_own_hardened_server(
    installation: Installation, potting: dict[str, Any], http: httpx.Client,
    docker_client: Any,
) -> None:
    assert potting["status"] == "running"
    for name in ("Fern", "Cactus"):
        assert http.post("/api/plants", json=_plant(name)).status_code == 201
    assert sorted(_psql(docker_client, installation, "SELECT name FROM plants")) == \
        ["Cactus", "Fern"]

    settings = installation.settings
    app = docker_client.containers.get(container_name(settings, SLUG, potting["version"]))
    env = dict(e.split("=", 1) for e in app.attrs["Config"]["Env"])
    assert env["DATABASE_URL"].startswith("postgresql://app:")
    assert app.exec_run(["ls", "/data"]).output.split().count(b"app.db") == 0  # no SQLite

    server = docker_client.containers.get(postgres.container_name(settings, SLUG))
    host = server.attrs["HostConfig"]
    assert server.attrs["Config"]["User"] == "postgres" and host["CapDrop"] == ["ALL"]
    assert host["Memory"] == 256 * 2**20 and host["PidsLimit"] == 128
    # held to every rule an app container is (read-only root, no-new-privileges, no published
    # port, bounded logs, a healthcheck ...)
    assert failures(audit_container(server.attrs, bind_address=settings.bind_address)) == []
    assert list(server.attrs["NetworkSettings"]["Networks"]) == [network_name(settings, SLUG)]
    assert server.labels["io.appforge.app"] == SLUG
    secret = postgres.password_path(settings, SLUG)
    assert secret.stat().st_mode & 0o777 == 0o600 and secret.read_text().strip() in \
        env["DATABASE_URL"]


def test_the_apps_own_tests_pass_on_its_server(
    installation: Installation, potting: dict[str, Any], docker_client: Any,
) -> None:
    """The generated tests/test_postgres.py (a schema per test, dropped after), in the test
    image, on the app's network, against the app's server: the same code the app runs."""
    settings = installation.settings
    url = postgres.database_env(docker_client, settings, SLUG)["DATABASE_URL"]
    from appforge.sandbox.hardening import hardened_run_kwargs

    output = docker_client.containers.run(
        image_tag(settings, SLUG, potting["version"], "-test"),
        ["python3", "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_postgres.py",
         "-k", ("kept_in_postgres or twice or old_table or full_database or create_read_update"
                " or search_finds or rejects_a_bad_value")],
        environment={"TEST_DATABASE_URL": url}, network=network_name(settings, SLUG),
        remove=True, **hardened_run_kwargs(settings)).decode()
    assert " passed" in output and "failed" not in output and "skipped" not in output, output


def test_a_redeploy_with_a_new_field_finds_the_records(
    installation: Installation, potting: dict[str, Any], http: httpx.Client,
) -> None:
    rebuilt = installation.run_json("build", "--app", SLUG, SPROUT_WITH_NOTES)  # no --database
    assert rebuilt["version"] == potting["version"] + 1
    spec = json.loads((Path(rebuilt["workspace"]) / ".appforge" / "spec.json").read_text())
    assert spec["database"] == "postgres"  # the rebuild kept it
    plants = http.get("/api/plants").json()
    assert {p["name"] for p in plants} >= {"Fern", "Cactus"}
    assert all(p["notes"] is None for p in plants)
    assert http.post("/api/plants", json={**_plant("Ivy"), "notes": "north window"}) \
        .status_code == 201
    switched = installation.run("build", "--app", SLUG, "--database", "sqlite", SPROUT,
                                check=False)
    assert switched.returncode == 2 and "keeps its records in postgres" in switched.stderr


def test_a_snapshot_holds_the_database_and_a_restore_brings_it_back(
    installation: Installation, potting: dict[str, Any], http: httpx.Client,
) -> None:
    before = {p["name"] for p in http.get("/api/plants").json()}
    taken = installation.run_json("backup", SLUG)
    manifest = json.loads((Path(taken["path"]) / "manifest.json").read_text())
    assert manifest["postgres"]["kind"] == "pg_dump" and manifest["postgres"]["size"] > 0
    for plant in http.get("/api/plants").json():
        assert http.delete(f"/api/plants/{plant['id']}").status_code == 204
    assert http.get("/api/plants").json() == []
    installation.run_json("restore", SLUG, "--from", taken["id"], "--yes")
    assert {p["name"] for p in http.get("/api/plants").json()} == before
    assert http.post("/api/plants", json=_plant("Moss")).status_code == 201  # ids go on


def test_a_landing_page_on_postgres_is_refused(installation: Installation) -> None:
    refused = installation.run("build", "--app", "pg-landing", "--database", "postgres",
                               "A landing page for a bakery", check=False)
    assert refused.returncode == 2
    assert "only a CRUD app can keep its records in postgres" in refused.stderr


def test_destroy_removes_the_server_its_volume_and_its_password(
    installation: Installation, potting: dict[str, Any], docker_client: Any,
) -> None:
    from docker.errors import NotFound

    settings = installation.settings
    installation.run("destroy", SLUG, "--yes")
    with pytest.raises(NotFound):
        docker_client.containers.get(postgres.container_name(settings, SLUG))
    with pytest.raises(NotFound):
        docker_client.volumes.get(postgres.volume_name(settings, SLUG))
    assert not postgres.password_path(settings, SLUG).exists()

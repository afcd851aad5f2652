"""``appforge export`` without Docker: the compose file, the history, refused folders, the
dashboard's download.

Versions are made by the real code paths (the blueprint planner, the code renderer, the Store),
as the dashboard's tests make them; the engine is a socket that does not exist, so only
``--image``/``--data`` (tested in tests/integration/test_export.py) would need one.
"""

from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient

from appforge.config import Settings
from appforge.errors import AppNotFound, EngineUnavailable, InvalidInput
from appforge.export import check_folder, export_app
from appforge.export.compose import Target, document, hardening, healthcheck_of, render
from appforge.export.history import AUTHOR, commit_message
from appforge.sandbox.hardening import Limits, hardened_run_kwargs
from appforge.store import Store
from tests.conftest import appforge_env, free_port

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
SLUG = "sprout"
#: When each version was built (2026-11-20 10:00, 11:00, 12:00 UTC).
BUILT_AT = {1: 1795168800.0, 2: 1795172400.0, 3: 1795176000.0}
SHARED_DOCKERFILE = (Path(__file__).parents[2] / "appforge" / "generators" / "code" / "blueprints"
                     / "_shared" / "Dockerfile")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", instance="afexport", http_port=free_port(),
                    docker_host="unix:///nonexistent/docker.sock")


def _version(settings: Settings, store: Store, spec: Any, status: str, summary: str,
             limits: dict[str, Any] | None = None) -> int:
    from appforge.generators.code import render_app

    host = spec.host(settings.base_domain)
    store.upsert_app(spec.slug, spec.name, spec.title, spec.kind.value, host)
    store.set_domains(spec.slug, [host])
    record = store.new_version(spec.slug, f"build {spec.title}", spec.model_dump(mode="json"),
                               settings.workspaces)
    workspace = Path(record.workspace)
    render_app(spec, workspace)
    (workspace / ".appforge").mkdir(exist_ok=True)
    (workspace / ".appforge" / "test-report.txt").write_text(f"{summary}\n")
    store.update_version(spec.slug, record.version, status=status, test_summary=summary,
                         image=f"afexport/{spec.slug}:v{record.version}",
                         settings={"limits": limits or {}, "domains": [host]})
    with sqlite3.connect(settings.db_path) as db:  # built at a known moment
        db.execute("UPDATE versions SET created_at = ? WHERE slug = ? AND version = ?",
                   (BUILT_AT[record.version], spec.slug, record.version))
    return record.version


@pytest.fixture
def sprout(settings: Settings) -> Store:
    """Sprout v1, v2 (a new field, 300m of memory, live) and v3 (its tests failed)."""
    from appforge.agent.planners import get_planner
    from appforge.spec import EntityField

    store = Store(settings.db_path)
    spec = get_planner("blueprint", settings).plan(SPROUT)
    assert spec.slug == SLUG
    _version(settings, store, spec, "retired", "6 passed in 0.91s")
    plant = spec.entities[0]
    more = plant.model_copy(update={"fields": [*plant.fields, EntityField(
        name="notes", label="Notes", required=False)]})
    spec2 = spec.model_copy(update={"entities": [more]})
    _version(settings, store, spec2, "running", "7 passed in 1.02s", {"memory": "300m"})
    _version(settings, store, spec2, "failed", "1 failed, 6 passed")
    store.set_app_state(SLUG, status="running", url="http://sprout.localhost", current_version=2)
    return store


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def _target(postgres: bool = False) -> Target:
    return Target(slug=SLUG, title="Sprout", version=2, image="afexport/sprout:v2",
                  limits=Limits(memory="300m", cpus=0.5, pids=64, body="2m"),
                  healthcheck=healthcheck_of(SHARED_DOCKERFILE.read_text()), postgres=postgres)


# -- the compose file --------------------------------------------------------------------------

def test_compose_runs_the_live_version_with_appforge_hardening(settings: Settings) -> None:
    text = render(settings, _target())
    assert text.startswith("# Sprout: v2 of the appforge app sprout")
    app = yaml.safe_load(text)["services"]["app"]
    assert app["image"] == "afexport/sprout:v2" and app["restart"] == "unless-stopped"
    assert app["user"] == "10001:10001" and app["read_only"] is True and app["init"] is True
    assert app["cap_drop"] == ["ALL"] and app["security_opt"] == ["no-new-privileges:true"]
    assert app["tmpfs"] == ["/tmp:rw,noexec,nosuid,nodev,size=64m"] and app["ipc"] == "private"
    assert (app["mem_limit"], app["memswap_limit"], app["cpus"], app["pids_limit"]) == \
        ("300m", "300m", 0.5, 64)
    assert app["logging"] == {"driver": "json-file",
                              "options": {"max-size": "10m", "max-file": "3"}}
    assert app["volumes"] == ["data:/data"] and yaml.safe_load(text)["volumes"] == {"data": {}}
    assert app["ports"] == ["${APP_ADDRESS:-127.0.0.1}:${APP_PORT:-8000}:8000"]
    assert app["environment"]["APP_MAX_BODY_BYTES"] == str(2 * 2**20)
    assert app["build"]["target"] == "runtime"
    check = app["healthcheck"]
    assert check["test"][:2] == ["CMD", "bash"] and "/healthz" in check["test"][-1]
    assert (check["interval"], check["timeout"], check["start_period"], check["retries"]) == \
        ("10s", "3s", "30s", 3)
    assert "db" not in yaml.safe_load(text)["services"]


def test_every_hardening_flag_has_its_compose_key_and_a_new_one_fails_loudly(
        settings: Settings) -> None:
    flags = hardened_run_kwargs(settings)
    assert len(hardening(flags)) == len(flags)  # one Compose key for each flag, none dropped
    with pytest.raises(ValueError, match="privileged"):
        hardening({**flags, "privileged": False})


def test_an_app_on_postgres_gets_its_server_on_an_internal_network(settings: Settings) -> None:
    doc = yaml.safe_load(render(settings, _target(postgres=True)))
    app, db = doc["services"]["app"], doc["services"]["db"]
    assert app["environment"]["DATABASE_URL"].startswith("postgresql://app:${DB_PASSWORD:?")
    assert app["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert doc["networks"] == {"database": {"internal": True}} and db["networks"] == ["database"]
    assert db["user"] == "postgres" and db["read_only"] is True and db["cap_drop"] == ["ALL"]
    assert db["stop_signal"] == "SIGINT" and db["mem_limit"] == "256m"
    script = db["command"][-1]
    assert '"$$PGDATA/PG_VERSION"' in script and "${" not in script.replace("$${", "")
    assert doc["volumes"] == {"data": {}, "postgres": {}}


def test_healthcheck_is_read_from_the_dockerfile_in_either_form() -> None:
    shell = healthcheck_of("FROM x\nHEALTHCHECK --interval=5s CMD curl -f http://localhost/\n")
    assert shell == {"test": ["CMD-SHELL", "curl -f http://localhost/"], "interval": "5s"}
    assert healthcheck_of("FROM x\nHEALTHCHECK NONE\n") is None
    assert healthcheck_of("FROM x\n") is None
    assert document(Settings(), _target())["services"]["app"]["healthcheck"]["retries"] == 3


# -- the history -------------------------------------------------------------------------------

def test_commit_message_says_version_plan_changes_and_tests() -> None:
    first = commit_message(1, "Sprout", "a plant tracker", None, "6 passed", "retired", {})
    assert first.startswith("v1: Sprout\n") and "Plan: first version" in first
    assert "Asked for: a plant tracker" in first and "Tests: 6 passed" in first
    later = commit_message(2, "Sprout", "", ["Plants: + notes (text, optional)"], "", "running",
                           {"limits": {"memory": "300m"}})
    assert "Plan changes:\n- Plants: + notes (text, optional)" in later
    assert "Tests: no summary recorded" in later and "Limits: memory 300m" in later


def test_export_has_one_dated_commit_per_built_version_and_runs_the_live_one(
        settings: Settings, sprout: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "no-git-config"))  # no user.name anywhere
    done = export_app(settings, SLUG, tmp_path / "out" / "sprout", lambda _m: None)
    repo = done.folder
    assert (done.versions, done.live_version, done.skipped) == ([1, 2], 2, ["v3 (failed)"])
    log = _git(repo, "log", "--reverse", "--format=%H|%at|%ct|%an <%ae>|%s").splitlines()
    assert [line.split("|")[0] for line in log] == done.commits
    assert [line.split("|")[4] for line in log] == ["v1: Sprout: Plant-Watering Tracker",
                                                    "v2: Sprout: Plant-Watering Tracker"]
    for line, version in zip(log, (1, 2), strict=True):
        assert line.split("|")[1:3] == [str(int(BUILT_AT[version]))] * 2
        assert line.split("|")[3] == f"{AUTHOR[0]} <{AUTHOR[1]}>"
    second = _git(repo, "log", "-1", "--format=%B")
    assert "Plan changes:\n- Plants: + notes (text, optional)" in second
    assert "Tests: 7 passed in 1.02s" in second and "Limits: memory 300m" in second
    assert _git(repo, "tag").split() == ["v1", "v2"]
    files = set(_git(repo, "ls-files").split())
    assert {"Dockerfile", "requirements.txt", "app/main.py", "compose.yaml", "README.md",
            ".gitignore", "appforge-plan.json"} <= files
    assert not any(f.startswith((".appforge/", "wheels/")) for f in files)
    assert _git(repo, "status", "--porcelain") == ""
    compose = yaml.safe_load((repo / "compose.yaml").read_text())["services"]["app"]
    assert compose["image"] == "afexport/sprout:v2" and compose["mem_limit"] == "300m"
    first = yaml.safe_load(_git(repo, "show", "v1:compose.yaml"))["services"]["app"]
    assert first["image"] == "afexport/sprout:v1" and first["mem_limit"] == "256m"
    readme = (repo / "README.md").read_text()
    assert "docker compose up -d" in readme and "v1, v2" in readme
    assert "pip download" in readme  # the app's own README follows
    assert "/snapshot/" in (repo / ".gitignore").read_text()
    assert {"images/", "snapshot/", ".env"} <= set((repo / ".dockerignore").read_text().split())


def test_after_a_rollback_the_last_commit_is_the_live_version_again(
        settings: Settings, sprout: Store, tmp_path: Path) -> None:
    sprout.set_app_state(SLUG, status="running", current_version=1)
    sprout.add_deployment(SLUG, 1, "rollback", "serving", "afexport-sprout-v1")
    done = export_app(settings, SLUG, tmp_path / "rolled", lambda _m: None)
    repo = done.folder
    assert len(done.commits) == 3 and done.live_version == 1
    assert _git(repo, "log", "-1", "--format=%s") == "v1 serves again: Sprout: Plant-Watering Tracker\n"
    assert _git(repo, "diff", "v1", "HEAD", "--stat") == ""  # the tree of v1, exactly
    assert "afexport/sprout:v1" in (repo / "compose.yaml").read_text()


# -- refusals ----------------------------------------------------------------------------------

def test_a_folder_that_is_not_empty_a_file_or_inside_appforge_is_refused(
        settings: Settings, sprout: Store, tmp_path: Path) -> None:
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    workspace = Path(sprout.get_version(SLUG, 2).workspace)
    for folder, why in ((busy, "not empty"), (a_file, "is a file"),
                        (workspace / "export", "inside the apps' workspaces"),
                        (settings.home / "exports", "inside appforge's data dir")):
        with pytest.raises(InvalidInput, match=why):
            export_app(settings, SLUG, folder, lambda _m: None)
    assert (busy / "keep.txt").read_text() == "mine" and list(busy.iterdir()) == [busy / "keep.txt"]
    assert not (workspace / "export").exists() and not (settings.home / "exports").exists()
    assert check_folder(settings, tmp_path / "new") == (tmp_path / "new").resolve()


def test_an_unknown_app_is_refused_before_anything_is_made(
        settings: Settings, sprout: Store, tmp_path: Path) -> None:
    with pytest.raises(AppNotFound, match="no app named 'nope'"):
        export_app(settings, "nope", tmp_path / "nope", lambda _m: None)
    assert not (tmp_path / "nope").exists()
    env = appforge_env(settings.home, settings.instance, settings.http_port)
    cli = subprocess.run([sys.executable, "-m", "appforge.cli", "export", "nope",
                          str(tmp_path / "nope")], env=env, capture_output=True, text=True,
                         check=False)
    assert cli.returncode == 3 and "no app named 'nope'" in cli.stderr
    assert not (tmp_path / "nope").exists()


def test_a_failed_export_leaves_no_half_made_folder(
        settings: Settings, sprout: Store, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    for folder in (tmp_path / "fresh", empty):
        with pytest.raises(EngineUnavailable):  # the history is written, then the engine fails
            export_app(settings, SLUG, folder, lambda _m: None, image=True)
    assert not (tmp_path / "fresh").exists() and list(empty.iterdir()) == []


# -- the dashboard -----------------------------------------------------------------------------

@pytest.fixture
def dashboard(settings: Settings, sprout: Store) -> Iterator[TestClient]:
    from appforge.web.app import create_app

    with TestClient(create_app(settings), base_url="http://127.0.0.1") as client:
        yield client


def test_the_dashboard_offers_the_repository_as_a_tar_gz(dashboard: TestClient) -> None:
    assert f'href="/apps/{SLUG}/export.tar.gz"' in dashboard.get(f"/apps/{SLUG}").text
    answer = dashboard.get(f"/apps/{SLUG}/export.tar.gz")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/gzip"
    assert f'filename="{SLUG}.tar.gz"' in answer.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(answer.content), mode="r:gz") as tar:
        names = set(tar.getnames())
        compose = tar.extractfile(f"{SLUG}/compose.yaml")
        assert compose is not None and b"afexport/sprout:v2" in compose.read()
    assert {f"{SLUG}/.git/HEAD", f"{SLUG}/README.md", f"{SLUG}/app/main.py"} <= names
    assert not any("/snapshot" in n or "/images" in n for n in names)
    assert dashboard.get("/apps/nope/export.tar.gz").status_code == 404


def test_the_download_needs_the_dashboard_token(settings: Settings, sprout: Store) -> None:
    from appforge.web.app import create_app

    guarded = settings.model_copy(update={"serve_token": "correct-horse-battery-staple-42",
                                          "serve_host": "0.0.0.0"})
    with TestClient(create_app(guarded), base_url="http://127.0.0.1") as client:
        answer = client.get(f"/apps/{SLUG}/export.tar.gz", follow_redirects=False)
        assert answer.status_code in (303, 401) and b"compose" not in answer.content

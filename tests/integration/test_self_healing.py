"""Apps that come back by themselves, and say so: out of memory, then a crash loop, on one app.

Before issue 11 an app killed for memory three times stayed down (restart policy on-failure:3),
answering 502 until someone ran ``appforge up``, while ``list`` and ``show`` still said running.
Now the engine restarts it (unless-stopped, with its backoff) and ``list``, ``show`` and the
dashboard report the live state from the engine beside the intended status.

One contacts book with 64 MiB of memory and a 200 MiB body limit, so one honest request (a
150 MB JSON body, which the proxy and the app both accept) makes the app itself run out of
memory. No appforge command runs between a kill and the app answering again.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.sandbox.containers import APP_USER_ID, container_name, purge_instance
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

CONTACTS = "A contacts book: each contact has a name, an email, a phone number and a birthday."
MB = 10**6
#: Kill the app's server process from inside the container, as a crash would (``docker kill``
#: would count as a manual stop, which the engine respects: measured on Docker 20.10).
KILL_SERVER = """
import os, signal
for pid in os.listdir('/proc'):
    if pid.isdigit() and int(pid) not in (1, os.getpid()):
        try:
            cmd = open(f'/proc/{pid}/cmdline', 'rb').read()
        except OSError:
            continue
        if b'uvicorn' in cmd:
            os.kill(int(pid), signal.SIGKILL)
"""
#: Overwrite the database's header: every start of the app then fails in its migration.
CORRUPT_DB = "open('/data/app.db', 'r+b').write(b'this is no db!!!')"


@pytest.fixture(scope="module")
def healing(docker_client: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Installation]:
    home = tmp_path_factory.mktemp("appforge-self-healing")
    instance, port = f"aft{os.getpid()}s", free_port()
    settings = Settings(home=home, instance=instance, http_port=port)
    env = appforge_env(home, instance, port) | {"APPFORGE_SCREENSHOTS": "false"}
    yield Installation(settings=settings, env=env)
    purge_instance(docker_client, instance)


@pytest.fixture(scope="module")
def contacts(healing: Installation) -> dict[str, Any]:
    built = healing.run_json("build", "--memory", "64m", "--max-body", "200m", CONTACTS)
    assert built["status"] == "running"
    return built


def _host(built: dict[str, Any]) -> str:
    return built["url"].split("//", 1)[1].split(":", 1)[0]


def _until(what: str, check: Callable[[], Any], bound_s: float) -> Any:
    """Poll ``check`` until it returns something true; ``bound_s`` is a bound on a broken
    engine, not a speed requirement."""
    deadline = time.monotonic() + bound_s
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {bound_s:.0f} s")
        time.sleep(0.5)


def _saying(word: str, text: Callable[[], str]) -> Callable[[], str | None]:
    """A check for :func:`_until`: the text, once it contains ``word``."""
    def check() -> str | None:
        found = text()
        return found if word in found else None
    return check


def _answers(installation: Installation, host: str, path: str, text: str = "") -> bool:
    try:
        got = installation.get(host, path)
    except httpx.HTTPError:
        return False
    return got.status_code == 200 and text in got.text


def _live(installation: Installation, slug: str, word: str) -> dict[str, Any] | None:
    info = installation.run_json("show", slug)
    return info if info["live"]["live"] == word else None


def test_out_of_memory_app_comes_back_by_itself_and_show_says_it_was_killed(
        healing: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    slug, host = contacts["slug"], _host(contacts)
    container = docker_client.containers.get(
        container_name(healing.settings, slug, contacts["version"]))
    assert container.attrs["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    body = b'{"name": "' + b"a" * (150 * MB) + b'", "email": "a@example.com"}'
    base = f"http://127.0.0.1:{healing.settings.http_port}"

    def killed() -> bool:
        container.reload()
        return container.attrs["State"]["OOMKilled"] and container.attrs["RestartCount"] >= 1

    answers = []
    # The request is sent again (at most twice) when the app was not killed by it: once in a
    # CI run on a loaded machine it was not, and what it answered was not kept. Each answer is
    # kept now, and checked: never stored, never refused before the app read it.
    for _attempt in range(3):
        with httpx.Client(base_url=base, headers={"Host": host}, timeout=120) as http:
            try:
                answer = http.post("/api/contacts", content=body,
                                   headers={"Content-Type": "application/json"})
                # Not stored, not refused (413) before the app read it. (Caddy 2.6 answers an
                # empty 200 here: the route's error handler matches only "request body too
                # large".)
                answers.append(f"{answer.status_code} {answer.text[:200]!r}")
                assert answer.status_code not in (201, 413), answers
            except httpx.HTTPError as exc:
                answers.append(f"{type(exc).__name__}: {exc}")  # it went down with the app
        deadline = time.monotonic() + 60  # a bound on a broken engine, not a speed requirement
        while not killed() and time.monotonic() < deadline:
            time.sleep(0.5)
        if killed():
            break
    assert killed(), f"the app was not killed for memory and restarted; answers: {answers}"
    _until("the app answering again by itself", lambda: _answers(healing, host, "/api/contacts"),
           120)
    live = healing.run_json("show", slug)["live"]
    assert live["live"] == "out-of-memory" and live["intended"] == "running"
    assert live["oom_killed"] and live["restarts"] >= 1 and live["exit_code"] == 137
    assert "killed for memory" in live["reason"] and "(limit 64 MiB)" in live["reason"]
    listed = {a["slug"]: a for a in healing.run_json("list")}
    assert listed[slug]["live"]["live"] == "out-of-memory"


def test_crash_loop_is_reported_and_the_app_comes_back_once_repaired(
        healing: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    slug, host = contacts["slug"], _host(contacts)
    base = f"http://127.0.0.1:{healing.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": host}, timeout=30) as http:
        made = http.post("/api/contacts", json={"name": "Ada Lovelace",
                                                "email": "ada@example.com",
                                                "phone_number": "+44 20 7946 0000",
                                                "birthday": "1815-12-10"})
        assert made.status_code == 201, made.text
    snapshot = healing.run_json("backup", slug)["id"]
    container = docker_client.containers.get(
        container_name(healing.settings, slug, contacts["version"]))
    corrupted = container.exec_run(["python3", "-c", CORRUPT_DB], user=APP_USER_ID)
    assert corrupted.exit_code == 0, corrupted.output
    container.exec_run(["python3", "-c", KILL_SERVER], user=APP_USER_ID)  # goes down with it

    info = _until("show --json saying crash-looping", lambda: _live(healing, slug, "crash-looping"),
                  120)
    live = info["live"]
    assert info["status"] == "running" and live["intended"] == "running"  # the store's intent
    assert live["exit_code"] not in (None, 0) and live["restarts"] >= 3
    assert f"last exit code {live['exit_code']}" in live["reason"]
    assert "file is not a database" in live["logs"]  # why it fails, from its own log

    def listed() -> dict[str, Any] | None:
        found = {a["slug"]: a for a in healing.run_json("list")}[slug]
        return found if found["live"]["live"] == "crash-looping" else None

    row = _until("list --json saying crash-looping", listed, 60)
    assert row["status"] == "running" and row["live"]["attention"]
    # Between two of the engine's tries the app may run for a moment: each view is asked until
    # it is caught between them (a bound, not a speed requirement).
    table = _until("list saying so",
                   _saying("crash-looping", lambda: healing.run("list").stdout), 60)
    assert f"! {slug}: running (intended) / crash-looping (live)" in " ".join(table.split())
    text = _until("show saying so",
                  _saying("crash-looping", lambda: healing.run("show", slug).stdout), 60)
    assert "running (intended) / crash-looping (live)" in text and "last exit code" in text
    _dashboard_says_crash_looping(healing.settings, slug)

    # The restore starts the crashing app again at once (the engine's next try could be a
    # minute away: its backoff doubles up to 1 min), and says so.
    restored = healing.run_json("restore", slug, "--from", snapshot, "--yes")
    assert restored["restarted"] is True
    assert _answers(healing, host, "/api/contacts", "Ada Lovelace")
    back = _until("show --json saying running",
                  lambda: _live(healing, slug, "running"), 60)["live"]
    assert back["health"] == "healthy"


def _dashboard_says_crash_looping(settings: Settings, slug: str) -> None:
    from fastapi.testclient import TestClient

    from appforge.web.app import create_app

    with TestClient(create_app(settings), base_url="http://127.0.0.1") as web:
        def card() -> str | None:
            html = web.get("/").text
            found = html[html.index(f'data-app="{slug}"'):]
            found = found[:found.index("</li>")]
            return found if 'data-live="crash-looping"' in found else None

        assert "running (intended) / crash-looping (live)" in _until("the list page", card, 60)
        page = _until("the app page", _saying('data-live="crash-looping"',
                                              lambda: web.get(f"/apps/{slug}").text), 60)
        assert "pill-bad" in page and "file is not a database" in page

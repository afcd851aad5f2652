"""Hostile clients through the real proxy: huge bodies, idle connections at the keep-alive edge.

Before issue 11 one 100 MB body (or eight of 10 MB) got the app killed for memory, and after the
engine's three retries it stayed down (``bench/hostile.py`` shows it on an older commit). Now the
proxy answers 413 above the app's body limit (1 MiB unless the app sets another) without reading
the body, and a body without a length is cut at the limit with a 413 too.

The installation here keeps idle connections to apps for 3 s (``APPFORGE_UPSTREAM_IDLE_TIMEOUT``;
30 s by default), so the test can pause at that edge as well as at the old one (5 s, uvicorn's
keep-alive before it was set to 75 s) without waiting half a minute.
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from appforge.config import Settings
from appforge.sandbox.containers import container_name, purge_instance
from appforge.sandbox.proxy import proxy_name
from tests.conftest import appforge_env, free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

CONTACTS = "A contacts book: each contact has a name, an email, a phone number and a birthday."
IDLE = 3.0
MiB = 2**20


@pytest.fixture(scope="module")
def hostile(docker_client: Any, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[Installation]:
    home = tmp_path_factory.mktemp("appforge-hostile")
    instance, port = f"aft{os.getpid()}h", free_port()
    settings = Settings(home=home, instance=instance, http_port=port,
                        upstream_idle_timeout=IDLE)
    env = appforge_env(home, instance, port) | {"APPFORGE_SCREENSHOTS": "false",
                                                "APPFORGE_UPSTREAM_IDLE_TIMEOUT": str(IDLE)}
    yield Installation(settings=settings, env=env)
    purge_instance(docker_client, instance)


@pytest.fixture(scope="module")
def contacts(hostile: Installation) -> dict[str, Any]:
    built = hostile.run_json("build", CONTACTS)
    assert built["status"] == "running"
    return built


def _host(built: dict[str, Any]) -> str:
    return built["url"].split("//", 1)[1].split(":", 1)[0]


def _post(http: httpx.Client, content: Any) -> httpx.Response:
    return http.post("/api/contacts", content=content,
                     headers={"Content-Type": "application/json"})


def test_huge_bodies_get_413_and_the_app_keeps_serving(
        hostile: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    base = f"http://127.0.0.1:{hostile.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": _host(contacts)}, timeout=60) as http:
        big = _post(http, b"{" * (100 * MiB))  # a declared length: refused before it is read
        assert big.status_code == 413, big.text
        assert "larger than this app accepts (1 MiB)" in big.json()["detail"]

        def chunks(total: int) -> Iterator[bytes]:  # no length: cut at the limit
            for _ in range(total // MiB):
                yield b"{" * MiB

        assert _post(http, chunks(100 * MiB)).status_code == 413
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: _post(http, b"{" * (10 * MiB)).status_code,
                                    range(8)))
        assert answers == [413] * 8
        small = _post(http, b'{"name": "Ada"}')  # under the limit: the app answers it
        assert small.status_code in (201, 422), small.text
        assert http.get("/").status_code == 200

    container = docker_client.containers.get(
        container_name(hostile.settings, contacts["slug"], contacts["version"]))
    assert container.attrs["State"]["OOMKilled"] is False
    assert container.attrs["RestartCount"] == 0
    env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
    assert env["APP_MAX_BODY_BYTES"] == str(MiB)  # the app holds the same line itself


def test_a_larger_body_limit_per_app_is_kept_shown_and_applied(
        hostile: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    rebuilt = hostile.run_json("build", "--app", contacts["slug"], "--max-body", "3m", CONTACTS)
    shown = hostile.run_json("show", contacts["slug"])
    assert shown["limits"]["body"] == "3m"
    assert "request bodies up to 3m" in hostile.run("show", contacts["slug"]).stdout
    base = f"http://127.0.0.1:{hostile.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": _host(rebuilt)}, timeout=60) as http:
        assert _post(http, b"{" * (2 * MiB)).status_code != 413  # the app reads it (and says 4xx)
        refused = _post(http, b"{" * (4 * MiB))
        assert refused.status_code == 413 and "(3 MiB)" in refused.text
    container = docker_client.containers.get(
        container_name(hostile.settings, rebuilt["slug"], rebuilt["version"]))
    env = dict(e.split("=", 1) for e in container.attrs["Config"]["Env"])
    assert env["APP_MAX_BODY_BYTES"] == str(3 * MiB)
    bad = hostile.run("build", "--app", contacts["slug"], "--max-body", "lots", CONTACTS,
                      check=False)
    assert bad.returncode != 0 and "invalid request body limit 'lots'" in bad.stderr


def test_no_502_at_the_keep_alive_edges_and_one_server_header(
        hostile: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    host, port = _host(contacts), hostile.settings.http_port
    statuses: list[Any] = []
    lock = threading.Lock()

    def client(pause: float, post: bool) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("GET", "/", headers={"Host": host})
            first = conn.getresponse()
            first.read()
            with lock:
                statuses.append(("server", first.headers.get_all("Server")))
            time.sleep(pause)
            if post:  # not retried by the proxy: a connection closed under it would be a 502
                conn.request("POST", "/api/contacts", body=b"{}",
                             headers={"Host": host, "Content-Type": "application/json"})
            else:
                conn.request("GET", "/", headers={"Host": host})
            answer = conn.getresponse()
            answer.read()
            status: Any = answer.status
        except (OSError, http.client.HTTPException) as exc:
            status = type(exc).__name__
        finally:
            conn.close()
        with lock:
            statuses.append(status)

    # 40 clients, each pausing a little before, at, or after one of the two edges
    pauses = [edge - 0.1 + 0.2 * i / 19 for edge in (IDLE, 5.0) for i in range(20)]
    threads = [threading.Thread(target=client, args=(p, i % 2 == 1))
               for i, p in enumerate(pauses)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    headers = [s[1] for s in statuses if isinstance(s, tuple)]
    answers = [s for s in statuses if not isinstance(s, tuple)]
    assert sorted(answers, key=str) == sorted([200] * 20 + [422] * 20, key=str), answers
    assert headers == [["Caddy"]] * 40  # the proxy's; the app sends none of its own

    proxy = docker_client.containers.get(proxy_name(hostile.settings))
    for _ in range(300):  # a bound on a broken check, not a speed requirement
        proxy.reload()
        health = proxy.attrs["State"]["Health"]["Status"]
        if health != "starting":
            break
        time.sleep(0.2)
    assert health == "healthy", proxy.attrs["State"]["Health"]


def test_an_app_that_is_down_answers_502_not_an_empty_200(
        hostile: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    current = hostile.run_json("show", contacts["slug"])["current_version"]
    docker_client.containers.get(
        container_name(hostile.settings, contacts["slug"], current)).stop(timeout=5)
    down = hostile.get(_host(contacts), "/")
    assert down.status_code == 502 and "The app did not answer" in down.text
    hostile.run_json("up")
    assert hostile.get(_host(contacts), "/").status_code == 200


def test_up_exits_non_zero_when_an_app_cannot_be_started_and_says_why(
        hostile: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    current = hostile.run_json("show", contacts["slug"])["current_version"]
    name = container_name(hostile.settings, contacts["slug"], current)
    image = docker_client.containers.get(name).attrs["Config"]["Image"]
    docker_client.containers.get(name).remove(force=True)
    docker_client.images.remove(image, force=True)  # as a careless `docker image prune -a` would
    up = hostile.run("up", check=False)
    assert up.returncode == 1, up.stdout + up.stderr
    assert "1 app(s) that should serve could not be started" in up.stderr
    assert f"{contacts['slug']}: " in up.stderr and "build it again" in up.stderr
    assert hostile.run_json("show", contacts["slug"])["live"]["live"] == "missing"


def test_destroying_the_last_app_takes_the_proxy_down_too(
        hostile: Installation, contacts: dict[str, Any], docker_client: Any) -> None:
    from docker.errors import NotFound

    gone = hostile.run_json("destroy", contacts["slug"], "--yes")
    instance = hostile.settings.instance
    assert f"container {instance}-proxy" in gone["removed"], gone
    with pytest.raises(NotFound):
        docker_client.containers.get(proxy_name(hostile.settings))
    with pytest.raises(NotFound):
        docker_client.networks.get(f"{instance}-edge")

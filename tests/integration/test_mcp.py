"""The MCP server against the real engine, driven by the SDK's own client: one over stdio
(``python -m appforge.cli mcp``, as a desktop client starts it) and one over streamable HTTP
(``appforge mcp --http`` on a free port, with a token), at the same time.

One flow, three builds (CI time): plan and build an app from an edited plan (stdio, progress
stage by stage); build a second app over HTTP while the first is changed in words over stdio
(two apps at once), and a build of the second app from stdio meanwhile is refused as busy; diff,
roll back, resources; a build cancelled by the client (nothing deployed, the live version still
serves, the lock released); bad arguments; destroy.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters

from appforge.sandbox.engine import LABEL
from appforge.store import Store
from appforge.web.jobs import lock_held
from tests.conftest import free_port
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SHELF, CRUMB = "mcp-shelf", "mcp-crumb"
SHELF_WORDS = "a reading log called Shelfie. Each book has a title and an author"
CRUMB_WORDS = "a landing page for a bakery called Crumb"
TOKEN = "mcp-test-token-0123456789"
TOOLS = {"plan_app", "build_app", "change_app", "list_apps", "show_app", "app_logs", "app_diff",
         "rollback_app", "stop_app", "start_app", "destroy_app", "domain_search"}


@contextmanager
def http_server(env: dict[str, str], log: Path) -> Iterator[str]:
    """``appforge mcp --http`` on a free port; its URL once it listens."""
    port = free_port()
    with log.open("w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "appforge.cli", "mcp", "--http",
                                 "--port", str(port)], env=env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err)
    try:
        for _ in range(600):  # a bound on a server that never starts, not a speed check
            if "MCP server at" in log.read_text() or proc.poll() is not None:
                break
            time.sleep(0.1)
        assert proc.poll() is None, log.read_text()
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def ok(result: Any) -> dict[str, Any]:
    assert not result.is_error, result.content[0].text
    return dict(result.structured_content)


def error(result: Any) -> str:
    assert result.is_error, result.structured_content
    text = result.content[0].text
    assert "Traceback" not in text
    return str(text)


async def wait_until_settled(installation: Installation, slug: str) -> Any:
    """The app's newest version once no build holds the app (a cancelled build winds down).
    It sleeps without blocking the loop: the clients' tasks (the cancel notification) run."""
    store = Store(installation.settings.db_path)
    for _ in range(1200):  # a bound on a build that never ends, not a speed check
        newest = store.list_versions(slug)[-1]
        if not lock_held(installation.settings.home, slug) and newest.status == "failed":
            return newest
        await anyio.sleep(0.25)
    raise AssertionError(f"{slug} is still being built: {newest.status}")


def test_mcp_clients_plan_build_change_review_roll_back_cancel_and_destroy(
        installation: Installation, docker_client: Any, tmp_path: Path) -> None:
    env = installation.env | {"APPFORGE_PLANNER": "blueprint", "APPFORGE_SERVE_TOKEN": TOKEN}
    with http_server(env, tmp_path / "mcp-http.log") as url:
        assert httpx.post(url, json={}, timeout=30).status_code == 401  # no token, no entry
        anyio.run(_flow, installation, env, url, docker_client)


async def _flow(installation: Installation, env: dict[str, str], url: str,
                docker_client: Any) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    stdio = StdioServerParameters(command=sys.executable, args=["-m", "appforge.cli", "mcp"],
                                  env=env)
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {TOKEN}"},
                              timeout=httpx2.Timeout(30, read=600))
    async with Client(stdio) as local, Client(streamable_http_client(url, http_client=http)) \
            as remote:
        assert {t.name for t in (await local.list_tools()).tools} == TOOLS
        assert {t.name for t in (await remote.list_tools()).tools} == TOOLS
        await _plan_and_build(installation, local)
        await _two_apps_at_once_and_one_busy(installation, local, remote)
        await _review_and_roll_back(installation, remote)
        await _cancel_a_build(installation, local, docker_client)
        await _bad_arguments_and_destroy(local, remote)


async def _plan_and_build(installation: Installation, local: Client) -> None:
    planned = ok(await local.call_tool("plan_app", {"description": SHELF_WORDS}))
    assert "Books: title (text), author (text, optional)" in planned["summary"]
    assert Store(installation.settings.db_path).find_app(SHELF) is None  # nothing built
    progress: list[tuple[float, float | None, str | None]] = []

    async def seen(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total, message))

    plan = planned["plan"] | {"title": "Shelf Life"}  # the user's edit
    built = ok(await local.call_tool("build_app", {"plan": plan, "app": SHELF},
                                     progress_callback=seen))
    assert (built["slug"], built["version"], built["status"]) == (SHELF, 1, "running")
    assert "passed" in built["test_summary"]
    assert {"plan", "write_code", "make_assets", "test", "package", "deploy", "verify",
            "total"} <= set(built["timings"])
    messages = [m for _, _, m in progress]
    assert "test: started" in messages and "deploy: started" in messages
    assert any(m and m.startswith("deploy: done in") for m in messages)
    values = [v for v, _, _ in progress]
    assert values == sorted(values) and {t for _, t, _ in progress} == {8}
    page = installation.get(f"{SHELF}.localhost")
    assert page.status_code == 200 and "Shelf Life" in page.text


async def _two_apps_at_once_and_one_busy(installation: Installation, local: Client,
                                         remote: Client) -> None:
    writing = anyio.Event()
    done: dict[str, Any] = {}

    async def crumb_progress(value: float, total: float | None, message: str | None) -> None:
        if message and message.startswith("write_code"):  # after the plan: the app is locked
            writing.set()

    async def build_crumb() -> None:
        done["crumb"] = await remote.call_tool("build_app", {
            "description": CRUMB_WORDS, "app": CRUMB}, progress_callback=crumb_progress)

    async def change_shelf() -> None:
        done["change"] = await local.call_tool("change_app", {
            "app": SHELF, "change": "add a rating field"})

    async with anyio.create_task_group() as group:
        group.start_soon(build_crumb)
        group.start_soon(change_shelf)
        await writing.wait()
        done["busy"] = await local.call_tool("build_app", {"description": CRUMB_WORDS,
                                                           "app": CRUMB})
    busy = error(done["busy"])
    assert busy.startswith(f"{CRUMB} is busy: process ") and "`appforge mcp`" in busy
    assert ok(done["crumb"])["version"] == 1
    changed = ok(done["change"])
    assert changed["version"] == 2 and any("rating" in c for c in changed["changes"])
    assert changed["files"]["changed"]
    assert installation.get(f"{CRUMB}.localhost").status_code == 200
    assert installation.get(f"{SHELF}.localhost").status_code == 200


async def _review_and_roll_back(installation: Installation, remote: Client) -> None:
    diff = ok(await remote.call_tool("app_diff", {"app": SHELF}))
    assert (diff["from_version"], diff["to_version"]) == (1, 2)
    assert any("rating" in f.get("diff", "") for f in diff["files"])
    back = ok(await remote.call_tool("rollback_app", {"app": SHELF}))
    assert back["version"] == 1
    listed = {a["slug"]: a for a in ok(await remote.call_tool("list_apps", {}))["apps"]}
    assert listed[SHELF]["version"] == 1 and listed[CRUMB]["status"] == "running"
    assert ok(await remote.call_tool("show_app", {"app": SHELF}))["current_version"] == 1
    assert "lines" in ok(await remote.call_tool("app_logs", {"app": SHELF, "tail": 20}))
    uris = {r.uri for r in (await remote.list_resources()).resources}
    assert {f"appforge://apps/{SHELF}/plan", f"appforge://apps/{CRUMB}/build-log"} <= uris
    plan = (await remote.read_resource(f"appforge://apps/{SHELF}/plan")).contents[0]
    assert '"title": "Shelf Life"' in plan.text
    files = (await remote.read_resource(f"appforge://apps/{SHELF}/versions/2/files")).contents
    picture = next(p for p in json.loads(files[0].text) if p.endswith(".png"))
    image = (await remote.read_resource(
        f"appforge://apps/{SHELF}/versions/2/files/{picture}")).contents[0]
    assert image.mime_type == "image/png" and image.blob
    log = (await remote.read_resource(f"appforge://apps/{SHELF}/build-log")).contents[0]
    assert "v1 serving" in log.text and "rollback" in log.text


async def _cancel_a_build(installation: Installation, local: Client, docker_client: Any) -> None:
    scope = anyio.CancelScope()

    async def cancel_when_writing(value: float, total: float | None,
                                  message: str | None) -> None:
        if message and message.startswith("write_code"):
            scope.cancel()

    with scope:
        await local.call_tool("build_app", {"description": SHELF_WORDS, "app": SHELF},
                              progress_callback=cancel_when_writing)
    assert scope.cancelled_caught
    stopped = await wait_until_settled(installation, SHELF)
    assert stopped.version == 3 and "cancelled by the MCP client" in stopped.error
    assert Store(installation.settings.db_path).get_app(SHELF).current_version == 1
    assert installation.get(f"{SHELF}.localhost").status_code == 200
    assert not docker_client.containers.list(all=True, filters={"label": [
        f"{LABEL}.instance={installation.settings.instance}", f"{LABEL}.app={SHELF}",
        f"{LABEL}.version=3"]})


async def _bad_arguments_and_destroy(local: Client, remote: Client) -> None:
    assert "invalid app slug 'Mcp Shelf'" in error(await local.call_tool(
        "rollback_app", {"app": "Mcp Shelf"}))
    assert "to_version: Input should be greater than or equal to 1" in error(
        await local.call_tool("rollback_app", {"app": SHELF, "to_version": 0}))
    assert "there is no tool called 'deploy_everything'" in error(
        await local.call_tool("deploy_everything", {}))
    refused = error(await local.call_tool("destroy_app", {"app": SHELF, "confirm": "yes"}))
    assert refused.startswith(f"{SHELF} was not destroyed: confirm must be the app's slug")
    # The cancelled build's lock is free: the destroy takes it.
    assert ok(await local.call_tool("destroy_app", {"app": SHELF, "confirm": SHELF}))[
        "status"] == "destroyed"
    ok(await remote.call_tool("destroy_app", {"app": CRUMB, "confirm": CRUMB}))
    # (other test files share this installation: only this test's apps must be gone)
    left = {a["slug"] for a in ok(await remote.call_tool("list_apps", {}))["apps"]}
    assert not left & {SHELF, CRUMB}, left

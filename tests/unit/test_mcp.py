"""The MCP server without Docker: tool schemas, clear tool errors, resources, progress, the token.

The SDK's own client talks to the server in-process (``mcp.Client(server)``); the integration
test (tests/integration/test_mcp.py) drives it over stdio and HTTP against the real engine.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError

from appforge.config import Settings
from appforge.errors import InvalidInput
from appforge.mcp import calls, schemas
from appforge.mcp.running import Cancelled, Progress
from appforge.mcp.server import create_server, http_app, tool_list
from appforge.store import Store
from tests.conftest import free_port

SHELFIE = "a reading log called Shelfie. Each book has a title and an author"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", instance="afmcpunit", http_port=free_port(),
                    docker_host="unix:///nonexistent/docker.sock", planner="blueprint")


def _record_app(settings: Settings) -> Path:
    """An app as a build records it (plan, files, screenshot), without Docker; its workspace."""
    from PIL import Image

    from appforge.agent.planners import get_planner

    spec = get_planner("blueprint", settings).plan(SHELFIE)
    store = Store(settings.db_path)
    host = spec.host(settings.base_domain)
    store.upsert_app(spec.slug, spec.name, spec.title, spec.kind.value, host)
    store.set_domains(spec.slug, [host])
    record = store.new_version(spec.slug, SHELFIE, spec.model_dump(mode="json"),
                               settings.workspaces)
    workspace = Path(record.workspace)
    (workspace / "app").mkdir(parents=True)
    (workspace / "app" / "main.py").write_text("print('shelfie')\n")
    (workspace / ".appforge").mkdir()
    Image.new("RGB", (8, 8), "teal").save(workspace / ".appforge" / "screenshot.png")
    store.update_version(spec.slug, record.version, status="running", test_summary="6 passed")
    store.add_event(spec.slug, "build", f"v{record.version}: wrote files")
    store.set_app_state(spec.slug, status="running", url=settings.url_for(host),
                        current_version=record.version)
    return workspace


def _run(settings: Settings, scenario: Any) -> Any:
    async def main() -> Any:
        async with Client(create_server(settings)) as client:
            return await scenario(client)
    return anyio.run(main)


def test_every_tool_has_a_strict_schema_and_a_description_for_a_model() -> None:
    tools = {t.name: t for t in tool_list()}
    assert list(tools) == ["plan_app", "build_app", "change_app", "list_apps", "show_app",
                           "app_logs", "app_diff", "rollback_app", "stop_app", "start_app",
                           "destroy_app", "domain_search"]
    for tool in tools.values():
        assert len(tool.description or "") > 80, tool.name
        assert tool.input_schema["type"] == "object"
        assert tool.input_schema.get("additionalProperties") is False, tool.name
        for name, prop in tool.input_schema.get("properties", {}).items():
            assert prop.get("description") or "$ref" in str(prop), (tool.name, name)
    assert tools["destroy_app"].input_schema["required"] == ["app", "confirm"]
    assert tools["destroy_app"].annotations.destructive_hint is True
    assert tools["list_apps"].annotations.read_only_hint is True
    build = tools["build_app"].input_schema
    assert "AppSpec" in build["$defs"] and "Limits" in build["$defs"]
    assert build["properties"]["app"]["anyOf"][0]["pattern"]


@pytest.mark.parametrize(("name", "arguments", "said"), [
    ("build_app", {"app": "Bad Slug"}, "app: invalid app slug 'Bad Slug'"),
    ("build_app", {"limits": {"cpus": 0}}, "limits.cpus: Input should be greater than 0"),
    ("destroy_app", {"app": "shelfie"}, "confirm: Field required"),
    ("show_app", {"app": "shelfie", "colour": "red"}, "colour: unknown argument"),
    ("app_logs", {"app": "shelfie", "tail": 0}, "tail: Input should be greater than or equal"),
    ("launch_rocket", {}, "there is no tool called 'launch_rocket'"),
])
def test_bad_arguments_are_one_clear_line(name: str, arguments: dict[str, Any],
                                          said: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        schemas.parse(name, arguments)
    assert said in str(caught.value)
    assert "errors.pydantic.dev" not in str(caught.value)


def test_tool_errors_carry_the_clis_message_and_hint_never_a_trace(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    _record_app(settings)

    def crash(*_args: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(calls, "app_diff", crash)

    async def scenario(client: Client) -> list[Any]:
        return [await client.call_tool("show_app", {"app": "nope"}),
                await client.call_tool("destroy_app", {"app": "shelfie", "confirm": "yes"}),
                await client.call_tool("build_app", {}),
                await client.call_tool("app_diff", {"app": "shelfie"}),
                await client.call_tool("build_app", {"app": "UPPER"})]

    missing, unconfirmed, empty, crashed, bad = _run(settings, scenario)
    assert missing.is_error and missing.content[0].text == (
        "no app named 'nope'\nhint: `appforge list` shows the apps")
    assert missing.structured_content["kind"] == "AppNotFound"
    assert unconfirmed.is_error and "shelfie was not destroyed: confirm must be the app's " \
        "slug, 'shelfie'" in unconfirmed.content[0].text
    assert Store(settings.db_path).find_app("shelfie") is not None
    assert empty.is_error and "give a description of the app, or a plan" in empty.content[0].text
    assert crashed.is_error and crashed.content[0].text.startswith(
        "unexpected error in app_diff: RuntimeError: a bug")
    assert "Traceback" not in crashed.content[0].text
    assert bad.is_error and "invalid app slug 'UPPER'" in bad.content[0].text


def test_plan_app_returns_the_plan_for_review_and_builds_nothing(settings: Settings) -> None:
    async def scenario(client: Client) -> Any:
        return await client.call_tool("plan_app", {"description": SHELFIE})

    result = _run(settings, scenario)
    assert not result.is_error
    plan = result.structured_content
    assert plan["slug"] == "shelfie" and plan["kind"] == "crud" and not plan["exists"]
    assert plan["url"].startswith("http://shelfie.localhost")
    assert "Books: title (text), author (text, optional)" in plan["summary"]
    assert plan["plan"]["entities"][0]["name"] == "book"
    assert schemas.parse("build_app", {"plan": plan["plan"]}).plan.slug == "shelfie"
    assert Store(settings.db_path).list_apps() == []


def test_resources_give_the_plan_files_build_log_and_screenshot(settings: Settings) -> None:
    _record_app(settings)

    async def scenario(client: Client) -> dict[str, Any]:
        listed = await client.list_resources()
        templates = await client.list_resource_templates()
        read = {uri: (await client.read_resource(uri)).contents[0] for uri in (
            "appforge://apps/shelfie/plan", "appforge://apps/shelfie/build-log",
            "appforge://apps/shelfie/screenshot", "appforge://apps/shelfie/versions/1/files",
            "appforge://apps/shelfie/versions/1/files/app/main.py")}
        refused = []
        for uri in ("appforge://apps/shelfie/versions/1/files/../../../etc/passwd",
                    "appforge://apps/shelfie/versions/7/plan", "appforge://elsewhere"):
            with pytest.raises(MCPError) as caught:
                await client.read_resource(uri)
            refused.append(str(caught.value))
        return {"listed": [r.uri for r in listed.resources], "read": read, "refused": refused,
                "templates": [t.uri_template for t in templates.resource_templates]}

    found = _run(settings, scenario)
    assert "appforge://apps/shelfie/screenshot" in found["listed"]
    assert "appforge://apps/{slug}/versions/{version}/files/{+path}" in found["templates"]
    read = found["read"]
    assert '"slug": "shelfie"' in read["appforge://apps/shelfie/plan"].text
    assert "v1: wrote files" in read["appforge://apps/shelfie/build-log"].text
    shot = read["appforge://apps/shelfie/screenshot"]
    assert shot.mime_type == "image/png" and shot.blob
    assert "app/main.py" in read["appforge://apps/shelfie/versions/1/files"].text
    assert read["appforge://apps/shelfie/versions/1/files/app/main.py"].text == \
        "print('shelfie')\n"
    outside, unknown, elsewhere = found["refused"]
    assert outside == "'../../../etc/passwd' refused: '..' is not allowed in paths"
    assert unknown == "app 'shelfie' has no version 7"
    assert elsewhere.startswith("no such resource: appforge://elsewhere")


def test_progress_only_grows_and_a_cancelled_build_stops_before_its_deploy() -> None:
    sent: list[tuple[float, float | None, str]] = []
    stop = threading.Event()
    progress = Progress(sent.append, stop, total=8)
    progress.worker = threading.get_ident()
    for event in ({"stage": "plan", "event": "start"}, {"stage": "plan", "message": "planned"},
                  {"stage": "plan", "message": "at shelfie.localhost"},
                  {"stage": "plan", "event": "end", "seconds": 0.01},
                  {"stage": "write_code", "event": "start"}):
        progress.on_event(event)
    values = [value for value, _total, _message in sent]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert sent[3] == (1.0, 8, "plan: done in 0.01 s")
    stop.set()
    progress.on_event({"stage": "write_code", "message": "v1: 33 files"})  # records v1: goes on
    progress.on_event({"stage": "deploy", "event": "start"})  # a deploy under way finishes
    with pytest.raises(Cancelled, match="cancelled by the MCP client before it deployed"):
        progress.on_event({"stage": "make_assets", "event": "start"})
    assert len(sent) == 5  # nothing is sent once the request is cancelled


def test_http_asks_for_the_token_and_refuses_a_public_address_without_one(
        settings: Settings) -> None:
    import httpx

    async def ask(headers: dict[str, str]) -> int:
        app = http_app(settings, "127.0.0.1", "a-long-enough-token-1234")
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return (await http.post("/mcp", json={}, headers=headers)).status_code

    assert anyio.run(ask, {}) == 401
    assert anyio.run(ask, {"Authorization": "Bearer wrong-token-wrong-token"}) == 401
    env = {"APPFORGE_HOME": str(settings.home), "APPFORGE_SERVE_TOKEN": "",
           "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-m", "appforge.cli", "mcp", "--http", "--host",
                           "0.0.0.0"], env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 2
    assert "refusing to serve the MCP server on 0.0.0.0 without a token" in proc.stderr


def test_help_loads_neither_the_mcp_sdk_nor_langgraph_nor_torch() -> None:
    code = ("import sys; from typer.testing import CliRunner; from appforge.cli import app; "
            "r = CliRunner().invoke(app, ['mcp', '--help']); assert r.exit_code == 0, r.output; "
            "assert 'streamable HTTP' in r.output; "
            "print([m for m in ('mcp', 'langgraph', 'torch', 'docker') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"

"""The MCP server: the SDK's low-level ``Server`` with appforge's tools and resources.

Every tool call is checked against its schema (``schemas.parse``), run in a worker thread
(``running.in_thread``: progress notifications, cancellation) and answered with a JSON object,
as text and as structured content. An appforge error is a tool error carrying the CLI's message,
detail and hint; anything else is logged to stderr with its stack trace and reported as an
unexpected error, without one. Over HTTP, a token (``Authorization: Bearer``) is asked for
whenever one is set, and required off loopback (``web.security.check_bind``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from importlib.metadata import PackageNotFoundError, version
from typing import Any

import anyio
import anyio.to_thread
import mcp_types as types
from mcp.server.lowlevel.server import Server
from mcp.shared.exceptions import MCPError

from appforge.config import Settings
from appforge.errors import AppforgeError
from appforge.mcp import calls, resources, schemas
from appforge.mcp.running import in_thread

log = logging.getLogger("appforge.mcp")
#: The most characters of an error's detail (a build log, test output) a tool error carries.
MAX_DETAIL = 4000
BUILDS = ("build_app", "change_app")

INSTRUCTIONS = (
    "appforge turns a description of a web app into a running app at its own URL, on this "
    "machine: it plans, writes the code and tests, makes images, tests in a sandbox and deploys "
    "a hardened Docker container. Typical flow: plan_app (show the user the summary), then "
    "build_app with the plan; change_app for changes in words; list_apps / show_app / app_logs "
    "/ app_diff to review; rollback_app, stop_app, start_app, destroy_app (ask first). Apps "
    "are named by their slug. A busy app (being built elsewhere) is refused: try again later. "
    "Errors are appforge's own messages; a hint naming a CLI command (`appforge list`) means "
    "the tool that does the same (list_apps).")


def _version() -> str:
    try:
        return version("appforge")
    except PackageNotFoundError:
        return "0"


def tool_list() -> list[types.Tool]:
    return [types.Tool(
        name=tool.name, title=tool.title, description=tool.description,
        input_schema=tool.input_schema(),
        annotations=types.ToolAnnotations(
            title=tool.title, read_only_hint=tool.read_only, destructive_hint=tool.destructive,
            idempotent_hint=tool.read_only or tool.name in ("stop_app", "start_app"),
            open_world_hint=tool.name == "domain_search"))
        for tool in schemas.TOOLS]


def error_text(exc: AppforgeError) -> str:
    """The error as the CLI prints it: the message, the detail (its end), the hint."""
    text = str(exc)
    if exc.detail:
        detail = exc.detail.rstrip()
        text += "\n" + (detail if len(detail) <= MAX_DETAIL else "…" + detail[-MAX_DETAIL:])
    if exc.hint:
        text += f"\nhint: {exc.hint}"
    return text


def error_result(exc: AppforgeError) -> types.CallToolResult:
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=error_text(exc))], is_error=True,
        structured_content={"error": str(exc), "hint": exc.hint or "",
                            "kind": type(exc).__name__})


Report = Callable[[float, float | None, str], Awaitable[None]]


async def call(settings: Settings, name: str, arguments: dict[str, Any] | None,
               report: Report | None = None) -> types.CallToolResult:
    """One tool call, from its arguments to its result (a tool error for any failure)."""
    try:
        args = schemas.parse(name, arguments)
        work = getattr(calls, name)
        result = await in_thread(lambda progress: work(settings, args, progress), report,
                                 total=8 if name in BUILDS else None)
    except AppforgeError as exc:
        return error_result(exc)
    except Exception as exc:
        log.exception("tool %s crashed", name)
        return types.CallToolResult(is_error=True, content=[types.TextContent(
            type="text", text=f"unexpected error in {name}: {type(exc).__name__}: {exc}\n"
            "hint: the MCP server's stderr has the stack trace")])
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=json.dumps(result, indent=1, default=str))],
        structured_content=json.loads(json.dumps(result, default=str)))


def create_server(settings: Settings) -> Server[Any]:
    """The server for one installation; a busy app is refused, never waited for."""
    settings = settings.model_copy(update={"lock_wait": 0.0})

    async def list_tools(ctx: Any, params: Any) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tool_list())

    async def call_tool(ctx: Any, params: types.CallToolRequestParams) -> types.CallToolResult:
        return await call(settings, params.name, params.arguments, ctx.session.report_progress)

    async def list_resources(ctx: Any, params: Any) -> types.ListResourcesResult:
        found = await anyio.to_thread.run_sync(resources.listed, settings)
        return types.ListResourcesResult(resources=[types.Resource(**r) for r in found])

    async def list_templates(ctx: Any, params: Any) -> types.ListResourceTemplatesResult:
        return types.ListResourceTemplatesResult(resource_templates=[
            types.ResourceTemplate(uri_template=uri, name=name, mime_type=mime,
                                   description=description)
            for uri, name, mime, description in resources.TEMPLATES])

    async def read_resource(ctx: Any,
                            params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        try:
            content, mime = await anyio.to_thread.run_sync(resources.read, settings, uri)
        except AppforgeError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=error_text(exc),
                           data={"uri": uri}) from None
        if isinstance(content, bytes):
            import base64

            blob = types.BlobResourceContents(uri=uri, mime_type=mime,
                                              blob=base64.b64encode(content).decode())
            return types.ReadResourceResult(contents=[blob])
        return types.ReadResourceResult(contents=[
            types.TextResourceContents(uri=uri, mime_type=mime, text=content)])

    return Server("appforge", version=_version(), title="appforge",
                  instructions=INSTRUCTIONS, on_list_tools=list_tools, on_call_tool=call_tool,
                  on_list_resources=list_resources, on_list_resource_templates=list_templates,
                  on_read_resource=read_resource)


def serve_stdio(settings: Settings) -> None:
    """Serve one client on stdin/stdout until it closes them."""
    from mcp.server.stdio import stdio_server

    server = create_server(settings)

    async def run() -> None:
        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    anyio.run(run)


def http_app(settings: Settings, host: str, token: str) -> Any:
    """The streamable HTTP app at ``/mcp``: DNS-rebinding checks on loopback (the SDK's), and
    ``Authorization: Bearer <token>`` asked for when a token is set."""
    from mcp.server.transport_security import TransportSecuritySettings

    from appforge.web.security import is_loopback

    security = None if is_loopback(host) else TransportSecuritySettings(
        enable_dns_rebinding_protection=False)  # the token guards it
    app = create_server(settings).streamable_http_app(host=host, transport_security=security)
    return _with_token(app, token) if token else app


def _with_token(app: Any, token: str) -> Any:
    from starlette.responses import PlainTextResponse

    from appforge.web.security import Guard

    guard = Guard(token, "")

    async def guarded(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            header = dict(scope.get("headers") or []).get(b"authorization", b"").decode(
                "latin-1")
            if not (header.lower().startswith("bearer ")
                    and guard.token_matches(header[7:].strip())):
                await anyio.sleep(0.5)  # a guess costs time
                response = PlainTextResponse(
                    "authentication required: send Authorization: Bearer <token> (the "
                    "APPFORGE_SERVE_TOKEN or --token appforge mcp was started with)",
                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
                await response(scope, receive, send)
                return
        await app(scope, receive, send)

    return guarded

"""`appforge mcp`: appforge's tools for another agent, over MCP (stdio, or streamable HTTP)."""

from __future__ import annotations

from typing import Annotated

import typer

from appforge.cli import app, err, fail, load_settings
from appforge.errors import AppforgeError

DEFAULT_PORT = 8471


@app.command()
def mcp(
    http: Annotated[bool, typer.Option(
        "--http", help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.")]
    = False,
    host: Annotated[str, typer.Option(
        help="With --http: address to listen on (anything but loopback needs a token).")]
    = "127.0.0.1",
    port: Annotated[int, typer.Option(help="With --http: port to listen on.")] = DEFAULT_PORT,
    token: Annotated[str | None, typer.Option(
        help="With --http: ask clients for this token (Authorization: Bearer); default "
        "APPFORGE_SERVE_TOKEN, which other users cannot see in the process list.")] = None,
) -> None:
    """Serve appforge to an MCP client (an IDE assistant, a desktop chat): plan, build, change,
    review, roll back and destroy apps. Stdio by default (the client starts this command)."""
    settings = load_settings()
    if not http:
        from appforge.mcp.server import serve_stdio

        serve_stdio(settings)
        return
    from appforge.cli.serve import listen
    from appforge.web.security import check_bind

    token = settings.serve_token if token is None else token
    try:
        check_bind(host, token, "the MCP server")
        listener = listen(host, port)
    except AppforgeError as exc:
        fail(exc)
        return
    import uvicorn

    from appforge.mcp.server import http_app

    server = uvicorn.Server(uvicorn.Config(http_app(settings, host, token), log_level="warning",
                                           access_log=False))
    shown = f"[{host}]" if ":" in host else host
    err.print(f"[bold green]✓[/] MCP server at [bold underline]http://{shown}:{port}/mcp[/] "
              "(streamable HTTP)" + ("  (token required)" if token else ""), highlight=False)
    server.run(sockets=[listener])

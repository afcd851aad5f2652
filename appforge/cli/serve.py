"""`appforge serve`: the review dashboard in a browser (FastAPI + uvicorn, on 127.0.0.1)."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from appforge.cli import app, fail, load_settings, out
from appforge.errors import AppforgeError, InvalidInput


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(
        help="Address to listen on (default 127.0.0.1; anything else needs a token).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8470).")] = None,
    token: Annotated[str | None, typer.Option(
        help="Ask for this token (Bearer header or login form); prefer APPFORGE_SERVE_TOKEN, "
        "which other users of this machine cannot see in the process list.")] = None,
) -> None:
    """Review apps in a browser: plans, files, diffs, media, tests, logs; deploy and roll back."""
    from appforge.web.security import check_bind

    settings = load_settings()
    updates = {k: v for k, v in (("serve_host", host), ("serve_port", port),
                                 ("serve_token", token)) if v is not None}
    settings = settings.model_copy(update=updates)
    try:
        check_bind(settings.serve_host, settings.serve_token)
        listener = listen(settings.serve_host, settings.serve_port)
    except AppforgeError as exc:
        fail(exc)
        return
    import uvicorn

    from appforge.web.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(settings), log_level="warning",
                                           access_log=False))
    shown = f"[{settings.serve_host}]" if ":" in settings.serve_host else settings.serve_host
    out.print(f"[bold green]✓[/] review dashboard at [bold underline]http://{shown}:"
              f"{settings.serve_port}/[/]" + ("  (token required)" if settings.serve_token else ""),
              highlight=False)
    server.run(sockets=[listener])


def listen(host: str, port: int) -> socket.socket:
    """A listening socket on host:port, or one clear error (the port is taken, the address is
    not this machine's)."""
    if not 1 <= port <= 65535:
        raise InvalidInput(f"port {port} is not between 1 and 65535")
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port,
                                                             type=socket.SOCK_STREAM)[0]
    except OSError as exc:
        raise InvalidInput(f"cannot listen on {host}: {exc.strerror or exc}",
                           hint="give an address of this machine, e.g. 127.0.0.1") from None
    try:
        listener = socket.socket(family, kind, proto)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(address)
        listener.listen(128)
    except OSError as exc:
        raise AppforgeError(f"cannot listen on {host}:{port}: {exc.strerror or exc}",
                            hint="another program may use that port: choose one with --port "
                            "(or APPFORGE_SERVE_PORT)") from None
    listener.set_inheritable(True)
    return listener

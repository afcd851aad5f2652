"""`appforge serve`: the review dashboard in a browser (FastAPI + uvicorn, on 127.0.0.1)."""

from __future__ import annotations

from typing import Annotated

import typer

from appforge.cli import app, err, fail, load_settings, out
from appforge.errors import AppforgeError


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
        if not 1 <= settings.serve_port <= 65535:
            from appforge.errors import InvalidInput

            raise InvalidInput(f"port {settings.serve_port} is not between 1 and 65535")
    except AppforgeError as exc:
        fail(exc)
        return
    import uvicorn

    from appforge.web.app import create_app

    shown = f"[{settings.serve_host}]" if ":" in settings.serve_host else settings.serve_host
    out.print(f"[bold green]✓[/] review dashboard at [bold underline]http://{shown}:"
              f"{settings.serve_port}/[/]" + ("  (token required)" if settings.serve_token else ""),
              highlight=False)
    try:
        uvicorn.run(create_app(settings), host=settings.serve_host, port=settings.serve_port,
                    log_level="warning", access_log=False)
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot listen on {settings.serve_host}:"
                  f"{settings.serve_port}: {exc.strerror or exc}", highlight=False)
        raise typer.Exit(1) from None

"""The app: a FastAPI application with a JSON API under /api and HTML pages for people.

Run it with ``uvicorn app.main:app``. Data lives in ``$DATA_DIR/app.db`` (SQLite), uploaded files
in ``$DATA_DIR/uploads/``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app import api, pages, site, web
from app.db import Database
from app.entities import ENTITIES
from app.uploads import Uploads


def create_app(data_dir: Path | None = None) -> FastAPI:
    """Build the app; ``data_dir`` defaults to ``$DATA_DIR`` (tests pass a temporary one)."""
    db = Database((data_dir or web.data_dir()) / "app.db", ENTITIES)
    uploads = Uploads(db.uploads)
    web.make_temp_folder()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.migrate()  # create tables and add new columns before the first request
        uploads.remove_partial_files()  # of uploads a crash or a restart cut off
        yield

    app = FastAPI(title=site.NAME, description=site.TAGLINE, version="1.0.0", lifespan=lifespan)
    app.state.db = db
    app.state.uploads = uploads
    web.install(app)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app


app = create_app()

"""The app: a FastAPI application with a JSON API under /api and HTML pages for people.

Run it with ``uvicorn app.main:app``. Records live in ``$DATA_DIR/app.db`` (SQLite), or in the
Postgres database ``$DATABASE_URL`` names when it is set; uploaded files in ``$DATA_DIR/uploads/``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from app import api, pages, site, web
from app.db import open_database
from app.entities import ENTITIES
from app.uploads import Uploads


def create_app(data_dir: Path | None = None, database_url: str | None = None) -> FastAPI:
    """Build the app; ``data_dir`` defaults to ``$DATA_DIR`` and ``database_url`` to
    ``$DATABASE_URL`` (tests pass their own)."""
    if database_url is None:
        database_url = os.environ.get("DATABASE_URL", "").strip()
    db = open_database(data_dir or web.data_dir(), ENTITIES, database_url)
    uploads = Uploads(db.uploads)
    web.make_temp_folder()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        db.migrate()  # create tables and add new columns before the first request
        uploads.remove_partial_files()  # of uploads a crash or a restart cut off
        yield
        db.close()

    app = FastAPI(title=site.NAME, description=site.TAGLINE, version="1.0.0", lifespan=lifespan)
    app.state.db = db
    app.state.uploads = uploads
    web.install(app)
    for error in db.storage_errors:  # a full disk answers 507, whichever backend it is
        app.add_exception_handler(error, web.storage_full_answer)
    app.include_router(api.router)
    app.include_router(pages.router)
    return app


app = create_app()

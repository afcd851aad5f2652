"""The app: a gallery page of every image, and a JSON list of the same images.

Run it with ``uvicorn app.main:app``. The images live in static/assets/.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from app import site, web


class Image(BaseModel):
    name: str
    url: str
    alt: str
    width: int
    height: int


def gallery_images() -> list[site.Asset]:
    return site.assets("gallery", "image")


def create_app(data_dir: Path | None = None) -> FastAPI:
    """Build the app. A gallery stores nothing, so ``data_dir`` is accepted and unused."""
    app = FastAPI(title=site.NAME, description=site.TAGLINE, version="1.0.0")
    web.install(app)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return web.render(request, "index.html", {"images": gallery_images()})

    @app.get("/api/images", response_model=list[Image], tags=["images"])
    def list_images() -> list[Image]:
        """Every picture in the gallery, in display order."""
        return [
            Image(name=a.name, url=a.url, alt=a.alt, width=a.width, height=a.height)
            for a in gallery_images()
        ]

    return app


app = create_app()

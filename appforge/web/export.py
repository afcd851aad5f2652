"""The dashboard's export download: an app's repository (``appforge export``) as a tar.gz.

The same repository the CLI writes (history, compose file, README), without the image or the
data: those are large or private and need the engine, so they stay with ``appforge export
--image --data``. Made in a temporary folder per request, removed once it is sent.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from fastapi import APIRouter, Request
from starlette.background import BackgroundTask
from starlette.responses import FileResponse, Response

from appforge.web import model

router = APIRouter()


@router.get("/apps/{slug}/export.tar.gz")
def download(request: Request, slug: str) -> Response:
    from appforge.export import archive

    web = request.app.state.web
    model.find_app(web.store, slug)
    temp = Path(tempfile.mkdtemp(prefix="appforge-download-"))
    try:
        path = archive(web.settings, slug, temp)
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise
    return FileResponse(path, media_type="application/gzip", filename=path.name,
                        background=BackgroundTask(shutil.rmtree, temp, ignore_errors=True))

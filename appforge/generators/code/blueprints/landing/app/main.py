"""The app: a landing page with a sign-up form, and a small JSON API for the same sign-ups.

Run it with ``uvicorn app.main:app``. Sign-ups are kept in ``$DATA_DIR/app.db`` (SQLite).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from app import i18n, site, web
from app.signups import EMAIL_MAX, EMAIL_RE, Signups, valid_email

class SignupIn(BaseModel):
    # Exactly what the OpenAPI document says: no other keys, the pattern read by Python's re.
    model_config = ConfigDict(extra="forbid", regex_engine="python-re")

    email: str = Field(
        max_length=EMAIL_MAX, pattern=EMAIL_RE.pattern, examples=["someone@example.com"]
    )


class SignupOut(BaseModel):
    status: str = "subscribed"


def create_app(data_dir: Path | None = None) -> FastAPI:
    """Build the app; ``data_dir`` defaults to ``$DATA_DIR`` (tests pass a temporary one)."""
    signups = Signups((data_dir or web.data_dir()) / "app.db")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        signups.migrate()
        yield

    app = FastAPI(title=site.NAME, description=site.TAGLINE, version="1.0.0", lifespan=lifespan)
    web.install(app)
    feature_images = site.assets("feature", "image")

    def home(request: Request, *, email: str = "", error: str = "", status: int = 200):
        context = {
            "joined": request.query_params.get("joined") == "1",
            "email": email,
            "error": error,
            "feature_images": feature_images,
        }
        return web.render(request, "index.html", context, status_code=status)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(request: Request) -> HTMLResponse:
        return home(request)

    @app.post("/signup", include_in_schema=False)
    def signup_form(request: Request, email: Annotated[str, Form()] = ""):
        address = valid_email(email)
        if address is None:
            return home(request, email=email, error=i18n.t("landing.bad_email"), status=422)
        signups.add(address)
        return RedirectResponse("/?joined=1#get-started", status_code=303)

    @app.post(
        "/api/signups",
        response_model=SignupOut,
        status_code=201,
        responses=web.WRITE_ERRORS,
        tags=["signups"],
    )
    def signup_api(body: SignupIn) -> SignupOut:
        """Ask to hear more; signing up twice with the same address is harmless."""
        signups.add(body.email)
        return SignupOut()

    return app


app = create_app()

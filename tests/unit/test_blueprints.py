"""Blueprint renderers: every kind of spec renders a complete app that runs and passes its tests.

Each rendered app's own test suite runs in a subprocess, exactly as the sandbox runs it in the
container (``python -m pytest -q -p no:cacheprovider``, no bytecode, no third-party plugins).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from appforge.errors import InvalidInput
from appforge.generators.code import render_app
from appforge.generators.code.context import field_view
from appforge.spec import AppSpec, EntityField, FieldType

HOSTILE = 'Bob\'s "App" {{ 7*7 }} </script><script>alert(1)</script>'
HOSTILE_ESCAPED = (
    "Bob&#39;s &#34;App&#34; {{ 7*7 }} &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;"
)
TRICKY = 'back\\slash """triple""" {% raw %} {# note #} \u2028 ${x} `tick`'
PIN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*==[0-9][A-Za-z0-9.+!-]*$")


def sprout_spec() -> AppSpec:
    return AppSpec.model_validate(
        {
            "name": "Sprout",
            "slug": "sprout",
            "title": "Sprout",
            "tagline": "Keep every plant happy and watered.",
            "kind": "crud",
            "entities": [
                {
                    "name": "plant",
                    "plural": "plants",
                    "label": "Plant",
                    "label_plural": "Plants",
                    "fields": [
                        {"name": "name", "label": "Name", "type": "text"},
                        {"name": "location", "label": "Location", "type": "text"},
                        {
                            "name": "days_between_waterings",
                            "label": "Days between waterings",
                            "type": "integer",
                            "min": 1,
                        },
                        {"name": "last_watered", "label": "Last watered", "type": "date"},
                    ],
                }
            ],
            "theme": {"primary": "#15803d", "accent": "#f59e0b"},
            "assets": [
                {"kind": "image", "role": "logo", "name": "logo", "prompt": "a sprout logo"},
                {"kind": "image", "role": "hero", "name": "hero", "prompt": "plants on a sill"},
            ],
        }
    )


def every_field_spec() -> AppSpec:
    """One entity with every field type (required and optional), and a second entity."""
    fields = []
    for kind in FieldType:
        bounds = {"min": 0, "max": 1000} if kind in ("integer", "decimal", "money") else {}
        fields.append(
            {
                "name": f"{kind.value}_value",
                "label": f"A {kind.value}",
                "type": kind.value,
                **bounds,
            }
        )
        fields.append(
            {
                "name": f"optional_{kind.value}",
                "label": f"Maybe {kind.value}",
                "type": kind.value,
                "required": False,
            }
        )
    # Names that would shadow pydantic or the generated module's imports.
    fields.append({"name": "json", "label": "JSON", "type": "text", "required": False})
    fields.append({"name": "datetime", "label": "Datetime", "type": "integer", "required": False})
    fields.append(
        {"name": "model_year", "label": "Model year", "type": "integer", "required": False}
    )
    return AppSpec.model_validate(
        {
            "name": "Everything",
            "slug": "everything",
            "title": "Every field",
            "kind": "crud",
            "entities": [
                {
                    "name": "thing",
                    "plural": "things",
                    "label": "Thing",
                    "label_plural": "Things",
                    "fields": fields,
                },
                {
                    "name": "garden_bed",
                    "plural": "garden_beds",
                    "label": "Garden Bed",
                    "label_plural": "Garden Beds",
                    "fields": [{"name": "title", "label": "Title", "type": "text"}],
                },
            ],
            "theme": {"mode": "dark"},
        }
    )


def landing_spec() -> AppSpec:
    return AppSpec.model_validate(
        {
            "name": "Crumb",
            "slug": "crumb",
            "title": "Fresh bread, baked at dawn",
            "tagline": "Sourdough from a tiny neighbourhood bakery.",
            "kind": "landing",
            "call_to_action": "Order your first loaf",
            "features": [
                {"title": "Baked every morning", "text": "Warm at breakfast.", "icon": "clock"},
                {"title": "Slow fermented", "text": "36-hour sourdough.", "icon": "leaf"},
                {"title": "Delivered by bike", "text": "Zero emissions.", "icon": "no-such-icon"},
            ],
            "assets": [
                {"kind": "image", "role": "logo", "name": "logo", "prompt": "bread logo"},
                {
                    "kind": "video",
                    "role": "hero",
                    "name": "hero",
                    "prompt": "steam over bread",
                    "seconds": 4,
                },
            ],
        }
    )


def gallery_spec() -> AppSpec:
    images = [
        {
            "kind": "image",
            "role": "gallery",
            "name": f"photo-{i}",
            "prompt": f"aurora over a fjord, photo {i}",
            "alt": "Green aurora above a village" if i == 1 else "",
            "width": 1200,
            "height": 900,
        }
        for i in range(1, 7)
    ]
    return AppSpec.model_validate(
        {
            "name": "Northern Lights",
            "slug": "aurora",
            "title": "Northern Lights",
            "tagline": "A winter of auroras.",
            "kind": "gallery",
            "theme": {
                "mode": "dark",
                "background": "#0b1120",
                "surface": "#111a2e",
                "text": "#e2e8f0",
            },
            "assets": [
                {"kind": "image", "role": "logo", "name": "logo", "prompt": "logo"},
                *images,
            ],
        }
    )


def hostile_spec(kind: str) -> AppSpec:
    """Every piece of free text is an attempt to break out of the language it lands in."""
    data = {
        "name": HOSTILE[:80],
        "slug": f"hostile-{kind}",
        "title": HOSTILE,
        "tagline": TRICKY,
        "description": TRICKY + "\n# heading\n<b>bold</b> | pipe",
        "kind": kind,
        "call_to_action": HOSTILE,
        "language": 'en"><script>alert(1)</script>',
        "features": [{"title": HOSTILE, "text": TRICKY, "icon": '"><script>'}],
        "assets": [
            {"kind": "image", "role": "logo", "name": "logo", "prompt": HOSTILE},
            {"kind": "image", "role": "hero", "name": "hero", "prompt": TRICKY, "alt": HOSTILE},
            {"kind": "image", "role": "gallery", "name": "g-1", "prompt": HOSTILE},
        ],
    }
    if kind == "crud":
        data["entities"] = [
            {
                "name": "note",
                "plural": "notes",
                "label": HOSTILE[:40],
                "label_plural": TRICKY,
                "fields": [
                    {"name": "body", "label": HOSTILE, "type": "text"},
                    {"name": "stars", "label": TRICKY, "type": "rating", "min": 0.5, "max": 4.5},
                ],
            }
        ]
    return AppSpec.model_validate(data)


def bare_spec(kind: str) -> AppSpec:
    """The least a spec can say: no assets, no features, no tagline; SQL keywords as names."""
    data: dict = {"name": "Bare", "slug": f"bare-{kind}", "title": "Bare", "kind": kind}
    if kind == "crud":
        data["language"] = "de"
        data["entities"] = [
            {
                "name": "order",
                "plural": "orders",
                "label": "Bestellung",
                "label_plural": "Bestellungen",
                "fields": [
                    {"name": "select", "label": "Menge", "type": "integer", "required": False},
                    {"name": "group", "label": "Bewertung", "type": "rating", "min": 0, "max": 20},
                ],
            }
        ]
    return AppSpec.model_validate(data)


def uploads_spec() -> AppSpec:
    """Expenses with an optional receipt photo (the first column of the list) and documents
    that must have a file."""
    return AppSpec.model_validate(
        {
            "name": "Paper Trail",
            "slug": "paper-trail",
            "title": "Paper Trail",
            "kind": "crud",
            "entities": [
                {
                    "name": "expense",
                    "plural": "expenses",
                    "label": "Expense",
                    "label_plural": "Expenses",
                    "fields": [
                        {"name": "receipt_photo", "label": "Receipt photo", "type": "image",
                         "required": False},
                        {"name": "amount", "label": "Amount", "type": "money"},
                        {"name": "date", "label": "Date", "type": "date", "required": False},
                    ],
                },
                {
                    "name": "document",
                    "plural": "documents",
                    "label": "Document",
                    "label_plural": "Documents",
                    "fields": [
                        {"name": "title", "label": "Title", "type": "text"},
                        {"name": "file", "label": "File", "type": "file"},
                    ],
                },
            ],
        }
    )


SPECS = {
    "sprout": sprout_spec,
    "every-field": every_field_spec,
    "uploads": uploads_spec,
    "landing": landing_spec,
    "gallery": gallery_spec,
    "hostile-crud": lambda: hostile_spec("crud"),
    "hostile-landing": lambda: hostile_spec("landing"),
    "hostile-gallery": lambda: hostile_spec("gallery"),
    "bare-crud": lambda: bare_spec("crud"),
    "bare-landing": lambda: bare_spec("landing"),
    "bare-gallery": lambda: bare_spec("gallery"),
}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("apps")
    rendered = {}
    for name, make in SPECS.items():
        render_app(make(), root / name)
        rendered[name] = root / name
    return rendered


def app_env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        PYTHONDONTWRITEBYTECODE="1", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1", DATA_DIR=str(data_dir)
    )
    env.pop("PYTHONPATH", None)
    return env


def snapshot(directory: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()
    }


def run_python(app_dir: Path, code: str, tmp_path: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=app_dir,
        env=app_env(tmp_path / "data"),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


# -- the tree ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sprout", "landing", "gallery"])
def test_render_writes_the_layout_every_app_shares(apps: dict[str, Path], name: str) -> None:
    app_dir = apps[name]
    for path in [
        "app/__init__.py",
        "app/main.py",
        "app/site.py",
        "app/templates/base.html",
        "app/templates/error.html",
        "static/css/app.css",
        "static/assets/.gitkeep",
        "tests/conftest.py",
        "tests/test_app.py",
        "requirements.txt",
        "requirements-dev.txt",
        "Dockerfile",
        ".dockerignore",
        "README.md",
    ]:
        assert (app_dir / path).is_file(), path
    assert not list(app_dir.rglob("*.j2"))
    assert not list(app_dir.rglob("__pycache__"))


def test_render_returns_the_sorted_relative_paths_it_wrote(tmp_path: Path) -> None:
    written = render_app(sprout_spec(), tmp_path / "new" / "app")
    on_disk = sorted(
        p.relative_to(tmp_path / "new" / "app")
        for p in (tmp_path / "new" / "app").rglob("*")
        if p.is_file()
    )
    assert written == sorted(written) == on_disk
    assert all(not p.is_absolute() for p in written)
    assert Path("app/entities.py") in written and Path("app/api.py") in written


def test_rendering_is_deterministic(tmp_path: Path) -> None:
    for make in (
        sprout_spec,
        every_field_spec,
        landing_spec,
        gallery_spec,
        lambda: hostile_spec("crud"),
    ):
        first = render_app(make(), tmp_path / "a")
        second = render_app(make(), tmp_path / "b")
        assert first == second
        assert snapshot(tmp_path / "a") == snapshot(tmp_path / "b")
        for directory in ("a", "b"):
            shutil.rmtree(tmp_path / directory)


def test_render_overwrites_the_files_it_renders(tmp_path: Path) -> None:
    render_app(sprout_spec(), tmp_path)
    (tmp_path / "app" / "main.py").write_text("broken")
    (tmp_path / "static" / "assets" / "hero.png").write_bytes(b"an image made later")
    render_app(sprout_spec(), tmp_path)
    assert "create_app" in (tmp_path / "app" / "main.py").read_text()
    assert (tmp_path / "static" / "assets" / "hero.png").read_bytes() == b"an image made later"


def test_the_theme_reaches_the_stylesheet(apps: dict[str, Path]) -> None:
    light = (apps["sprout"] / "static" / "css" / "app.css").read_text()
    assert "--primary: #15803d;" in light and "color-scheme: light;" in light
    dark = (apps["every-field"] / "static" / "css" / "app.css").read_text()
    assert "color-scheme: dark;" in dark
    assert "--bg: #0b1120;" in dark  # a dark mode with light colours gets a dark base
    assert "http://" not in light and "https://" not in light and "@import" not in light


@pytest.mark.parametrize(
    ("name", "kind", "bounds", "low"),
    [
        ("stock_count", "integer", {}, 0),
        ("price", "money", {}, 0),
        ("frame_size_cm", "decimal", {}, 0),
        ("days_between_waterings", "integer", {"min": 1}, 1),
        ("balance", "money", {}, None),
        ("temperature", "decimal", {}, None),
        ("floor_count", "integer", {"max": -1}, None),
    ],
)
def test_counts_prices_and_lengths_start_at_zero_unless_the_spec_says(
    name: str, kind: str, bounds: dict, low: float | None
) -> None:
    field = EntityField(name=name, label=name, type=FieldType(kind), **bounds)
    assert field_view(field).min == low


def test_a_spec_whose_model_classes_would_clash_is_refused(tmp_path: Path) -> None:
    spec = sprout_spec().model_copy(deep=True)
    twin = spec.entities[0].model_copy(update={"name": "plant_in", "plural": "plant_ins"})
    spec.entities.append(twin)
    with pytest.raises(InvalidInput, match="PlantIn"):
        render_app(spec, tmp_path)


# -- the packaging contract ----------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sprout", "landing", "gallery"])
def test_dockerfile_keeps_the_sandbox_contract(apps: dict[str, Path], name: str) -> None:
    dockerfile = (apps[name] / "Dockerfile").read_text()
    lines = dockerfile.splitlines()
    assert "ARG BASE_IMAGE=appforge/python:3.11-bookworm" in lines
    # dependencies (and test dependencies) are installed before any app code, so cached
    assert lines.index("FROM ${BASE_IMAGE} AS deps") < lines.index("FROM deps AS testdeps") \
        < lines.index("FROM deps AS runtime") < lines.index("FROM testdeps AS test")
    assert "COPY wheels/ /opt/wheels/" in lines
    assert dockerfile.count("--no-index --find-links /opt/wheels") == 2
    assert lines.count("USER 10001:10001") == 2
    # In both app stages the settings come before the code, so a code change rebuilds only the
    # copies (each step after a cache miss costs the classic builder a container).
    for stage in ("FROM deps AS runtime", "FROM testdeps AS test"):
        body = lines[lines.index(stage) + 1:]
        body = body[:next((i for i, line in enumerate(body) if line.startswith("FROM ")),
                          len(body))]
        steps = [line.split()[0] for line in body if line and not line.startswith("#")]
        assert steps[-2:] == ["COPY", "COPY"] and "COPY" not in steps[:steps.index("COPY")], steps
        assert all(step == "COPY" for step in steps[steps.index("COPY"):]), steps
    assert "EXPOSE 8000" in lines
    assert any(line.startswith("HEALTHCHECK ") and "/healthz" in line for line in lines)
    assert "DATA_DIR=/data" in dockerfile
    # uploaded form parts are spooled to the data volume, not to the 64 MiB /tmp tmpfs
    runtime = lines[lines.index("FROM deps AS runtime"):lines.index("FROM testdeps AS test")]
    assert "ENV TMPDIR=/data/tmp" in runtime
    assert '"-p", "no:cacheprovider"' in dockerfile
    assert "# syntax" not in dockerfile and "--mount" not in dockerfile  # classic builder
    dockerignore = (apps[name] / ".dockerignore").read_text().split()
    assert "tests" not in dockerignore and "wheels" not in dockerignore


def test_requirements_are_pinned_and_shared_by_every_kind(apps: dict[str, Path]) -> None:
    runtime = (apps["sprout"] / "requirements.txt").read_text()
    dev = (apps["sprout"] / "requirements-dev.txt").read_text()
    for name in ("landing", "gallery"):
        assert (apps[name] / "requirements.txt").read_text() == runtime
        assert (apps[name] / "requirements-dev.txt").read_text() == dev
    pins = runtime.splitlines()
    assert pins and all(PIN.match(line) for line in pins), pins
    names = {line.split("==")[0].lower() for line in pins}
    assert {
        "fastapi",
        "uvicorn",
        "jinja2",
        "python-multipart",
        "pydantic",
        "pydantic-core",
        "starlette",
    } <= names
    assert "fastapi==0.165.0" in pins and "uvicorn==0.54.0" in pins
    dev_lines = dev.splitlines()
    assert dev_lines[0] == "-r requirements.txt"
    assert all(PIN.match(line) for line in dev_lines[1:]), dev_lines
    dev_names = {line.split("==")[0].lower() for line in dev_lines[1:]}
    assert {"pytest", "httpx2"} <= dev_names
    assert not names & dev_names


# -- the generated apps run ----------------------------------------------------------------------


@pytest.mark.parametrize("name", list(SPECS))
def test_generated_app_passes_its_own_tests(
    apps: dict[str, Path], name: str, tmp_path: Path
) -> None:
    app_dir = apps[name]
    before = snapshot(app_dir)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=app_dir,
        env=app_env(tmp_path / "must-stay-unused"),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout
    assert snapshot(app_dir) == before, "the app's tests wrote into the app"
    assert not (tmp_path / "must-stay-unused").exists(), "the app's tests wrote to $DATA_DIR"


def test_an_app_with_uploads_keeps_appforges_api_contract(
    apps: dict[str, Path], tmp_path: Path
) -> None:
    """The contract test the LLM coder's apps get (Schemathesis, every check) passes on the raw
    upload bodies, the 415 of a picture that is none, and the downloads."""
    pytest.importorskip("schemathesis")
    from appforge.generators.code.contract import CONTRACT_TEST, write_contract_test

    app_dir = tmp_path / "uploads"
    shutil.copytree(apps["uploads"], app_dir)
    write_contract_test(app_dir, 10)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CONTRACT_TEST],
        cwd=app_dir,
        env={"PATH": "/usr/bin:/bin", "PYTHONDONTWRITEBYTECODE": "1",
             "DATA_DIR": str(tmp_path / "data")},
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-3000:]
    assert " passed" in result.stdout


@pytest.mark.parametrize("kind", ["crud", "landing", "gallery"])
def test_hostile_text_stays_text(apps: dict[str, Path], kind: str, tmp_path: Path) -> None:
    app_dir = apps[f"hostile-{kind}"]
    for source in app_dir.rglob("*.py"):
        compile(source.read_text(encoding="utf-8"), str(source), "exec")
    code = (
        "import json, tempfile, pathlib\n"
        "from fastapi.testclient import TestClient\n"
        "from app import site\n"
        "from app.main import create_app\n"
        "client = TestClient(create_app(pathlib.Path(tempfile.mkdtemp())))\n"
        "print(json.dumps({'title': site.TITLE, 'tagline': site.TAGLINE, 'html': client.get('/').text}))\n"
    )
    out = json.loads(run_python(app_dir, code, tmp_path))
    assert out["title"] == HOSTILE
    assert out["tagline"] == TRICKY
    html = out["html"]
    assert HOSTILE_ESCAPED in html
    assert "<script>" not in html
    assert "{{ 7*7 }}" in html and "Bob&#39;s &#34;App&#34; 49" not in html
    assert 'lang="en&#34;&gt;&lt;script&gt;' in html
    readme = (app_dir / "README.md").read_text()
    assert "<script>" not in readme and "&lt;script&gt;" in readme


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read().decode()


@pytest.mark.parametrize("name", ["sprout", "landing", "gallery"])
def test_generated_app_serves_over_http_with_uvicorn(
    apps: dict[str, Path], name: str, tmp_path: Path
) -> None:
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=apps[name],
        env=app_env(tmp_path / "data"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = fetch(f"{base}/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        server.stdout.read().decode() if server.stdout else "no output"
                    )
                time.sleep(0.1)
        assert (status, json.loads(body)) == (200, {"status": "ok"})
        status, home = fetch(f"{base}/")
        assert status == 200 and '<main id="main"' in home
        status, openapi = fetch(f"{base}/openapi.json")
        paths = json.loads(openapi)["paths"]
        assert status == 200 and "/healthz" in paths
        if name == "sprout":
            assert {"/api/plants", "/api/plants/{item_id}"} <= set(paths)
            assert (
                'src="/static/assets/logo.png"' in home and 'src="/static/assets/hero.png"' in home
            )
            assert (tmp_path / "data" / "app.db").is_file()
        if name == "landing":
            assert "<video autoplay muted loop playsinline" in home
            assert 'poster="/static/assets/hero-poster.jpg"' in home
            assert '<source src="/static/assets/hero.mp4" type="video/mp4">' in home
        if name == "gallery":
            assert home.count('class="tile"') == 6
            assert 'alt="Green aurora above a village"' in home
            assert 'alt="aurora over a fjord, photo 2"' in home
            assert '<a href="/static/assets/photo-6.png">' in home
    finally:
        server.terminate()
        server.wait(timeout=10)

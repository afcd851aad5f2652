"""The review dashboard through FastAPI's TestClient: pages, files, diffs, and its security.

The store and the workspaces are made by the real code paths (the blueprint planner, the code
renderer, the procedural image and video backends, the Store); the Docker engine is pointed at a
socket that does not exist, so these tests also show that every page works without one.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from appforge.config import Settings
from appforge.errors import InvalidInput
from appforge.store import Store
from appforge.web.app import create_app
from appforge.web.security import check_bind
from tests.conftest import appforge_env, free_port

SURF = "A landing page for a surf school in Ericeira with a hero video of waves at sunrise"
SURF_2 = ("A landing page for a surf school called Salty Ericeira with a hero video of waves at "
          "sunset")
SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
SLUG = "ericeira-surf-school"
TOKEN = "correct-horse-battery-staple-42"


@dataclass
class Installation:
    settings: Settings
    store: Store
    outside: Path  # a folder next to the data dir that no page may read


def _build_version(settings: Settings, store: Store, description: str, slug: str | None = None,
                   status: str = "running") -> Any:
    """What the build's write_code and make_assets nodes record, without Docker."""
    from appforge.agent.planners import get_planner
    from appforge.generators.code import render_app
    from appforge.tools.assets import Backends, make_assets

    spec = get_planner("blueprint", settings).plan(description)
    if slug:
        spec = spec.model_copy(update={"slug": slug})
    host = spec.host(settings.base_domain)
    store.upsert_app(spec.slug, spec.name, spec.title, spec.kind.value, host)
    store.set_domains(spec.slug, [host])
    record = store.new_version(spec.slug, description, spec.model_dump(mode="json"),
                               settings.workspaces)
    workspace = Path(record.workspace)
    render_app(spec, workspace)
    make_assets(spec, workspace, settings.home / "cache", Backends.procedural(), lambda _m: None)
    (workspace / ".appforge").mkdir(exist_ok=True)
    (workspace / ".appforge" / "test-report.txt").write_text(
        "tests/test_app.py::test_home_page PASSED\n\n6 passed in 0.91s\n")
    store.update_version(spec.slug, record.version, status=status,
                         test_summary="6 passed in 0.91s", image=f"x/{spec.slug}:v{record.version}",
                         timings={"plan": 0.01, "write_code": 0.04, "make_assets": 1.2,
                                  "test": 4.5, "package": 0.9, "deploy": 1.6, "verify": 0.02,
                                  "total": 8.27})
    store.add_event(spec.slug, "build", f"v{record.version}: wrote files")
    store.set_app_state(spec.slug, status="running", url=settings.url_for(host),
                        current_version=record.version)
    return record


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Installation:
    root = tmp_path_factory.mktemp("web")
    settings = Settings(home=root / "home", instance="afweb", http_port=free_port(),
                        docker_host="unix:///nonexistent/docker.sock")
    store = Store(settings.db_path)
    _build_version(settings, store, SURF, status="retired")
    _build_version(settings, store, SURF_2, slug=SLUG)
    _build_version(settings, store, SPROUT)
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("TOP-SECRET-CONTENT\n")
    return Installation(settings, store, outside)


def _client(settings: Settings, **kwargs: Any) -> TestClient:
    return TestClient(create_app(settings), base_url="http://127.0.0.1", **kwargs)


@pytest.fixture
def client(installation: Installation) -> Iterator[TestClient]:
    with _client(installation.settings) as http:
        yield http


def _csrf(client: TestClient, page: str = f"/apps/{SLUG}") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _ended_job(client: TestClient, job_id: str) -> dict[str, Any]:
    """The job once it is no longer running (or as it is after 5 s)."""
    for _ in range(100):
        job = client.get(f"/jobs/{job_id}").json()
        if job["state"] != "running":
            break
        time.sleep(0.05)
    return dict(job)


def _workspace(installation: Installation, version: int) -> Path:
    return Path(installation.store.get_version(SLUG, version).workspace)


# -- pages -------------------------------------------------------------------------------------

def test_list_shows_every_app_with_status_health_domain_version_and_build_time(
        client: TestClient, installation: Installation) -> None:
    page = client.get("/")
    assert page.status_code == 200
    html = page.text
    for title in ("Salty Ericeira: Surf School", "Sprout"):
        assert title in html
    port = installation.settings.http_port
    assert f'href="http://{SLUG}.localhost:{port}"' in html
    card = html[html.index(f'data-app="{SLUG}"'):]
    card = card[:card.index("</li>")]
    assert "running" in card and "v2" in card and "of 2" in card
    assert "ago" in card or "just now" in card  # the last build time, relative
    assert 'data-live="unknown"' in card  # the engine is not reachable; the page still renders
    assert "Docker engine is not answering" in html


def test_app_page_shows_overview_versions_with_stage_timings_and_the_plan(
        client: TestClient) -> None:
    overview = client.get(f"/apps/{SLUG}")
    assert overview.status_code == 200
    assert "live v2" in overview.text and "Roll back" in overview.text
    versions = client.get(f"/apps/{SLUG}/versions").text
    assert 'data-version="1"' in versions and 'data-version="2"' in versions
    assert 'class="stage-test"' in versions and "<title>test: 4.5 s</title>" in versions
    plan = client.get(f"/apps/{SLUG}/plan?v=1").text
    assert "Ericeira Surf School" in plan and "#0e7490" in plan  # v1's name; theme swatch
    assert "waves at sunrise" in plan  # the video's prompt, in the assets table
    crud = client.get("/apps/sprout/plan").text
    assert "days_between_waterings" in crud and "/api/plants" in crud


def test_app_page_shows_the_intended_status_beside_the_live_state(client: TestClient) -> None:
    page = client.get(f"/apps/{SLUG}").text
    assert 'data-live="unknown"' in page and "running (intended)" in page
    assert "the Docker engine is not reachable" in page  # why the live state is unknown


def test_after_a_rollback_the_app_is_called_by_its_live_versions_title(
        client: TestClient, installation: Installation) -> None:
    installation.store.set_app_state(SLUG, status="running", current_version=1)
    try:
        assert "<h1>Ericeira Surf School</h1>" in client.get(f"/apps/{SLUG}").text
        assert "Salty" not in client.get("/").text
    finally:
        installation.store.set_app_state(SLUG, status="running", current_version=2)


def test_unknown_app_and_bad_slug_are_clear_errors(client: TestClient) -> None:
    missing = client.get("/apps/nope")
    assert missing.status_code == 404 and "no app named &#39;nope&#39;" in missing.text
    bad = client.get("/apps/Bad_Slug!")
    assert bad.status_code == 400 and "invalid app slug" in bad.text
    assert "Traceback" not in missing.text + bad.text


def test_file_view_is_highlighted_and_generated_html_is_shown_escaped(client: TestClient) -> None:
    python = client.get(f"/apps/{SLUG}/files?v=2&path=app/main.py")
    assert python.status_code == 200
    assert '<span class="kn">from</span>' in python.text  # Pygments' token classes
    assert "Python" in python.text
    template = client.get(f"/apps/{SLUG}/files?v=2&path=app/templates/index.html").text
    assert '&lt;</span><span class="nt">video</span>' in template  # escaped, tag highlighted
    assert "<video autoplay" not in template
    image = client.get(f"/apps/{SLUG}/files?v=2&path=static/assets/hero.png").text
    assert f'<img src="/apps/{SLUG}/raw/2/static/assets/hero.png"' in image


def test_raw_files_are_text_attachments_and_media_keep_their_type(client: TestClient) -> None:
    html = client.get(f"/apps/{SLUG}/raw/2/app/templates/index.html")
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/plain")
    assert html.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in html.headers["content-security-policy"]
    video = client.get(f"/apps/{SLUG}/raw/2/static/assets/hero-video.mp4")
    assert video.headers["content-type"] == "video/mp4" and video.content[4:8] == b"ftyp"
    ranged = client.get(f"/apps/{SLUG}/raw/2/static/assets/hero-video.mp4",
                        headers={"Range": "bytes=0-99"})
    assert ranged.status_code == 206 and len(ranged.content) == 100  # seeking in <video>


@pytest.mark.parametrize("path", ["../../../outside/secret.txt", "/etc/passwd",
                                  "app/../../v1/app/main.py", "%2e%2e/%2e%2e/outside/secret.txt",
                                  "static/..%2f..%2f..%2foutside/secret.txt"])
def test_paths_leading_out_of_the_workspace_are_refused(client: TestClient, path: str) -> None:
    for url in (f"/apps/{SLUG}/files?v=2&path={path}", f"/apps/{SLUG}/raw/2/{path}"):
        answer = client.get(url)
        assert answer.status_code in (400, 403, 404), url
        assert "TOP-SECRET" not in answer.text and "root:x:" not in answer.text
        if "%2" in path or "?" in url:  # these reach the confinement check itself
            assert answer.status_code == 403 and "refused" in answer.text, url


def test_a_symlink_leading_out_is_refused(client: TestClient, installation: Installation) -> None:
    workspace = _workspace(installation, 2)
    (workspace / "notes.txt").symlink_to(installation.outside / "secret.txt")
    (workspace / "linked").symlink_to(installation.outside, target_is_directory=True)
    try:
        for path in ("notes.txt", "linked/secret.txt"):
            for url in (f"/apps/{SLUG}/files?v=2&path={path}", f"/apps/{SLUG}/raw/2/{path}"):
                answer = client.get(url)
                assert answer.status_code == 403, url
                assert "TOP-SECRET" not in answer.text and "refused" in answer.text
        tree = client.get(f"/apps/{SLUG}/files?v=2").text
        assert "notes.txt" not in tree and "linked" not in tree
    finally:
        (workspace / "notes.txt").unlink()
        (workspace / "linked").unlink()


def test_diff_lists_changed_files_and_highlights_changed_lines(client: TestClient) -> None:
    page = client.get(f"/apps/{SLUG}/diff?a=1&b=2")
    assert page.status_code == 200
    html = page.text
    assert "README.md" in html and "app/site.py" in html
    removed = re.search(r'<tr class="diff-del">.*?NAME = &#39;Ericeira Surf School&#39;', html,
                        re.DOTALL)
    added = re.search(r'<tr class="diff-add">.*?NAME = &#39;Salty Ericeira&#39;', html, re.DOTALL)
    assert removed and added
    assert "sha256" in html  # the regenerated images and video are compared by hash
    assert "unchanged" in html and "Dockerfile" not in html.split("unchanged")[0].split(
        "diff-files")[-1]  # identical files are counted, not listed


def test_assets_tab_shows_images_and_a_video_player_with_its_poster(client: TestClient) -> None:
    html = client.get(f"/apps/{SLUG}/assets?v=2").text
    assert '<video controls preload="metadata"' in html
    assert f'poster="/apps/{SLUG}/raw/2/static/assets/hero-video-poster.jpg"' in html
    assert f'<source src="/apps/{SLUG}/raw/2/static/assets/hero-video.mp4"' in html
    assert "waves at sunset" in html and "procedural" in html


def test_test_report_build_log_and_live_logs_without_an_engine(client: TestClient) -> None:
    report = client.get(f"/apps/{SLUG}/tests").text
    assert "6 passed in 0.91s" in report and "test_home_page PASSED" in report
    log = client.get(f"/apps/{SLUG}/build-log").text
    assert "v2: wrote files" in log and "make_assets" in log
    logs = client.get(f"/apps/{SLUG}/logs.json").json()
    assert logs["available"] is False and "Docker engine is not reachable" in logs["reason"]
    stats = client.get(f"/apps/{SLUG}/stats.json").json()
    assert stats["available"] is False


def test_a_versions_screenshot_is_shown_when_the_build_took_one(
        client: TestClient, installation: Installation) -> None:
    from PIL import Image

    records = _workspace(installation, 2) / ".appforge"
    Image.new("RGB", (1280, 800), "#0e7490").save(records / "screenshot.png")
    Image.new("RGB", (480, 300), "#0e7490").save(records / "screenshot-thumb.png")
    try:
        listing = client.get("/").text
        assert f'src="/apps/{SLUG}/screenshot/2.png?thumb=1"' in listing
        shot = client.get(f"/apps/{SLUG}/screenshot/2.png?thumb=1")
        assert shot.headers["content-type"] == "image/png"
        assert shot.content[:8] == b"\x89PNG\r\n\x1a\n"
        assert client.get(f"/apps/{SLUG}/screenshot/1.png").status_code == 404
    finally:
        (records / "screenshot.png").unlink()
        (records / "screenshot-thumb.png").unlink()


# -- security ----------------------------------------------------------------------------------

def test_pages_carry_security_headers(client: TestClient) -> None:
    headers = client.get("/").headers
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert "<script>" not in client.get(f"/apps/{SLUG}").text  # no inline script anywhere


@pytest.mark.parametrize("token", [None, "", "forged-token"])
def test_posts_without_the_right_csrf_token_are_forbidden(
        client: TestClient, installation: Installation, token: str | None) -> None:
    client.get("/")  # the browser has its CSRF cookie
    form = {"confirm": "sprout"} if token is None else {"confirm": "sprout", "csrf": token}
    answer = client.post("/apps/sprout/destroy", data=form, follow_redirects=False)
    assert answer.status_code == 403
    assert "security token is missing or does not match" in answer.text
    assert installation.store.find_app("sprout") is not None


def test_a_csrf_token_from_another_browser_is_forbidden(installation: Installation) -> None:
    with _client(installation.settings) as alice, _client(installation.settings) as mallory:
        token = _csrf(mallory)
        alice.get("/")
        answer = alice.post(f"/apps/{SLUG}/stop", data={"csrf": token}, follow_redirects=False)
        assert answer.status_code == 403


def test_an_action_with_its_csrf_token_runs_as_a_job_and_reports_its_error(
        client: TestClient) -> None:
    token = _csrf(client, f"/apps/{SLUG}")
    started = client.post(f"/apps/{SLUG}/rollback", data={"csrf": token, "version": "7"},
                          follow_redirects=False)
    assert started.status_code == 303
    job_id = started.headers["location"].split("job=")[1]
    job = _ended_job(client, job_id)
    assert job["state"] == "failed"
    assert f"{SLUG} has no deployable version 7" in job["message"]
    page = client.get(f"/apps/{SLUG}?job={job_id}").text
    assert "has no deployable version 7" in page


def test_destroy_needs_the_apps_name_typed(client: TestClient, installation: Installation) -> None:
    token = _csrf(client)
    answer = client.post("/apps/sprout/destroy", data={"csrf": token, "confirm": "sprou"},
                         follow_redirects=False)
    assert answer.status_code == 303
    page = client.get(answer.headers["location"]).text
    assert "sprout was not destroyed: type its name" in page
    assert installation.store.find_app("sprout") is not None


def test_an_app_locked_by_another_build_is_busy(client: TestClient,
                                                installation: Installation) -> None:
    from appforge.store.locks import app_lock

    token = _csrf(client)
    with app_lock(installation.settings.home, "sprout"):
        answer = client.post("/apps/sprout/stop", data={"csrf": token}, follow_redirects=False)
    assert answer.status_code == 303 and "job=" not in answer.headers["location"]
    assert "sprout is busy: another build or deploy" in client.get("/apps/sprout").text


def test_a_foreign_host_header_is_refused(client: TestClient) -> None:
    # A page on evil.example whose name was rebound to 127.0.0.1 must not read the dashboard.
    answer = client.get("/", headers={"Host": "evil.example:8470"})
    assert answer.status_code == 421 and "Salty" not in answer.text
    assert client.get("/", headers={"Host": "localhost:8470"}).status_code == 200


def test_with_a_token_every_request_needs_it(installation: Installation) -> None:
    settings = installation.settings.model_copy(update={"serve_token": TOKEN,
                                                        "serve_host": "0.0.0.0"})
    with _client(settings) as http:
        page = http.get("/", headers={"Accept": "text/html"}, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
        assert http.get(f"/apps/{SLUG}/logs.json").status_code == 401
        assert http.get(f"/apps/{SLUG}/raw/2/app/main.py").status_code == 401
        login = http.get("/login")
        assert login.status_code == 200 and "Salty" not in login.text  # no app names leak
        assert http.get("/", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
        assert http.get("/", headers={"Authorization": "Bearer nope"},
                        follow_redirects=False).status_code == 401
        token = _csrf(http, "/login")
        wrong = http.post("/login", data={"csrf": token, "token": "guess", "next": "/"})
        assert wrong.status_code == 401 and "not this dashboard" in wrong.text
        signed = http.post("/login", data={"csrf": token, "token": TOKEN, "next": "/"},
                           follow_redirects=False)
        cookie = signed.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert TOKEN not in cookie
        assert "Salty" in http.get("/").text


def test_binding_beyond_loopback_needs_a_long_token() -> None:
    check_bind("127.0.0.1", "")
    check_bind("::1", "")
    check_bind("localhost", "")
    with pytest.raises(InvalidInput, match="without a token"):
        check_bind("0.0.0.0", "")
    with pytest.raises(InvalidInput, match="at least 16"):
        check_bind("192.168.1.5", "short")
    check_bind("0.0.0.0", TOKEN)


def test_serve_refuses_a_public_address_without_a_token(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "appforge.cli", "serve", "--host", "0.0.0.0",
                           "--port", str(free_port())], check=False, capture_output=True,
                          text=True, env=appforge_env(tmp_path, "afweb", free_port()), timeout=60)
    assert proc.returncode == 2
    assert "refusing to serve the dashboard on 0.0.0.0 without a token" in proc.stderr
    assert "hint:" in proc.stderr and "Traceback" not in proc.stderr


def test_serve_says_when_its_port_is_taken(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "appforge.cli", "serve", "--port", str(port)],
                              check=False, capture_output=True, text=True, timeout=60,
                              env=appforge_env(tmp_path, "afweb", free_port()))
    assert proc.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in proc.stderr and "--port" in proc.stderr
    assert "review dashboard at" not in proc.stdout and "Traceback" not in proc.stderr


def test_the_cluster_page_says_how_to_get_one_and_scaling_needs_the_swarm(
        client: TestClient) -> None:
    page = client.get("/cluster")
    assert page.status_code == 200
    assert "APPFORGE_ENGINE=swarm" in page.text and "appforge cluster init" in page.text
    token = _csrf(client, f"/apps/{SLUG}")
    started = client.post(f"/apps/{SLUG}/scale", data={"csrf": token, "replicas": "3"},
                          follow_redirects=False)
    assert started.status_code == 303
    job_id = started.headers["location"].split("job=")[1]
    job = _ended_job(client, job_id)
    assert job["state"] == "failed"
    assert "3 replicas need APPFORGE_ENGINE=swarm" in job["message"]
    drained = client.post("/cluster/nodes/n1/drain", data={"csrf": token},
                          follow_redirects=False)
    assert drained.status_code == 303  # no swarm here: the page says why, nothing changed

"""End to end through the real CLI, Docker engine and Caddy proxy: one app of each kind.

Each test builds from a description, then uses the app as a person or a script would: through
the proxy, with the app's Host header.
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SPROUT = ("A plant-watering tracker called Sprout. Each plant has a name, a location, days between "
          "waterings and the date it was last watered.")
SURF = "A landing page for a surf school in Ericeira with a hero video of waves at sunrise"
FOXES = "a portfolio of six photos of foxes and owls"


@pytest.fixture(scope="module")
def sprout(installation: Installation) -> dict[str, Any]:
    return installation.run_json("build", SPROUT)


def test_build_crud_app_prints_its_url_and_timings(installation: Installation,
                                                    sprout: dict[str, Any]) -> None:
    port = installation.settings.http_port
    assert sprout["slug"] == "sprout" and sprout["kind"] == "crud" and sprout["version"] == 1
    assert sprout["url"] == f"http://sprout.localhost:{port}"
    assert sprout["status"] == "running"
    for stage in ("plan", "write_code", "make_assets", "test", "package", "deploy", "verify"):
        assert sprout["timings"][stage] >= 0
    assert "passed" in sprout["test_summary"]


def test_build_is_checkpointed_and_recorded(installation: Installation,
                                            sprout: dict[str, Any]) -> None:
    import sqlite3

    from appforge.store import Store

    with sqlite3.connect(installation.settings.checkpoint_path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM checkpoints").fetchone()
    assert count >= 7  # one per node at least
    version = Store(installation.settings.db_path).get_version("sprout", 1)
    assert version.status == "running" and version.timings["total"] > 0
    assert version.image.endswith("/sprout:v1") and version.upstream.endswith("-sprout:8000")
    workspace = Path(sprout["workspace"])
    for name in ("Dockerfile", "requirements.txt", "README.md", "tests/test_app.py",
                 "assets.json", ".appforge/test-report.txt", "static/assets/logo.png"):
        assert (workspace / name).exists(), name


def test_crud_app_serves_pages_api_and_openapi(installation: Installation,
                                               sprout: dict[str, Any]) -> None:
    home = installation.get("sprout.localhost", "/")
    assert home.status_code == 200 and "Sprout" in home.text
    assert installation.get("sprout.localhost", "/healthz").status_code == 200
    spec = installation.get("sprout.localhost", "/openapi.json").json()
    assert "/api/plants" in spec["paths"]

    import httpx

    base = f"http://127.0.0.1:{installation.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "sprout.localhost"}, timeout=10) as http:
        created = http.post("/api/plants", json={
            "name": "Fern", "location": "Kitchen", "days_between_waterings": 3,
            "last_watered": "2026-11-20"})
        assert created.status_code in (200, 201), created.text
        plant = created.json()
        assert http.get(f"/api/plants/{plant['id']}").json()["name"] == "Fern"
        bad = http.post("/api/plants", json={"name": "X", "location": "Y",
                                             "days_between_waterings": "often",
                                             "last_watered": "yesterday"})
        assert bad.status_code == 422
        assert "Fern" in http.get("/").text
        form = http.get("/plants/new")
        assert form.status_code == 200 and "<form" in form.text


def test_crud_data_lives_in_a_named_volume_and_container_is_hardened(
        installation: Installation, sprout: dict[str, Any], docker_client: Any) -> None:
    name = f"{installation.settings.instance}-sprout-v1"
    attrs = docker_client.containers.get(name).attrs
    host = attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True
    assert host["CapDrop"] == ["ALL"]
    assert any("no-new-privileges" in o for o in host["SecurityOpt"])
    assert host["Memory"] > 0 and host["PidsLimit"] > 0 and host["NanoCpus"] > 0
    assert host["PortBindings"] in (None, {})
    assert attrs["Config"]["User"] == "10001:10001"
    mounts = {m["Destination"]: m for m in attrs["Mounts"]}
    assert mounts["/data"]["Type"] == "volume"
    assert mounts["/data"]["Name"] == f"{installation.settings.instance}-data-sprout"
    nets = attrs["NetworkSettings"]["Networks"]
    assert list(nets) == [f"{installation.settings.instance}-app-sprout"]
    assert docker_client.networks.get(list(nets)[0]).attrs["Internal"] is True


def test_crud_app_has_a_generated_logo(installation: Installation, sprout: dict[str, Any]) -> None:
    from PIL import Image

    page = installation.get("sprout.localhost", "/").text
    logo = re.search(r'src="(/static/assets/logo\.png)"', page)
    assert logo, "the page shows no logo"
    image = installation.get("sprout.localhost", logo.group(1))
    assert image.status_code == 200
    assert Image.open(io.BytesIO(image.content)).size[0] >= 64


def test_landing_page_plays_an_h264_hero_video(installation: Installation) -> None:
    import av

    result = installation.run_json("build", SURF)
    assert result["kind"] == "landing"
    host = result["url"].split("//")[1].split(":")[0]
    page = installation.get(host, "/").text
    assert "<video" in page
    src = re.search(r'<source src="([^"]+\.mp4)" type="video/mp4"', page)
    assert src, page
    video = installation.get(host, src.group(1))
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    with av.open(io.BytesIO(video.content)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        assert stream.codec_context.pix_fmt == "yuv420p"
        assert round(float(stream.average_rate)) == 24
    head = video.content[:4096]
    assert head.find(b"moov") != -1 and (head.find(b"mdat") == -1
                                         or head.find(b"moov") < head.find(b"mdat"))


def test_gallery_shows_six_generated_images(installation: Installation) -> None:
    result = installation.run_json("build", FOXES)
    assert result["kind"] == "gallery"
    host = result["url"].split("//")[1].split(":")[0]
    page = installation.get(host, "/").text
    images = sorted(set(re.findall(r'src="(/static/assets/photo-\d+\.png)"', page)))
    assert len(images) == 6
    for src in images:
        assert installation.get(host, src).status_code == 200


def test_list_and_destroy(installation: Installation, sprout: dict[str, Any],
                          docker_client: Any) -> None:
    listed = {a["slug"]: a for a in installation.run_json("list")}
    assert listed["sprout"]["status"] == "running" and listed["sprout"]["url"] == sprout["url"]
    made = installation.run_json("build", "a todo list")["slug"]
    todo = next(a for a in installation.run_json("list") if a["slug"] == made)
    host = todo["host"]
    assert installation.get(host, "/healthz").status_code == 200
    gone = installation.run_json("destroy", todo["slug"], "--yes")
    assert gone["status"] == "destroyed"
    assert installation.get(host, "/").status_code == 404
    assert todo["slug"] not in {a["slug"] for a in installation.run_json("list")}
    label = f"io.appforge.instance={installation.settings.instance}"
    left = [c.name for c in docker_client.containers.list(all=True, filters={"label": label})
            if c.labels.get("io.appforge.app") == todo["slug"]]
    assert left == []
    # the other app keeps serving
    assert installation.get("sprout.localhost", "/healthz").status_code == 200


def test_doctor_reports_engine_images_and_proxy(installation: Installation,
                                                sprout: dict[str, Any]) -> None:
    report = installation.run_json("doctor")
    checks = {c["name"]: c for c in report["checks"]}
    assert report["ok"] is True
    assert checks["docker engine"]["status"] == "ok"
    assert checks["python base image"]["status"] == "ok"
    assert checks["proxy"]["status"] == "ok"

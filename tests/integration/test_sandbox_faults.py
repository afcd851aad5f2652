"""Faults the sandbox must contain: failing tests, a crashing app, no engine, no route change."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from appforge.config import Settings
from appforge.errors import EngineUnavailable, TestsFailed, UnhealthyDeployment
from appforge.generators.code import render_app
from appforge.sandbox.deploy import deploy_version
from appforge.sandbox.engine import connect
from appforge.spec import AppSpec, Entity, EntityField
from appforge.tools.sandbox import build_and_test, build_runtime_image
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker


def _spec(slug: str) -> AppSpec:
    return AppSpec(name=slug.title(), slug=slug, title=slug.title(), kind="crud", entities=[
        Entity(name="note", plural="notes", label="Note", label_plural="Notes",
               fields=[EntityField(name="title", label="Title")])])


def _workspace(tmp_path: Path, slug: str) -> Path:
    ws = tmp_path / slug
    render_app(_spec(slug), ws)
    return ws


def test_failing_app_test_stops_the_build_and_shows_the_output(
        installation: Installation, docker_client: Any, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "broken")
    (ws / "tests" / "test_extra.py").write_text(
        "def test_the_answer():\n    assert 6 * 7 == 43, 'arithmetic is off'\n")
    with pytest.raises(TestsFailed) as info:
        build_and_test(docker_client, installation.settings, "broken", 1, ws, lambda _m: None)
    assert "1 failed" in str(info.value)
    assert "arithmetic is off" in (info.value.detail or "")
    assert "1 failed" in (ws / ".appforge" / "test-report.txt").read_text()


def test_tests_run_without_network_and_cannot_write_outside_tmp(
        installation: Installation, docker_client: Any, tmp_path: Path) -> None:
    ws = _workspace(tmp_path, "probe")
    (ws / "tests" / "test_sandbox.py").write_text(
        "import os, socket, pytest\n"
        "def test_no_network():\n"
        "    with pytest.raises(OSError):\n"
        "        socket.create_connection(('1.1.1.1', 80), timeout=2)\n"
        "def test_root_is_read_only():\n"
        "    with pytest.raises(OSError):\n"
        "        open('/srv/app/evil.py', 'w')\n"
        "def test_not_root():\n"
        "    assert os.getuid() == 10001\n")
    _, summary = build_and_test(docker_client, installation.settings, "probe", 1, ws,
                                lambda _m: None)
    assert "failed" not in summary and "passed" in summary


def test_crashing_version_is_not_routed_and_says_why(
        installation: Installation, docker_client: Any, tmp_path: Path) -> None:
    settings = installation.settings
    ws = _workspace(tmp_path, "crashy")
    main = ws / "app" / "main.py"
    main.write_text(main.read_text() + "\nraise SystemExit('boom: missing configuration')\n")
    image = build_runtime_image(docker_client, settings, "crashy", 1, ws, lambda _m: None)
    fast = settings.model_copy(update={"health_timeout": 20.0})
    with pytest.raises(UnhealthyDeployment) as info:
        deploy_version(docker_client, fast, "crashy", 1, image, ["crashy.localhost"], [],
                       lambda _m: None)
    assert "never turned healthy" in str(info.value)
    assert "boom: missing configuration" in (info.value.detail or "")
    assert installation.get("crashy.localhost", "/").status_code == 404
    left = docker_client.containers.list(all=True, filters={"name": f"{settings.instance}-crashy"})
    assert left == []


def test_unreachable_engine_is_one_clear_error(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, docker_host="unix:///nonexistent/docker.sock")
    with pytest.raises(EngineUnavailable, match="not reachable") as info:
        connect(settings)
    assert "dockerd" in (info.value.hint or "")


def test_build_failure_shows_the_log_and_changes_no_route(
        installation: Installation, docker_client: Any, tmp_path: Path) -> None:
    from appforge.errors import BuildFailed

    ws = _workspace(tmp_path, "nobuild")
    dockerfile = ws / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace(
        "WORKDIR /srv", "RUN echo 'compiler exploded: missing header' && exit 3\nWORKDIR /srv", 1))
    with pytest.raises(BuildFailed) as info:
        build_runtime_image(docker_client, installation.settings, "nobuild", 1, ws,
                            lambda _m: None)
    assert "compiler exploded: missing header" in (info.value.detail or "")
    assert "returned a non-zero code: 3" in str(info.value)
    assert installation.get("nobuild.localhost", "/").status_code == 404


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a small tmpfs needs root")
def test_disk_full_while_writing_assets_is_a_clear_error(tmp_path: Path) -> None:
    from appforge.errors import GenerationError
    from appforge.spec import AssetRequest
    from appforge.tools.assets import Backends, make_assets

    small = tmp_path / "small"
    small.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(small)], check=True)
    try:
        spec = AppSpec(name="Big", slug="big", title="Big", kind="landing", assets=[
            AssetRequest(kind="image", role="hero", name="hero", prompt="mountains at dawn",
                         width=1600, height=900)])
        with pytest.raises(GenerationError, match="No space left on device"):
            make_assets(spec, small / "ws", small / "cache", Backends.procedural(),
                        lambda _m: None)
    finally:
        subprocess.run(["umount", str(small)], check=True)

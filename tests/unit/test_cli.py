"""The command line: fast help without heavy imports, clear errors, JSON for scripts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import appforge_env


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appforge.cli", *args], capture_output=True,
                          text=True, env=appforge_env(home, "afcli", 18999), timeout=120)


def test_help_does_not_import_torch_langgraph_or_docker() -> None:
    code = ("import sys; from typer.testing import CliRunner; from appforge.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "print([m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'langgraph', 'docker', 'diffusers', 'PIL', 'av')])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_empty_description_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    proc = _run(tmp_path, "build", "   ")
    assert proc.returncode == 2
    assert "description is empty" in proc.stderr
    assert not (tmp_path / "apps").exists()


def test_list_is_empty_json_on_a_new_installation(tmp_path: Path) -> None:
    proc = _run(tmp_path, "list", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []


def test_destroy_of_unknown_app_says_so(tmp_path: Path) -> None:
    proc = _run(tmp_path, "destroy", "nope", "--yes")
    assert proc.returncode == 3
    assert "no app named 'nope'" in proc.stderr


def test_invalid_slug_is_refused(tmp_path: Path) -> None:
    proc = _run(tmp_path, "destroy", "Bad_Slug!", "--yes")
    assert proc.returncode == 2
    assert "invalid app slug" in proc.stderr


def test_build_without_an_engine_fails_before_writing_anything(tmp_path: Path) -> None:
    env = appforge_env(tmp_path, "afcli", 18999) | {
        "APPFORGE_DOCKER_HOST": "unix:///nonexistent/docker.sock"}
    proc = subprocess.run([sys.executable, "-m", "appforge.cli", "build", "a todo list"],
                          capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 4
    assert "Docker engine is not reachable" in proc.stderr and "hint:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "apps").exists()
    assert json.loads(_run(tmp_path, "list", "--json").stdout) == []


def test_bad_limits_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    proc = _run(tmp_path, "build", "--memory", "1k", "a todo list")
    assert proc.returncode == 2
    assert "memory limit 1k is below" in proc.stderr
    assert not (tmp_path / "apps").exists()


def test_an_invalid_setting_is_named_without_a_traceback(tmp_path: Path) -> None:
    env = appforge_env(tmp_path, "afcli", 18999) | {"APPFORGE_IMAGE_BACKEND": "dalle"}
    proc = subprocess.run([sys.executable, "-m", "appforge.cli", "list"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 2
    assert "APPFORGE_IMAGE_BACKEND" in proc.stderr and "Traceback" not in proc.stderr


def test_list_and_show_say_the_live_state_is_unknown_without_an_engine(tmp_path: Path) -> None:
    from appforge.config import Settings
    from appforge.store import Store

    store = Store(Settings(home=tmp_path, instance="afcli").db_path)
    store.upsert_app("jotter", "jotter", "Jotter", "crud", "jotter.localhost")
    record = store.new_version("jotter", "notes", {}, tmp_path / "apps")
    store.set_app_state("jotter", status="running", url="http://jotter.localhost",
                        current_version=record.version)
    env = appforge_env(tmp_path, "afcli", 18999) | {
        "APPFORGE_DOCKER_HOST": "unix:///nonexistent/docker.sock", "COLUMNS": "200"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run([sys.executable, "-m", "appforge.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc

    (row,) = json.loads(run("list", "--json").stdout)
    assert (row["status"], row["live"]["live"]) == ("running", "unknown")
    assert "unknown" in run("list").stdout
    assert "live state unknown: the Docker engine is not reachable" in run("list").stdout
    shown = json.loads(run("show", "jotter", "--json").stdout)
    assert shown["live"]["summary"] == \
        "running (intended) / unknown (live): the Docker engine is not reachable"
    assert "running (intended) / unknown (live)" in run("show", "jotter").stdout

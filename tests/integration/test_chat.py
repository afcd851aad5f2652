"""`appforge chat` driven through its input, as a person types: plan, approve, two changes, each
deployed as a new version that does what was asked; then the saved thread continues in a new
process and rolls back; and a scripted `--yes --json` chat for automation."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

SHELFIE = "a reading log called Shelfie. Each book has a title and an author"


def chat(installation: Installation, *lines: str, args: tuple[str, ...] = ()) -> str:
    proc = subprocess.run([sys.executable, "-m", "appforge.cli", "chat", *args],
                          input="".join(f"{line}\n" for line in lines), env=installation.env,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"chat exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def manifest(version: dict[str, Any]) -> dict[str, bool]:
    entries = json.loads((Path(version["workspace"]) / "assets.json").read_text())
    return {Path(e["file"]).name: e["cached"] for e in entries}


@pytest.fixture(scope="module")
def conversation(installation: Installation) -> str:
    return chat(installation, SHELFIE, "yes", "add a rating field", "yes",
                "make it dark", "y", "/versions", "/diff", "/quit")


def test_plan_approve_and_two_changes_deploy_three_versions(installation: Installation,
                                                            conversation: str) -> None:
    out = conversation
    assert "Here is the plan:" in out and "Books: title (text), author (text" in out
    assert "approve this plan?" in out
    for version in (1, 2, 3):
        assert re.search(rf"v{version} of Shelfie.* is live at http://shelfie\.localhost", out)
    assert "Books: + rating (rating, optional)" in out
    assert "theme: light → dark" in out
    info = installation.run_json("show", "shelfie")
    assert info["current_version"] == 3
    assert [v["status"] for v in info["versions"]] == ["retired", "retired", "running"]
    assert "continue with: appforge chat --app shelfie" in out


def test_each_change_is_live_and_only_what_changed_is_redrawn(installation: Installation,
                                                              conversation: str) -> None:
    form = installation.get("shelfie.localhost", "/books/new")
    assert form.status_code == 200 and 'name="rating"' in form.text
    created = installation.get("shelfie.localhost", "/openapi.json").json()
    assert "rating" in json.dumps(created)
    css = installation.get("shelfie.localhost", "/static/css/app.css").text
    assert "color-scheme: dark" in css
    versions = installation.run_json("show", "shelfie")["versions"]
    # A new field changes no picture: v2 reused v1's logo and hero; dark mode redraws them.
    assert manifest(versions[1]) == {"logo.png": True, "hero.png": True}
    assert manifest(versions[2]) == {"logo.png": False, "hero.png": False}
    assert "unchanged, not redrawn: logo.png, hero.png" in conversation
    assert "--- a/static/css/app.css" in conversation  # /diff shows the code diff


def test_thread_continues_in_a_new_process_and_rolls_back(installation: Installation,
                                                          conversation: str) -> None:
    out = chat(installation, "/rollback 2", "/plan", "make the button say Start reading",
               "no", "/quit", args=("--app", "shelfie"))
    assert "continuing the chat about shelfie" in out
    assert "v2 is live again" in out
    assert "live plan (v2):" in out and "theme: light" in out
    assert "button: 'Get started' → 'Start reading'" in out or "button:" in out
    assert "Cancelled; the app was not changed." in out
    assert installation.run_json("show", "shelfie")["current_version"] == 2
    css = installation.get("shelfie.localhost", "/static/css/app.css").text
    assert "color-scheme: light" in css


def test_scripted_chat_with_yes_and_json(installation: Installation) -> None:
    out = chat(installation, "a landing page for a bakery called Crumb in Porto",
               "make it purple", "/quit", args=("--yes", "--json"))
    replies = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["version"] for r in replies] == [1, 2]
    assert replies[0]["url"].startswith("http://crumb.localhost")
    assert replies[1]["changes"][0].startswith("colours:")
    assert installation.get("crumb.localhost").status_code == 200

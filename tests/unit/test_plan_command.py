"""`appforge plan`: the plan a build would use, printed without building anything."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import appforge_env


def _plan(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "appforge.cli", "plan", *args],
                          check=False, capture_output=True, text=True, timeout=120,
                          env={**appforge_env(home, "afplan", 18998), "APPFORGE_PLANNER":
                               "blueprint"})


def test_plan_json_says_what_a_build_would_make_and_builds_nothing(tmp_path: Path) -> None:
    proc = _plan(tmp_path, "A portfolio site for a photographer named Lea Park showing six "
                 "photos of foxes and owls in the snow", "--json")
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert (plan["name"], plan["slug"], plan["kind"], plan["language"]) == (
        "Lea Park", "lea-park", "gallery", "en")
    gallery = next(a for a in plan["assets"] if a["role"] == "gallery")
    assert gallery["count"] == 6
    assert gallery["subjects"] == ["a fox in the snow", "an owl in the snow"]
    assert plan["reading"]["count"] == 6 and plan["pages"] == ["/"]
    assert plan["spec"]["slug"] == "lea-park"
    assert not (tmp_path / "apps").exists() and not (tmp_path / "workspaces").exists()


def test_plan_prints_fields_pages_and_the_fields_it_added(tmp_path: Path) -> None:
    proc = _plan(tmp_path, "a todo list with due dates")
    assert proc.returncode == 0, proc.stderr
    assert "Todo List (todo-list): crud app, language en" in proc.stdout
    assert "due_date (date, optional)" in proc.stdout
    assert "pages: / /tasks /tasks/new" in proc.stdout
    assert "added task.title, task.notes, task.done: usual for a todo list" in proc.stdout


def test_plan_of_an_empty_description_is_refused(tmp_path: Path) -> None:
    proc = _plan(tmp_path, "  ")
    assert proc.returncode == 2
    assert "description is empty" in proc.stderr

"""The LLM coder in a real build: its first change breaks a test, it reads the failure from the
sandbox, fixes it, and the app is deployed (the fix loop), all through a fake OpenAI endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.fake_openai import FakeOpenAI, reply, tool_call
from tests.integration.conftest import Installation
from tests.integration.test_build_llm import BOARD

pytestmark = pytest.mark.docker

TEST = "tests/test_board.py"


def test_llm_coder_fixes_its_failing_test_then_the_app_deploys(
        installation: Installation) -> None:
    plan = dict(BOARD, name="Pinboard", slug="pinboard", title="Pinboard")
    with FakeOpenAI(model="local-model") as server:
        server.script(
            reply(plan),
            tool_call({"path": TEST, "content": "def test_columns():\n    assert 2 + 2 == 5\n"},
                      name="write_file"),
            tool_call({}, name="run_tests"),
            tool_call({"path": TEST, "old": "2 + 2 == 5", "new": "2 + 2 == 4"},
                      name="edit_file"),
            tool_call({}, name="run_tests"),
            tool_call({"summary": "added a board test"}, name="finish"),
        )
        env = installation.env | {"APPFORGE_LLM_BASE_URL": server.base_url,
                                  "APPFORGE_LLM_MODEL": "local-model", "APPFORGE_CODER": "llm"}
        proc = installation.run_with_env(env, "build", "--json", "a pinboard for my chores")
        results = [m["content"] for r in server.requests for m in r["messages"]
                   if m["role"] == "tool" and m["content"].startswith(("passed", "FAILED"))]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "running"
    assert results[0].startswith("FAILED") and "assert (2 + 2) == 5" in results[0]
    assert results[-1].startswith("passed")
    assert "coder: finished after 5 steps" in proc.stderr
    workspace = Path(result["workspace"])
    assert "2 + 2 == 4" in (workspace / TEST).read_text()
    record = json.loads((workspace / ".appforge" / "coder.json").read_text())
    assert record["finished"] and record["summary"] == "added a board test"
    assert installation.get("pinboard.localhost", "/healthz").status_code == 200
    installation.run_json("destroy", "pinboard", "--yes")

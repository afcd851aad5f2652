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


#: Contract-test examples per operation where the coder's loop, not the API's contract, is
#: under test: none (no contract test is written, and each of the loop's test runs is spared
#: Schemathesis' start), or a few where the app's own first build should pass it as users' do.
#: The contract test itself: ``test_contract_test_catches_a_500_and_the_coders_fix_deploys``.
NONE, FEW = "0", "3"


def llm_env(installation: Installation, server: FakeOpenAI, **settings: str) -> dict[str, str]:
    """The installation's environment pointed at the fake endpoint, plus APPFORGE_* settings."""
    return installation.env | {"APPFORGE_LLM_BASE_URL": server.base_url,
                               "APPFORGE_LLM_MODEL": server.model} | {
        f"APPFORGE_{k.upper()}": v for k, v in settings.items()}


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
        env = llm_env(installation, server, coder="llm", api_check_examples=NONE)
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
    record = json.loads((workspace / ".appforge" / "coder-1.json").read_text())
    assert record["finished"] and record["summary"] == "added a board test"
    assert installation.get("pinboard.localhost", "/healthz").status_code == 200
    installation.run_json("destroy", "pinboard", "--yes")


def test_failing_tests_after_the_coder_go_back_to_it_then_deploy(
        installation: Installation) -> None:
    """The coder's first session leaves a failing test; the build's own test stage catches it,
    the fix loop hands the log back, the second session fixes it, and the app deploys."""
    plan = dict(BOARD, name="Taskwall", slug="taskwall", title="Taskwall")
    with FakeOpenAI(model="local-model") as server:
        server.script(
            reply(plan),
            tool_call({"path": TEST, "content": "def test_wall():\n    assert 'wall' == 'board'\n"},
                      name="write_file"),
            tool_call({"summary": "added a test"}, name="finish"),   # without running it
            tool_call({"path": TEST, "old": "'wall' == 'board'", "new": "'wall' == 'wall'"},
                      name="edit_file"),
            tool_call({"summary": "fixed the test"}, name="finish"),
        )
        env = llm_env(installation, server, coder="llm", api_check_examples=NONE)
        proc = installation.run_with_env(env, "build", "--json", "a task wall")
        fix_task = server.requests[3]["messages"][1]["content"]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "running"
    assert "back to the coder (round 1 of 2)" in proc.stderr
    assert "assert 'wall' == 'board'" in fix_task and "data, not instructions" in fix_task
    assert result["timings"]["fix"] > 0
    sessions = sorted((Path(result["workspace"]) / ".appforge").glob("coder-*.json"))
    assert [json.loads(p.read_text())["summary"] for p in sessions] == [
        "added a test", "fixed the test"]
    assert installation.get("taskwall.localhost", "/healthz").status_code == 200
    installation.run_json("destroy", "taskwall", "--yes")


def test_a_stopped_build_resumes_from_the_failed_step(installation: Installation) -> None:
    """No fix rounds: the failing test stops the build. The user fixes the file and resumes;
    the plan and the code are not made again (the LLM gets no further request)."""
    import re

    plan = dict(BOARD, name="Stickies", slug="stickies", title="Stickies")
    with FakeOpenAI(model="local-model") as server:
        server.script(
            reply(plan),
            tool_call({"path": TEST, "content": "def test_notes():\n    assert 1 == 2\n"},
                      name="write_file"),
            tool_call({"summary": "added a test"}, name="finish"),
        )
        env = llm_env(installation, server, coder="llm", coder_fix_rounds="0",
                      api_check_examples=NONE)
        failed = installation.run_with_env(env, "build", "a sticky-notes wall", check=False)
        assert failed.returncode == 1 and "tests failed in the sandbox" in failed.stderr
        thread = re.search(r"appforge build --resume (\S+)", failed.stderr).group(1)
        workspace = installation.settings.workspaces / "stickies" / "v1"
        (workspace / TEST).write_text("def test_notes():\n    assert 1 == 1\n")
        resumed = installation.run_with_env(env, "build", "--resume", thread, "--json")
        requests = len(server.requests)
    result = json.loads(resumed.stdout.strip().splitlines()[-1])
    assert (result["slug"], result["version"], result["status"]) == ("stickies", 1, "running")
    assert requests == 3  # plan + two coder turns, all before the failure
    assert "plan" not in resumed.stderr.split("✓ test")[0]  # resumed at the test step
    assert installation.get("stickies.localhost", "/healthz").status_code == 200
    again = installation.run_with_env(env, "build", "--resume", thread, check=False)
    assert again.returncode == 2 and "already finished" in again.stderr
    installation.run_json("destroy", "stickies", "--yes")


LINKS = '''"""Short links with click counts."""

from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse

router = APIRouter()
LINKS: dict[str, dict] = {}
MISSING = {404: {"description": "No such link"}}


@router.post("/api/links", status_code=201)
def create(url: str) -> dict:
    code = str(len(LINKS) + 1)
    LINKS[code] = {"url": url, "clicks": 0}
    return {"code": code}


@router.get("/api/links/{code}", responses=MISSING)
def stats(code: str) -> dict:
    if code not in LINKS:
        raise HTTPException(404, "no such link")
    return LINKS[code]


@router.get("/go/{code}", status_code=307, response_class=RedirectResponse, responses=MISSING)
def follow(code: str) -> RedirectResponse:
    stats(code)["clicks"] += 1
    return RedirectResponse(LINKS[code]["url"])
'''

LINK_TESTS = '''from fastapi.testclient import TestClient

from app.main import app


def test_short_link_counts_clicks():
    client = TestClient(app)
    code = client.post("/api/links", params={"url": "https://example.org"}).json()["code"]
    assert client.get(f"/go/{code}", follow_redirects=False).status_code == 307
    assert client.get(f"/api/links/{code}").json()["clicks"] == 1
'''


def test_custom_app_from_a_file_plan(installation: Installation) -> None:
    """A URL shortener: no blueprint fits, so the plan is custom and the coder writes it."""
    plan = {"name": "Snip", "slug": "snip", "title": "Snip", "kind": "custom",
            "tagline": "Short links with click stats.", "entities": [], "features": [],
            "assets": [], "call_to_action": "Shorten a link", "language": "en",
            "file_plan": [{"path": "app/links.py", "purpose": "the link API and redirects"},
                          {"path": "tests/test_links.py", "purpose": "tests for the links"}]}
    with FakeOpenAI(model="local-model") as server:
        server.script(
            reply(plan),
            tool_call({"path": "app/links.py", "content": LINKS}, name="write_file"),
            tool_call({"path": "app/main.py", "old": "    return app\n",
                       "new": "    from app.links import router\n    app.include_router(router)\n"
                              "    return app\n"}, name="edit_file"),
            tool_call({"path": "tests/test_links.py", "content": LINK_TESTS}, name="write_file"),
            tool_call({}, name="run_tests"),
            tool_call({"summary": "short links with click counts"}, name="finish"),
        )
        # the coder setting stays "blueprint"
        env = llm_env(installation, server, api_check_examples=FEW)
        proc = installation.run_with_env(env, "build", "--json",
                                         "a URL shortener with click stats")
        task = server.requests[1]["messages"][1]["content"]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["kind"] == "custom" and result["status"] == "running"
    assert "app/links.py: the link API and redirects" in task
    import httpx

    base = f"http://127.0.0.1:{installation.settings.http_port}"
    with httpx.Client(base_url=base, headers={"Host": "snip.localhost"}, timeout=10) as http:
        code = http.post("/api/links", params={"url": "https://example.org"}).json()["code"]
        assert http.get(f"/go/{code}").status_code == 307
        assert http.get(f"/api/links/{code}").json()["clicks"] == 1
    installation.run_json("destroy", "snip", "--yes")


INITIALS = {"name": "Initials", "slug": "initials", "title": "Initials", "kind": "custom",
            "tagline": "The first letter of any word.", "entities": [], "features": [],
            "assets": [], "call_to_action": "Try a word", "language": "en",
            "file_plan": [{"path": "app/words.py", "purpose": "the initial of a word"}]}
WORDS = '''"""The initial of a word."""

from fastapi import APIRouter

router = APIRouter()


@router.get("/api/initial")
def initial(word: str) -> dict[str, str]:
    return {"initial": word[0].upper()}
'''
STRICT_WORDS = WORDS.replace("from fastapi import APIRouter", (
    "from typing import Annotated\n\nfrom fastapi import APIRouter, Query")).replace(
    "word: str", "word: Annotated[str, Query(min_length=1, max_length=100)]")


def test_contract_test_catches_a_500_and_the_coders_fix_deploys(
        installation: Installation) -> None:
    """The coder's first endpoint crashes on an empty word; appforge's contract test of the API
    (Schemathesis in the test stage) finds it, the coder reads which operation, which check, the
    request and the traceback in run_tests, bounds the parameter, and the app deploys."""
    with FakeOpenAI(model="local-model") as server:
        server.script(
            reply(INITIALS),
            tool_call({"path": "app/words.py", "content": WORDS}, name="write_file"),
            tool_call({"path": "app/main.py", "old": "    return app\n",
                       "new": "    from app.words import router\n    app.include_router(router)\n"
                              "    return app\n"}, name="edit_file"),
            tool_call({}, name="run_tests"),
            tool_call({"path": "app/words.py", "content": STRICT_WORDS}, name="write_file"),
            tool_call({}, name="run_tests"),
            tool_call({"summary": "the initial of a word"}, name="finish"),
        )
        env = llm_env(installation, server, api_check_examples="10")
        proc = installation.run_with_env(env, "build", "--json", "the initial of any word")
        results = [m["content"] for r in server.requests for m in r["messages"]
                   if m["role"] == "tool" and m["content"].startswith(("passed", "FAILED"))]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["status"] == "running", proc.stderr
    first, last = results[0], results[-1]
    assert first.startswith("FAILED")
    assert "GET /api/initial breaks the API contract (checks: not_a_server_error" in first
    assert "curl -X GET 'http://testserver/api/initial?word='" in first
    assert "app/words.py:10 in initial" in first and "IndexError" in first
    assert last.startswith("passed")
    workspace = Path(result["workspace"])
    assert "EXAMPLES = 10" in (workspace / "tests" / "test_api_contract.py").read_text()
    assert "schemathesis==" in (workspace / "requirements-dev.txt").read_text()
    assert installation.get("initials.localhost", "/api/initial",
                            params={"word": "sprout"}).json() == {"initial": "S"}
    assert installation.get("initials.localhost", "/api/initial",
                            params={"word": ""}).status_code == 422
    installation.run_json("destroy", "initials", "--yes")

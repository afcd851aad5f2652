"""The LLM coder loop against a local fake of the OpenAI API, with the real openai client.

The workspace tools are real; the sandbox test run is a function given to the loop (the
integration of this loop with the Docker sandbox is the build's job).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from appforge.agent.coder import CoderContext, code
from appforge.tools.workspace import Workspace
from tests.fake_openai import FakeOpenAI, reply, tool_call


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


def _ctx(server: FakeOpenAI, root: Path, results: list[tuple[bool, str]],
         max_steps: int = 10) -> tuple[CoderContext, list[str]]:
    runs: list[str] = []

    def run_tests() -> tuple[bool, str]:
        runs.append((root / "app" / "main.py").read_text())
        return results.pop(0)

    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0, timeout=5)
    return CoderContext(client=client, model=server.model, workspace=Workspace(root),
                        run_tests=run_tests, max_steps=max_steps), runs


def test_coder_writes_tests_fixes_and_finishes(server: FakeOpenAI, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("x = 1\n")
    server.script(
        tool_call({"path": "app/main.py", "content": "x = 2\n"}, name="write_file"),
        tool_call({}, name="run_tests"),
        tool_call({"path": "app/main.py", "old": "x = 2", "new": "x = 3"}, name="edit_file"),
        tool_call({}, name="run_tests"),
        tool_call({"summary": "x is 3 now"}, name="finish"),
    )
    ctx, runs = _ctx(server, root, [(False, "1 failed: expected 3"), (True, "1 passed")])
    result = code("make x equal 3", ctx)
    assert result.finished and result.tests_passed and result.summary == "x is 3 now"
    assert runs == ["x = 2\n", "x = 3\n"]
    assert (root / "app" / "main.py").read_text() == "x = 3\n"
    assert result.steps == 5 and result.tokens == 100
    # the failing test output went back to the model as data
    tool_results = [m for m in server.requests[2]["messages"] if m["role"] == "tool"]
    assert "FAILED" in tool_results[-1]["content"] and "expected 3" in tool_results[-1]["content"]
    assert {t["function"]["name"] for t in server.requests[0]["tools"]} >= {
        "read_file", "write_file", "edit_file", "run_tests", "finish"}


def test_escape_attempts_come_back_as_errors_and_write_nothing(server: FakeOpenAI,
                                                                tmp_path: Path) -> None:
    root, outside = tmp_path / "ws", tmp_path / "outside"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("x = 1\n")
    outside.mkdir()
    server.script(
        tool_call({"path": "../outside/evil.py", "content": "boom"}, name="write_file"),
        tool_call({"path": "/etc/passwd"}, name="read_file"),
        tool_call("{not json", name="write_file"),
        tool_call({}, name="rm_rf"),
        reply("I give up."),
    )
    ctx, _ = _ctx(server, root, [])
    result = code("escape", ctx)
    assert not result.finished and result.stop_reason == "the model stopped calling tools"
    assert list(outside.iterdir()) == []
    errors = [m["content"] for m in result.messages if m["role"] == "tool"]
    assert len(errors) == 4 and all(e.startswith("error:") for e in errors)


def test_step_budget_and_repeated_failures_stop_the_loop(server: FakeOpenAI,
                                                         tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("x = 1\n")
    server.script(*[tool_call({}, name="run_tests") for _ in range(5)])
    ctx, runs = _ctx(server, root, [(False, "1 failed: same")] * 5)
    result = code("fix it", ctx)
    assert result.stop_reason == "the same test failure repeated" and len(runs) == 3
    with FakeOpenAI() as fresh:
        fresh.script(*[tool_call({"path": "."}, name="list_files") for _ in range(5)])
        ctx, _ = _ctx(fresh, root, [], max_steps=2)
        result = code("look around", ctx)
    assert result.stop_reason == "step budget spent" and result.steps == 2


def test_generate_image_tool_and_endpoint_failure(server: FakeOpenAI, tmp_path: Path) -> None:
    from appforge.config import Settings
    from appforge.errors import LLMUnavailable
    from appforge.spec import AppSpec
    from appforge.tools.assets import make_image, make_video
    from tests.fake_openai import error

    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    (root / "app" / "main.py").write_text("x = 1\n")
    spec = AppSpec(name="Cafe", slug="cafe", title="Cafe", kind="landing")
    settings = Settings(home=tmp_path / "home", image_backend="procedural")
    server.script(
        tool_call({"name": "latte-art", "prompt": "latte art", "width": 320, "height": 200},
                  name="generate_image"),
        tool_call({"name": "../evil", "prompt": "x"}, name="generate_image"),
        tool_call({"name": "steam", "prompt": "steam over a cup", "seconds": 1},
                  name="generate_video"),
        error(500, "model crashed"),
    )
    ctx, _ = _ctx(server, root, [])
    ctx.make_image = lambda *args: make_image(settings, spec, root, *args)
    ctx.make_video = lambda *args: make_video(settings, spec, root, *args)
    with pytest.raises(LLMUnavailable, match="failed while coding"):
        code("add a picture of latte art", ctx)
    from PIL import Image

    assert Image.open(root / "static/assets/latte-art.png").size == (320, 200)
    tool_results = [m["content"] for m in server.requests[-1]["messages"] if m["role"] == "tool"]
    assert tool_results[0].startswith("made static/assets/latte-art.png")
    assert tool_results[1].startswith("error: generate_image: bad arguments")
    assert tool_results[2].startswith("made static/assets/steam.mp4 (960x540, 1 s, poster")
    assert (root / "static/assets/steam-poster.jpg").exists()


def test_token_budget_and_cost(server: FakeOpenAI, tmp_path: Path) -> None:
    """The loop stops when the token budget is spent, and reports what the calls cost: the
    endpoint's own figure when it gives one, else the tokens at the configured prices."""
    from tests.fake_openai import Step

    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    big = {"prompt_tokens": 900, "completion_tokens": 100, "total_tokens": 1000}
    server.script(*[Step(tool_arguments={"path": "."}, tool_name="list_files",
                         finish_reason="tool_calls", usage=big) for _ in range(5)])
    ctx, _ = _ctx(server, root, [])
    ctx.max_tokens, ctx.prices = 2500, (2.0, 10.0)
    result = code("look around", ctx)
    assert result.stop_reason == "token budget spent (3000 of 2500)" and result.steps == 3
    assert result.cost == pytest.approx(3 * (900 * 2.0 + 100 * 10.0) / 1e6)
    with FakeOpenAI() as priced:
        priced.script(Step(content="done", finish_reason="stop",
                           usage={**big, "cost": 0.0125}))
        ctx, _ = _ctx(priced, root, [])
        ctx.prices = (2.0, 10.0)
        assert code("say done", ctx).cost == pytest.approx(0.0125)
    with FakeOpenAI() as unpriced:
        unpriced.script(Step(content="done", finish_reason="stop"))
        ctx, _ = _ctx(unpriced, root, [])
        assert code("say done", ctx).cost is None

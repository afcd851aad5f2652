"""Streamed answers (``llm_stream``): the fake server streams as OpenAI does, and the planner and
the coder put the deltas together, with the real openai client on both ends of the wire."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from appforge.agent.coder import CoderContext, code
from appforge.agent.planners.llm import LLMPlanner
from appforge.config import Settings
from appforge.errors import LLMUnavailable
from appforge.tools.workspace import Workspace
from tests.fake_openai import (
    PIECE,
    FakeOpenAI,
    Step,
    cut,
    dripping,
    reply,
    slow,
    tool_call,
    tool_calls,
)
from tests.unit.test_llm_planner import SPROUT, sprout_plan


def streaming_planner(server: FakeOpenAI, **options: Any) -> LLMPlanner:
    return LLMPlanner(server.base_url, server.model, "k", stream=True,
                      **{"timeout": 5, **options})


def coder_context(server: FakeOpenAI, root: Path, max_retries: int = 0,
                  test_results: list[tuple[bool, str]] | None = None) -> CoderContext:
    results = list(test_results or [])
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=max_retries,
                           timeout=5)
    return CoderContext(client=client, model=server.model, workspace=Workspace(root),
                        run_tests=lambda: results.pop(0), max_steps=10, stream=True)


# -- the fake server streams as OpenAI does -------------------------------------------------------

def test_fake_server_streams_server_sent_events_ending_in_done(server: FakeOpenAI) -> None:
    server.script(reply("a" * 40))
    body = {"model": "m", "messages": [], "stream": True,
            "stream_options": {"include_usage": True}}
    response = httpx.post(f"{server.base_url}/chat/completions", json=body)

    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line for line in response.text.split("\n\n") if line]
    assert all(e.startswith("data: ") for e in events) and events[-1] == "data: [DONE]"
    chunks = [json.loads(e.removeprefix("data: ")) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert [c["choices"][0]["delta"]["content"] for c in chunks[1:4]] == ["a" * 16, "a" * 16,
                                                                          "a" * 8]
    assert chunks[-2]["choices"][0] == {"index": 0, "delta": {}, "logprobs": None,
                                        "finish_reason": "stop"}
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] == 20
    assert all(c["usage"] is None for c in chunks[:-1])


def test_fake_server_streams_tool_calls_as_the_sdk_reads_them(server: FakeOpenAI) -> None:
    arguments = {"path": "app/main.py", "content": "x = 1\n" * 10}
    server.script(tool_calls(("write_file", arguments), ("run_tests", {})))
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)

    deltas = [c.choices[0] for c in client.chat.completions.create(
        model="m", messages=[{"role": "user", "content": "hi"}], stream=True)]

    calls = [call for d in deltas for call in d.delta.tool_calls or []]
    assert calls[0].index == 0 and calls[0].id and calls[0].function.name == "write_file"
    assert calls[0].function.arguments == ""
    pieces = [c.function.arguments for c in calls if c.index == 0][1:]
    assert len(pieces) > 3 and all(len(p) <= PIECE for p in pieces)
    assert json.loads("".join(pieces)) == arguments
    assert [c.function.name for c in calls if c.index == 1 and c.id] == ["run_tests"]
    assert deltas[-1].finish_reason == "tool_calls"
    assert all(d.finish_reason is None for d in deltas[:-1])


def test_fake_server_refuses_stream_options_without_stream(server: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=server.base_url, api_key="k", max_retries=0)
    with pytest.raises(openai.BadRequestError, match="only allowed when 'stream' is enabled"):
        client.chat.completions.create(model="m", messages=[],
                                       stream_options={"include_usage": True})


# -- the planner ----------------------------------------------------------------------------------

def test_planner_with_streaming_plans_from_a_streamed_json_schema_answer(
        server: FakeOpenAI) -> None:
    server.script(reply(sprout_plan()))
    planner = streaming_planner(server)

    spec = planner.plan(SPROUT)

    assert spec.slug == "sprout" and [e.name for e in spec.entities] == ["plant"]
    assert spec.entities[0].fields[2].max == 60
    sent = server.requests[0]
    assert sent["stream"] is True and sent["stream_options"] == {"include_usage": True}
    assert sent["response_format"]["type"] == "json_schema"
    assert planner.mode == "json_schema"


def test_planner_with_streaming_reads_a_streamed_tool_call(server: FakeOpenAI) -> None:
    server.script(*[Step(status=400, error="response_format is not supported")] * 2,
                  tool_call(sprout_plan()))

    assert streaming_planner(server).plan(SPROUT).entities[0].name == "plant"
    assert all(r["stream"] is True for r in server.requests)
    assert "tools" in server.requests[2]


def test_a_streamed_answer_cut_at_the_length_limit_keeps_what_is_complete(
        server: FakeOpenAI) -> None:
    server.script(reply(json.dumps(sprout_plan())[:300], finish_reason="length"))
    planner = streaming_planner(server)

    assert planner.plan(SPROUT).slug == "sprout"
    assert len(server.requests) == 1
    assert any("reached its limit" in note for note in planner.last_notes)


def test_a_stream_cut_mid_way_is_asked_again(server: FakeOpenAI) -> None:
    server.script(cut(5, reply(sprout_plan())), reply(sprout_plan()))

    assert streaming_planner(server).plan(SPROUT).slug == "sprout"
    assert len(server.requests) == 2 and server.unused == 0


def test_a_stream_that_keeps_breaking_is_a_clear_error(server: FakeOpenAI) -> None:
    server.script(*[cut(3, reply(sprout_plan())) for _ in range(3)])

    with pytest.raises(LLMUnavailable) as failed:
        streaming_planner(server, max_retries=1).plan(SPROUT)

    message = str(failed.value)
    assert message.startswith(f"the LLM endpoint at {server.base_url} failed mid-answer: "
                              "the streamed answer broke off")
    assert "Traceback" not in message and "APPFORGE_LLM_STREAM" in (failed.value.hint or "")
    assert len(server.requests) == 2  # the first try, then one retry of the client's


def test_an_error_event_in_the_stream_is_a_clear_error(server: FakeOpenAI) -> None:
    server.script(cut(4, reply(sprout_plan()), error="the model ran out of memory"))

    with pytest.raises(LLMUnavailable, match="failed mid-answer: the model ran out of memory"):
        streaming_planner(server).plan(SPROUT)


def test_streaming_outlasts_a_read_timeout_shorter_than_the_whole_answer(
        server: FakeOpenAI) -> None:
    server.script(dripping(0.01, reply(sprout_plan())), slow(1.0, reply(sprout_plan())))
    started = time.monotonic()

    assert streaming_planner(server, timeout=0.3, max_retries=0).plan(SPROUT).slug == "sprout"
    assert time.monotonic() - started > 0.3  # longer than the timeout, but never silent that long
    with pytest.raises(LLMUnavailable, match="did not answer within 0.3 s"):
        LLMPlanner(server.base_url, server.model, "k", timeout=0.3, max_retries=0).plan(SPROUT)


def test_a_stream_that_stalls_past_the_timeout_times_out_clearly(server: FakeOpenAI) -> None:
    server.script(dripping(1.0, reply(sprout_plan())))

    with pytest.raises(LLMUnavailable, match="did not answer within 0.3 s"):
        streaming_planner(server, timeout=0.3, max_retries=0).plan(SPROUT)


def test_the_setting_reads_appforge_llm_stream(monkeypatch: pytest.MonkeyPatch,
                                                tmp_path: Path) -> None:
    assert Settings(home=tmp_path).llm_stream is True  # on by default: runaways can be stopped
    monkeypatch.setenv("APPFORGE_LLM_STREAM", "0")
    assert Settings(home=tmp_path).llm_stream is False


# -- the coder ------------------------------------------------------------------------------------

def test_coder_with_streaming_runs_tool_calls_whose_arguments_come_in_pieces(
        server: FakeOpenAI, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    main = "from fastapi import FastAPI\n\napp = FastAPI(title='Sprout')\n"
    server.script(
        tool_calls(("write_file", {"path": "app/main.py", "content": main}),
                   ("read_file", {"path": "app/main.py"})),
        tool_call({}, name="run_tests"),
        tool_call({"summary": "a FastAPI app"}, name="finish"),
    )

    result = code("make an app", coder_context(server, root, test_results=[(True, "1 passed")]))

    assert result.finished and result.summary == "a FastAPI app" and result.tests_passed
    assert (root / "app/main.py").read_text() == main
    assert len(json.dumps({"path": "app/main.py", "content": main})) > 3 * PIECE
    assert all(r["stream"] is True and r["stream_options"] == {"include_usage": True}
               for r in server.requests)
    # the assembled calls went back to the model whole, and each got its result
    second = server.requests[1]["messages"]
    calls = second[2]["tool_calls"]
    assert [c["function"]["name"] for c in calls] == ["write_file", "read_file"]
    assert json.loads(calls[0]["function"]["arguments"])["content"] == main
    results = [m for m in second if m["role"] == "tool"]
    assert [m["tool_call_id"] for m in results] == [c["id"] for c in calls]
    assert results[0]["content"].startswith("wrote app/main.py")
    assert main in results[1]["content"]
    # tokens come from the usage chunk of each streamed answer (20 each in the fake)
    assert result.steps == 3 and result.tokens == 60


def test_coder_stream_cut_mid_way_is_asked_again_then_a_clear_error(
        server: FakeOpenAI, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    (root / "app").mkdir(parents=True)
    def write() -> Step:
        return tool_call({"path": "app/x.py", "content": "x = 1\n" * 20}, name="write_file")

    server.script(cut(4, write()), write(), tool_call({"summary": "done"}, name="finish"))

    result = code("write x", coder_context(server, root, max_retries=1))

    assert result.finished and (root / "app/x.py").read_text() == "x = 1\n" * 20
    assert len(server.requests) == 3
    with FakeOpenAI() as broken:
        broken.script(cut(2, write()))
        with pytest.raises(LLMUnavailable, match="failed while coding: the streamed answer "
                                                 "broke off"):
            code("write x", coder_context(broken, root))


def test_coder_tool_call_cut_at_the_length_limit_writes_nothing_and_says_so(
        server: FakeOpenAI, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    root.mkdir()
    server.script(Step(tool_arguments='{"path": "app/big.py", "content": "x = [1, 2, 3,',
                       tool_name="write_file", finish_reason="length"),
                  reply("That file is too long for me.", finish_reason="length"))

    result = code("write a big file", coder_context(server, root))

    assert not (root / "app").exists()
    error = next(m for m in server.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert error.startswith("error: write_file: the arguments are not valid JSON")
    assert "cut off at the length limit" in error
    assert result.stop_reason == "the model's answer was cut off at the length limit"

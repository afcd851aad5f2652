"""A local HTTP server that speaks the OpenAI Chat Completions API and replays scripted answers.

Tests run the real ``openai`` client against it: ``POST /v1/chat/completions`` answers with the
next step of the script (a JSON content string, a tool call, an OpenAI-style HTTP error, after an
optional delay), ``GET /v1/models`` lists one model, and every request body is recorded so a test
can check what the client sent::

    with FakeOpenAI() as server:
        server.script(reply('{"name": "Sprout", ...}'), error(500, "no json_schema here"))
        planner = LLMPlanner(server.base_url, "fake-model", "key")
        ...
        assert server.requests[0]["response_format"]["type"] == "json_schema"
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest


@dataclass
class Step:
    """What the server does for one chat completion request."""

    content: str | None = None
    #: Arguments of a tool call (a JSON string, or a dict to encode), instead of content.
    tool_arguments: str | dict[str, Any] | None = None
    tool_name: str = "submit_plan"
    finish_reason: str | None = None
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def reply(content: str | dict[str, Any], finish_reason: str = "stop") -> Step:
    """An assistant message; a dict is sent as its JSON text."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Step(content=text, finish_reason=finish_reason)


def tool_call(arguments: str | dict[str, Any], name: str = "submit_plan") -> Step:
    return Step(tool_arguments=arguments, tool_name=name, finish_reason="tool_calls")


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Step:
    """An HTTP error with an OpenAI-style body: ``{"error": {"message": ...}}``."""
    return Step(status=status, error=message, headers=headers or {})


def rate_limited(retry_after: str = "0") -> Step:
    """A 429; ``retry-after-ms: 1`` as well, so the client's retry waits a millisecond."""
    return error(429, "Rate limit reached, try again later",
                 {"retry-after": retry_after, "retry-after-ms": "1"})


def slow(seconds: float, then: Step) -> Step:
    then.delay = seconds
    return then


class FakeOpenAI:
    """The fake server; a context manager that starts it on a free port of 127.0.0.1."""

    def __init__(self, model: str = "fake-model") -> None:
        self.model = model
        #: Bodies of the chat completion requests, in order, as parsed JSON.
        self.requests: list[dict[str, Any]] = []
        self._steps: list[Step] = []
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        # A short poll interval makes shutdown quick (serve_forever checks it between polls).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def script(self, *steps: Step | str | dict[str, Any]) -> FakeOpenAI:
        """Add answers, used in order; a str or dict is a plain :func:`reply`."""
        with self._lock:
            self._steps += [s if isinstance(s, Step) else reply(s) for s in steps]
        return self

    @property
    def unused(self) -> int:
        """Scripted steps not yet answered."""
        return len(self._steps)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict[str, Any]) -> Step:
        with self._lock:
            self.requests.append(body)
            if not self._steps:
                return error(500, "fake server: no scripted answer left")
            return self._steps.pop(0)

    def _completion(self, body: dict[str, Any], step: Step) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": step.content}
        if step.tool_arguments is not None:
            arguments = step.tool_arguments if isinstance(step.tool_arguments, str) \
                else json.dumps(step.tool_arguments)
            message["tool_calls"] = [{"id": f"call_{next(self._ids)}", "type": "function",
                                      "function": {"name": step.tool_name,
                                                   "arguments": arguments}}]
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": step.finish_reason or "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20},
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def _send(self, status: int, payload: dict[str, Any],
                      headers: dict[str, str] | None = None) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                try:
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    self._send(200, {"object": "list", "data": [
                        {"id": fake.model, "object": "model", "created": 0,
                         "owned_by": "fake"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw or b"{}")
                step = fake._next(body)
                if step.delay:
                    time.sleep(step.delay)
                if step.status != 200:
                    self._send(step.status, {"error": {
                        "message": step.error, "type": "server_error", "code": step.status}},
                        step.headers)
                    return
                self._send(200, fake._completion(body, step), step.headers)

        return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server

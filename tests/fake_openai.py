"""A local HTTP server that speaks the OpenAI Chat Completions API and replays scripted answers.

Tests run the real ``openai`` client against it: ``POST /v1/chat/completions`` answers with the
next step of the script (a JSON content string, tool calls, an OpenAI-style HTTP error, after an
optional delay), ``GET /v1/models`` lists one model, and every request body is recorded so a test
can check what the client sent::

    with FakeOpenAI() as server:
        server.script(reply('{"name": "Sprout", ...}'), error(500, "no json_schema here"))
        planner = LLMPlanner(server.base_url, "fake-model", "key")
        ...
        assert server.requests[0]["response_format"]["type"] == "json_schema"

A request with ``"stream": true`` gets the step as OpenAI streams it: ``text/event-stream`` over
chunked HTTP/1.1, one ``data: {chat.completion.chunk}`` event per delta (the role first, the
content in pieces of :data:`PIECE` characters, each tool call's index, id and name before its
arguments in pieces), a last chunk with the finish reason, a usage chunk (no choices) when
``stream_options.include_usage`` is set, then ``data: [DONE]``. :func:`cut` drops the connection
mid-body after some events, as a crashed server or proxy does; :func:`dripping` spaces the events
out, as a slow local model does.

It also behaves as the local servers seen in practice (llama-cpp-python with a small model):

- generation takes time (``dripping``: seconds per event) and goes on to its end for a whole
  answer even after the client has gone; a streamed answer stops at the first write that finds
  the connection closed. :attr:`FakeOpenAI.generating` counts the answers still being generated,
  :attr:`FakeOpenAI.generated` the events each one produced, so a test can see whether a closed
  connection stopped the work;
- ``FakeOpenAI(rejects_json_schema=True)`` answers a ``json_schema`` response_format with HTTP
  500 and the validation error llama.cpp's server sends (:data:`LLAMA_CPP_JSON_SCHEMA_ERROR`);
- :func:`repeating` answers with a beginning and then one item over and over until the request's
  ``max_tokens`` (:data:`TOKEN_CHARS` characters a token), as a small model stuck in a loop does;
- the tiny requests of appforge's capability probe are answered from the server's own
  capabilities (``tools``, ``rejects_json_schema``) without using the script, and kept apart in
  :attr:`FakeOpenAI.probes`; ``context`` is reported in ``/v1/models`` as vLLM does.
"""

from __future__ import annotations

import itertools
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

import pytest

#: Characters of content or tool call arguments per streamed delta.
PIECE = 16
#: Characters per token, for ``max_tokens``.
TOKEN_CHARS = 4
#: What llama-cpp-python's server answers (HTTP 500) to ``response_format: json_schema``.
LLAMA_CPP_JSON_SCHEMA_ERROR = (
    "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', "
    "'type'), 'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema', "
    "'ctx': {'expected': \"'text' or 'json_object'\"}}\n\n  File \"llama_cpp/server/app.py\", "
    "line 376, in create_chat_completion\n    POST /v1/chat/completions")
USAGE = {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}


@dataclass
class Step:
    """What the server does for one chat completion request."""

    content: str | None = None
    #: Arguments of a tool call (a JSON string, or a dict to encode), instead of content.
    tool_arguments: str | dict[str, Any] | None = None
    tool_name: str = "submit_plan"
    #: Further tool calls in the same answer, as (name, arguments).
    more_calls: list[tuple[str, str | dict[str, Any]]] = field(default_factory=list)
    finish_reason: str | None = None
    status: int = 200
    error: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: Streamed answers only: seconds between events; events sent before the connection drops
    #: (or, with ``stream_error``, before an error event ends the stream, as vLLM sends one).
    chunk_delay: float = 0.0
    cut_after: int | None = None
    stream_error: str = ""
    #: The usage the answer reports (default USAGE); add "cost" as OpenRouter does.
    usage: dict[str, Any] | None = None
    #: Said again and again after ``content`` until the request's max_tokens (a loop).
    repeat: str = ""

    def calls(self) -> list[tuple[str, str]]:
        """The tool calls of the answer, as (name, arguments JSON text)."""
        first = [(self.tool_name, self.tool_arguments)] if self.tool_arguments is not None else []
        return [(name, args if isinstance(args, str) else json.dumps(args))
                for name, args in first + self.more_calls]


def reply(content: str | dict[str, Any], finish_reason: str = "stop") -> Step:
    """An assistant message; a dict is sent as its JSON text."""
    text = content if isinstance(content, str) else json.dumps(content)
    return Step(content=text, finish_reason=finish_reason)


def tool_call(arguments: str | dict[str, Any], name: str = "submit_plan") -> Step:
    return Step(tool_arguments=arguments, tool_name=name, finish_reason="tool_calls")


def tool_calls(*calls: tuple[str, str | dict[str, Any]]) -> Step:
    """One answer calling several tools, each given as (name, arguments)."""
    (name, arguments), *more = calls
    return Step(tool_arguments=arguments, tool_name=name, more_calls=list(more),
                finish_reason="tool_calls")


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


def dripping(seconds: float, then: Step) -> Step:
    """``then``, streamed with ``seconds`` between events (a slow local model)."""
    then.chunk_delay = seconds
    return then


def repeating(start: str, item: str, then: str = "") -> Step:
    """An answer that begins with ``start`` and then says ``item`` over and over until the
    request's ``max_tokens`` runs out (``finish_reason`` "length"); ``then`` would have ended
    it, had the limit been larger."""
    return Step(content=start, repeat=item or then, finish_reason="length")


def cut(after: int, then: Step, error: str = "") -> Step:
    """``then``, streamed, but the connection drops after ``after`` events (or, given an
    ``error`` message, an ``{"error": ...}`` event ends the stream there)."""
    then.cut_after, then.stream_error = after, error
    return then


class FakeOpenAI:
    """The fake server; a context manager that starts it on a free port of 127.0.0.1."""

    def __init__(self, model: str = "fake-model", *, rejects_json_schema: bool = False,
                 tools: bool = True, context: int | None = None) -> None:
        self.model = model
        self.rejects_json_schema = rejects_json_schema
        self.tools = tools
        self.context = context
        #: Bodies of the chat completion requests, in order, as parsed JSON.
        self.requests: list[dict[str, Any]] = []
        #: Bodies of appforge's capability probes (answered without the script).
        self.probes: list[dict[str, Any]] = []
        #: Answers still being generated, and the events each finished one produced.
        self.generating = 0
        self.generated: list[int] = []
        self._closing = threading.Event()
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

    def wait_idle(self, seconds: float = 10) -> bool:
        """Whether every generation ended within ``seconds`` (polled)."""
        end = time.monotonic() + seconds
        while self.generating and time.monotonic() < end:
            time.sleep(0.02)
        return not self.generating

    def __exit__(self, *exc: object) -> None:
        self._closing.set()  # generations nobody waits for end with the test
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next(self, body: dict[str, Any]) -> Step:
        from appforge.agent.llm_endpoint import PROBE_PROMPT

        messages = body.get("messages") or [{}]
        kind = (body.get("response_format") or {}).get("type")
        with self._lock:
            if messages[-1].get("content") == PROBE_PROMPT:
                self.probes.append(body)
                if kind == "json_schema" and self.rejects_json_schema:
                    return error(500, LLAMA_CPP_JSON_SCHEMA_ERROR)
                if body.get("tools") and self.tools:
                    return tool_call({"ok": True}, name=body["tools"][0]["function"]["name"])
                return reply('{"ok": true}')
            self.requests.append(body)
            if kind == "json_schema" and self.rejects_json_schema:
                return error(500, LLAMA_CPP_JSON_SCHEMA_ERROR)
            if not self._steps:
                return error(500, "fake server: no scripted answer left")
            step = self._steps.pop(0)
        if step.repeat:  # a loop: the item again and again until max_tokens
            room = (body.get("max_tokens") or 4096) * TOKEN_CHARS - len(step.content or "")
            times = max(1, room // len(step.repeat))
            step = replace(step, content=(step.content or "") + step.repeat * times,
                           repeat="", finish_reason="length")
        return step

    def _generate(self, step: Step, events: int, sent: Any = None) -> int:
        """Generate ``events`` events, ``step.chunk_delay`` seconds each, as a model does;
        ``sent(i)`` delivers event i as it is made (a stream) and returns False once the client
        is gone, which ends the generation. Returns how many were made."""
        with self._lock:
            self.generating += 1
        made = 0
        try:
            for index in range(events):
                if index and step.chunk_delay and self._closing.wait(step.chunk_delay):
                    break
                if sent is not None and not sent(index):
                    break
                made = index + 1
            return made
        finally:
            with self._lock:
                self.generating -= 1
                self.generated.append(made)

    def _completion(self, body: dict[str, Any], step: Step) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": step.content}
        if step.calls():
            message["tool_calls"] = [{"id": f"call_{next(self._ids)}", "type": "function",
                                      "function": {"name": name, "arguments": arguments}}
                                     for name, arguments in step.calls()]
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}", "object": "chat.completion",
            "created": int(time.time()), "model": body.get("model", self.model),
            "choices": [{"index": 0, "message": message,
                         "finish_reason": step.finish_reason or "stop"}],
            "usage": dict(step.usage or USAGE),
        }

    def _chunks(self, body: dict[str, Any], step: Step) -> Iterator[dict[str, Any]]:
        """The step as OpenAI streams it: chat.completion.chunk objects, in order."""
        usage = bool((body.get("stream_options") or {}).get("include_usage"))
        head = {"id": f"chatcmpl-fake-{next(self._ids)}", "object": "chat.completion.chunk",
                "created": int(time.time()), "model": body.get("model", self.model),
                "system_fingerprint": "fp_fake"}

        def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "logprobs": None,
                      "finish_reason": finish_reason}
            return {**head, "choices": [choice], **({"usage": None} if usage else {})}

        calls = step.calls()
        yield chunk({"role": "assistant", "content": None if calls else "", "refusal": None})
        for piece in _pieces(step.content or ""):
            yield chunk({"content": piece})
        for index, (name, arguments) in enumerate(calls):
            yield chunk({"tool_calls": [{"index": index, "id": f"call_{next(self._ids)}",
                                         "type": "function",
                                         "function": {"name": name, "arguments": ""}}]})
            for piece in _pieces(arguments):
                yield chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]})
        yield chunk({}, step.finish_reason or "stop")
        if usage:
            yield {**head, "choices": [], "usage": dict(step.usage or USAGE)}

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

            def _stream(self, body: dict[str, Any], step: Step) -> None:
                """Server-sent events over chunked HTTP/1.1, as OpenAI sends them."""
                self.protocol_version = "HTTP/1.1"
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream; charset=utf-8")
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                for name, value in step.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                events = [f"data: {json.dumps(c)}\n\n" for c in fake._chunks(body, step)]
                events.append("data: [DONE]\n\n")

                def send(sent: int) -> bool:
                    if sent == step.cut_after and not step.stream_error:
                        # Gone mid-body: no last chunk, so the client sees a broken stream.
                        self.connection.shutdown(socket.SHUT_RDWR)
                        return False
                    if sent == step.cut_after:
                        failure = {"error": {"message": step.stream_error,
                                             "type": "server_error"}}
                        self._chunk(f"data: {json.dumps(failure)}\n\n")
                        return False
                    try:
                        self._chunk(events[sent])
                    except (BrokenPipeError, ConnectionResetError):
                        return False  # the client went away: a streaming server stops here
                    return True

                made = fake._generate(step, len(events), send)
                if made == len(events) or step.stream_error:
                    try:
                        self.wfile.write(b"0\r\n\r\n")
                    except (BrokenPipeError, ConnectionResetError, OSError):
                        pass

            def _chunk(self, text: str) -> None:
                data = text.encode()
                self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()

            def do_GET(self) -> None:
                if self.path.rstrip("/") == "/v1/models":
                    entry = {"id": fake.model, "object": "model", "created": 0,
                             "owned_by": "fake"}
                    if fake.context:
                        entry["max_model_len"] = fake.context
                    self._send(200, {"object": "list", "data": [entry]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if self.path.rstrip("/") != "/v1/chat/completions":
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                body = json.loads(raw or b"{}")
                if "stream_options" in body and not body.get("stream"):
                    fake.requests.append(body)
                    self._send(400, {"error": {
                        "message": "The 'stream_options' parameter is only allowed when "
                                   "'stream' is enabled.", "type": "invalid_request_error",
                        "param": "stream_options", "code": None}})
                    return
                step = fake._next(body)
                if step.delay:
                    time.sleep(step.delay)
                if step.status != 200:
                    self._send(step.status, {"error": {
                        "message": step.error, "type": "server_error", "code": step.status}},
                        step.headers)
                    return
                if body.get("stream"):
                    self._stream(body, step)
                else:
                    # A whole answer is generated to its end, whether anyone still waits.
                    fake._generate(step, len(list(fake._chunks(body, step))))
                    self._send(200, fake._completion(body, step), step.headers)

        return Handler


def _pieces(text: str) -> list[str]:
    return [text[i:i + PIECE] for i in range(0, len(text), PIECE)]


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server

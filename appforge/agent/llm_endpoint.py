"""What an LLM endpoint can do, probed once per endpoint and model and kept on disk.

Servers differ: OpenAI takes a JSON schema ``response_format``; llama.cpp's servers answer it
with HTTP 500 but honour ``json_object``; some take forced tool calls, some ignore them; some
cannot stream; each has its own context length. :func:`capabilities` asks the endpoint once,
with tiny requests (a few tokens each), and keeps the answers in ``llm-endpoints.json`` in the
data dir, keyed by base URL and model, so later builds start with the right way of asking.
The planner corrects an entry when a real request contradicts it; ``appforge doctor`` shows it.

The context length comes from ``/v1/models`` where the server says it (vLLM's
``max_model_len``, llama.cpp's ``meta.n_ctx_train``, others' ``context_length``) or from
llama.cpp's ``/props`` (the ``n_ctx`` the server runs with).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx

#: The words of every probe request; the project's fake server knows them.
PROBE_PROMPT = "appforge capability probe: answer with the JSON {\"ok\": true}"
PROBE_TOKENS = 8
CACHE_FILE = "llm-endpoints.json"
_MEMORY: dict[tuple[str, str], Capabilities] = {}
_LOCK = threading.Lock()
_CONTEXT_KEYS = ("max_model_len", "context_length", "context_window", "n_ctx", "n_ctx_train",
                 "max_context_length")
_TINY_SCHEMA = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}


@dataclass
class Capabilities:
    """One endpoint and model; None: not known (not probed, or the probe could not tell)."""

    base_url: str
    model: str
    json_schema: bool | None = None
    json_object: bool | None = None
    tools: bool | None = None
    stream: bool | None = None
    context: int | None = None
    #: When it was probed (epoch seconds), and what the server said where it refused.
    probed: float = 0.0
    notes: dict[str, str] = field(default_factory=dict)

    def line(self) -> str:
        """One line for ``appforge doctor``."""
        def word(name: str, value: bool | None) -> str:
            why = f" ({self.notes[name][:160]})" if name in self.notes and not value else ""
            return f"{name} {'yes' if value else 'unknown' if value is None else 'no'}{why}"

        parts = [word("json_schema", self.json_schema), word("json_object", self.json_object),
                 word("tools", self.tools), word("streaming", self.stream),
                 f"context {self.context} tokens" if self.context else "context unknown"]
        return ", ".join(parts)


def known(base_url: str, model: str, cache_dir: Path | None) -> Capabilities | None:
    """What is known of this endpoint and model (memory first, then the data dir's file)."""
    key = (base_url.rstrip("/"), model)
    with _LOCK:
        if key in _MEMORY:
            return _MEMORY[key]
    entry = _read(cache_dir).get(f"{key[0]} {model}")
    if not isinstance(entry, dict):
        return None
    try:
        caps = Capabilities(**entry)
    except TypeError:
        return None
    with _LOCK:
        _MEMORY[key] = caps
    return caps


def remember(caps: Capabilities, cache_dir: Path | None) -> None:
    """Keep ``caps`` for this process and, given a data dir, for later ones."""
    with _LOCK:
        _MEMORY[(caps.base_url, caps.model)] = caps
    if cache_dir is None:
        return
    entries = _read(cache_dir)
    entries[f"{caps.base_url} {caps.model}"] = asdict(caps)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / CACHE_FILE
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps(entries, indent=2) + "\n")
    partial.replace(path)


def forget_all() -> None:
    """Forget what this process learned (tests start from nothing)."""
    with _LOCK:
        _MEMORY.clear()


def capabilities(client: Any, base_url: str, model: str,
                 cache_dir: Path | None) -> Capabilities:
    """The endpoint's capabilities: the kept ones, or probed now and kept."""
    return known(base_url, model, cache_dir) or probe(client, base_url, model, cache_dir)


def probe(client: Any, base_url: str, model: str, cache_dir: Path | None) -> Capabilities:
    """Ask the endpoint what it takes, with a few tiny requests, and keep the answers; a
    deadline or a cancel on the way is :class:`~appforge.errors.LLMStopped`."""
    from appforge.agent.llm_guard import Stopped, as_error

    try:
        return _probe(client, base_url, model, cache_dir)
    except Stopped as stop:
        raise as_error(stop) from None


def _probe(client: Any, base_url: str, model: str, cache_dir: Path | None) -> Capabilities:
    import openai

    caps = Capabilities(base_url=base_url.rstrip("/"), model=model, probed=time.time())
    quick = client.with_options(max_retries=0)
    caps.context = _context(quick, caps.base_url, model)
    asks: dict[str, dict[str, Any]] = {
        "json_schema": {"response_format": {"type": "json_schema", "json_schema": {
            "name": "Probe", "schema": _TINY_SCHEMA, "strict": False}}},
        "json_object": {"response_format": {"type": "json_object"}},
        "tools": {"tools": [{"type": "function", "function": {
            "name": "probe", "description": "Answer the probe.", "parameters": _TINY_SCHEMA}}],
            "tool_choice": {"type": "function", "function": {"name": "probe"}}},
        "stream": {"stream": True},
    }
    for name, options in asks.items():
        try:
            answer = quick.chat.completions.create(
                model=model, max_tokens=PROBE_TOKENS, **options,
                messages=[{"role": "user", "content": PROBE_PROMPT}])
            if name == "stream":
                answer = list(answer)
                supported = bool(answer)
            elif name == "tools":
                supported = bool(answer.choices and answer.choices[0].message.tool_calls)
                if not supported:
                    caps.notes[name] = "answered without a tool call"
            else:
                supported = True
        except openai.APIStatusError as exc:
            supported = False
            caps.notes[name] = f"HTTP {exc.status_code}: {_said(exc)}"
        except openai.APIError as exc:  # not answering: say nothing about this capability
            caps.notes[name] = str(exc)[:160]
            continue
        setattr(caps, name, supported)
    if any(getattr(caps, name) is not None for name in asks):  # a server that did not answer
        remember(caps, cache_dir)                               # is asked again next time
    return caps


def learn_context(caps: Capabilities, message: str, cache_dir: Path | None) -> bool:
    """Read a context length from a server's "too long" error; True if it told one."""
    import re

    found = re.search(r"context (?:window|length|size)[^0-9]{0,40}(\d{3,7})", message, re.IGNORECASE)
    if not found:
        return False
    caps.context = int(found.group(1))
    remember(caps, cache_dir)
    return True


def _context(client: Any, base_url: str, model: str) -> int | None:
    """The context length the server reports for ``model``, if it reports one."""
    try:
        entries = [m.model_dump() for m in client.models.list()]
    except Exception:  # noqa: BLE001 - a server without /models has no length to tell
        entries = []
    for entry in entries:
        if entry.get("id") == model or len(entries) == 1:
            found = _number(entry)
            if found:
                return found
    root = base_url.removesuffix("/v1")
    try:
        props = httpx.get(f"{root}/props", timeout=5).json()
        return _number(props.get("default_generation_settings", props))
    except Exception:  # noqa: BLE001 - only llama.cpp's own server has /props
        return None


def _number(entry: Any) -> int | None:
    if not isinstance(entry, dict):
        return None
    for where in (entry, entry.get("meta") or {}):
        for key in _CONTEXT_KEYS:
            value = where.get(key) if isinstance(where, dict) else None
            if isinstance(value, int) and value > 0:
                return value
    return None


def _said(exc: Any) -> str:
    """The server's own error message, on one line."""
    body = exc.body
    error = body.get("error", body) if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else error
    return " ".join(str(message or exc.message).split())[:160]


def _read(cache_dir: Path | None) -> dict[str, Any]:
    if cache_dir is None:
        return {}
    try:
        data = json.loads((cache_dir / CACHE_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}

"""One chat completion from an OpenAI-compatible endpoint, asked for whole or streamed.

The LLM planner and the LLM coder both ask through :func:`complete`, which returns a
``ChatCompletion`` either way, so a streamed answer goes through exactly the same code downstream
as a whole one (truncation at ``finish_reason == "length"`` included). Streaming
(``APPFORGE_LLM_STREAM``) keeps a slow local server from hitting the read timeout on a long
answer, since every delta restarts the timer. Here the deltas are put together: the content
concatenated, each tool call by its index (id and name from its first delta, the arguments
concatenated), the finish reason from the last choice, the token count from the usage chunk
(``stream_options.include_usage``). A stream that breaks off (the connection drops, a gap longer
than the timeout, an end without a finish reason) is asked again up to the client's
``max_retries`` times, as the client itself does for a failed request, then raised as
:class:`StreamBroken` (an ``openai.APIConnectionError``) or ``openai.APITimeoutError``.

Given a :class:`~appforge.agent.llm_runaway.Watch`, a streamed answer is read as it grows: at the
first sign of a runaway the stream is closed (the server stops generating) and the answer so far
comes back with ``finish_reason`` ``"runaway"`` and the reason in its ``runaway`` attribute. A
whole answer is checked the same way once it is there. A call stopped by a guard
(:mod:`appforge.agent.llm_guard`: a deadline, a cancel) raises :class:`~appforge.errors.LLMStopped`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

import openai
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from appforge.agent.llm_guard import Stopped, as_error, check_active
from appforge.agent.llm_runaway import Watch

#: Seconds before asking again after a broken stream; doubled each time, as the client does.
RETRY_DELAY = 0.5


class StreamBroken(openai.APIConnectionError):
    """The streamed answer stopped before its end."""


def complete(client: Any, *, stream: bool = False, watch: Watch | None = None,
             **request: Any) -> ChatCompletion:
    """The answer to ``client.chat.completions.create(**request)``, streamed when ``stream``."""
    try:
        if not stream:
            return _checked(client.chat.completions.create(**request), watch and replace(watch))
        retries = int(getattr(client, "max_retries", 0))
        for attempt in range(retries + 1):
            try:
                return _streamed(client, request, watch and replace(watch))  # a fresh watch
            except openai.APIConnectionError:  # timeouts and broken streams; status errors pass
                if attempt == retries:
                    raise
                check_active()
                time.sleep(RETRY_DELAY * 2 ** attempt)
    except Stopped as stop:
        raise as_error(stop) from None
    raise AssertionError("unreachable")  # pragma: no cover


def _checked(answer: ChatCompletion, watch: Watch | None) -> ChatCompletion:
    """A whole answer, marked as a runaway when it is one (it cannot be stopped early)."""
    if watch is None or not answer.choices:
        return answer
    message = answer.choices[0].message
    text = (message.content or "") + "".join(
        getattr(call, "function", None) and call.function.arguments or ""
        for call in message.tool_calls or [])
    for start in range(0, len(text), watch.every):
        reason = watch.feed(text[start:start + watch.every])
        if reason:
            answer.choices[0].finish_reason = "runaway"  # type: ignore[assignment]
            answer.runaway = reason  # type: ignore[attr-defined]
            break
    return answer


def _streamed(client: Any, request: dict[str, Any], watch: Watch | None) -> ChatCompletion:
    chunks = client.chat.completions.create(**request, stream=True,
                                            stream_options={"include_usage": True})
    try:
        answer = assemble(chunks, watch)
    except Stopped:
        chunks.close()
        raise
    except openai.APITimeoutError:
        raise
    except openai.APIConnectionError as exc:
        reason = str(exc.__cause__ or "") or exc.message
        raise StreamBroken(message=f"the streamed answer broke off: {reason}",
                           request=chunks.response.request) from None
    if answer is None:
        raise StreamBroken(message="the streamed answer ended before its finish reason",
                           request=chunks.response.request)
    return answer


def assemble(chunks: Iterable[ChatCompletionChunk],
             watch: Watch | None = None) -> ChatCompletion | None:
    """One ``ChatCompletion`` from the chunks of a stream; None if it ended unfinished. With a
    ``watch``, a runaway answer ends there: the stream is closed and the answer so far comes
    back with ``finish_reason`` "runaway"."""
    head: ChatCompletionChunk | None = None
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    finish_reason: str | None = None
    usage = None
    runaway = ""
    for chunk in chunks:
        check_active()
        head = head or chunk
        usage = chunk.usage or usage  # the last chunk's, or a server's running count
        for choice in chunk.choices:
            if choice.index:
                continue  # only the first choice is asked for
            content.append(choice.delta.content or "")
            for call in choice.delta.tool_calls or []:
                _add_call_delta(calls, call)
                runaway = runaway or (watch.feed(call.function.arguments or "")
                                      if watch and call.function else "")
            finish_reason = choice.finish_reason or finish_reason
            runaway = runaway or (watch.feed(choice.delta.content or "") if watch else "")
        if runaway:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()  # the connection goes, and a server that streams stops generating
            finish_reason = "runaway"
            break
    if head is None or finish_reason is None:
        return None
    tool_calls = [calls[index] for index in sorted(calls)]
    message = {"role": "assistant", "content": "".join(content) or (None if tool_calls else ""),
               "tool_calls": tool_calls or None}
    return ChatCompletion.construct(
        id=head.id, object="chat.completion", created=head.created, model=head.model,
        system_fingerprint=head.system_fingerprint,
        choices=[{"index": 0, "message": message, "finish_reason": finish_reason,
                  "logprobs": None}],
        usage=usage.model_dump() if usage is not None else None,
        **({"runaway": runaway} if runaway else {}))


def _add_call_delta(calls: dict[int, dict[str, Any]], delta: Any) -> None:
    """Fold one tool call delta into ``calls`` (by index; servers that leave the index out
    send each call whole, so a new id there starts a new call)."""
    index = delta.index
    if index is None:
        known = {call["id"] for call in calls.values()}
        index = len(calls) if (delta.id and delta.id not in known) or not calls else max(calls)
    call = calls.setdefault(index, {"id": "", "type": "function",
                                    "function": {"name": "", "arguments": ""}})
    call["id"] = delta.id or call["id"]
    if delta.function is not None:
        call["function"]["name"] = delta.function.name or call["function"]["name"]
        call["function"]["arguments"] += delta.function.arguments or ""

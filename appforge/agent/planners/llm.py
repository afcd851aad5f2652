"""The LLM planner: asks an OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama)
for the plan.

Endpoints differ in how they can be held to JSON, so the planner asks the first way the endpoint
takes, in order: a JSON schema ``response_format``, llama.cpp's ``json_object`` with a schema, a
forced tool call, and a plain prompt. What the endpoint takes is probed once and kept with it
(:mod:`appforge.agent.llm_endpoint`); a request it refuses anyway moves on to the next way.

Every call is bounded: ``max_tokens`` sized for a plan (or a revision) and clamped to the
model's context, a :class:`~appforge.agent.llm_runaway.Watch` that stops a streamed answer that
loops or grows past any valid plan, and one deadline for the whole planning step
(:class:`~appforge.agent.llm_guard.Guard`), which closes the connection when it passes. Answers
are read leniently (:mod:`~appforge.agent.planners.llm_output`): what is valid is kept, the rest
is filled from the blueprint planner's reading of the same description, and
:attr:`LLMPlanner.last_notes` says which parts came from the model and which from the rules. Only
an answer with nothing usable is asked again; when none comes before the attempts or the deadline
run out, the plan is the rules' and the notes say so.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from appforge.agent.llm_endpoint import (
    Capabilities,
    capabilities,
    learn_context,
    remember,
)
from appforge.agent.planners import Planner
from appforge.agent.planners.llm_output import (
    Origin,
    UnusableAnswer,
    plan_schema,
    read_answer,
    to_spec,
)
from appforge.agent.prompts import (
    PLANNER_RETRY,
    PLANNER_REVISE,
    PLANNER_SCHEMA_NOTE,
    PLANNER_SYSTEM,
)
from appforge.errors import LLMStopped, LLMUnavailable, PlanningFailed
from appforge.spec import AppSpec

if TYPE_CHECKING:
    import openai

Mode = Literal["json_schema", "json_object", "tools", "prompt"]
MODES: tuple[Mode, ...] = ("json_schema", "json_object", "tools", "prompt")
TOOL_NAME = "submit_plan"
#: Words in a server error that mean "I do not support this way of asking for JSON" (llama.cpp
#: answers a json_schema response_format with a 500 carrying a pydantic validation error).
_REJECTION_WORDS = ("response_format", "json_schema", "json_object", "schema", "tool", "grammar",
                    "validation error", "input should be")
_ANSWER_ECHO = 4000  # characters of a bad answer sent back to the model with the problems
#: Characters per token when sizing a prompt against the context (an overestimate of tokens).
_CHARS_PER_TOKEN = 3
_HINT = ("start the model server, or point APPFORGE_LLM_BASE_URL at one that runs "
         "(or plan with the blueprint planner: APPFORGE_PLANNER=blueprint)")


class _Rejected(Exception):
    """The endpoint does not take this way of asking for JSON."""


class LLMPlanner:
    """Plans an app by asking a language model; needs an OpenAI-compatible endpoint."""

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key: str, *, timeout: float = 60,
                 max_retries: int = 2, attempts: int = 3, max_tokens: int = 1200,
                 revise_tokens: int | None = None, deadline: float | None = None,
                 blueprint: Planner | None = None, cache_dir: Path | None = None,
                 http_client: Any = None, stream: bool = False) -> None:
        from openai import OpenAI

        from appforge.agent.llm_guard import http_client as guarded_client
        from appforge.agent.planners.blueprint import BlueprintPlanner

        # http_client: an httpx client of the kind the installed openai takes (proxies, TLS);
        # by default one whose connections a deadline or a cancel can close.
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.max_tokens = max_tokens
        self.revise_tokens = revise_tokens or max_tokens
        #: Seconds for one whole plan or revision, every attempt included (None: no deadline).
        self.deadline = deadline or None
        #: Ask for streamed answers (the coder working with this planner's client does too).
        self.stream = stream
        self.cache_dir = cache_dir
        self.blueprint = blueprint or BlueprintPlanner()
        #: What the last plan filled in or worked around, for the user to see; the first line
        #: says which parts came from the model and which from the rules.
        self.last_notes: list[str] = []
        self.last_origin: Origin | None = None
        #: Tokens the last plan's answers used (as the server counted, else estimated).
        self.last_tokens = 0
        #: How the last plan asked for JSON (one of MODES).
        self.mode: Mode | None = None
        # Local servers take any key, but the client insists on one.
        self._client: openai.OpenAI = OpenAI(
            base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout,
            max_retries=max_retries,
            http_client=http_client or guarded_client(self.base_url, timeout))
        self._schema = plan_schema()
        self._caps: Capabilities | None = None

    @property
    def client(self) -> Any:
        """The endpoint's client, for the coder that works with the same model."""
        return self._client

    @property
    def capabilities(self) -> Capabilities:
        """What the endpoint takes (probed once per endpoint and model, then kept)."""
        if self._caps is None:
            self._caps = capabilities(self._client, self.base_url, self.model, self.cache_dir)
        return self._caps

    def plan(self, description: str) -> AppSpec:
        # The blueprint's reading checks the description before any request and fills the gaps.
        base = self.blueprint.plan(description)
        answer = self._answer(description.strip(), description, base, self.max_tokens)
        if answer is None:
            self.last_origin = Origin(rules=["the whole plan"])
            self.last_notes.insert(0, "from the rules: the whole plan (the model gave none "
                                      "that could be used)")
            self.last_notes.append(f"the model's answers: {self.last_tokens} tokens, none used")
            return base
        return answer[0]

    def revise(self, spec: AppSpec, change: str) -> AppSpec:
        """``spec`` changed as ``change`` asks (the chat): the model gets the current plan as
        data and answers with the whole new plan; gaps are filled from the current plan, which
        keeps its slug, and the mode the model chose (light or dark) is applied to its colours."""
        from appforge.agent.planners.theme import palette_from
        from appforge.errors import InvalidInput

        change = (change or "").strip()
        if not change:
            raise InvalidInput("the change is empty: say what to change")
        current = spec.model_dump(mode="json", exclude={"description", "theme"})
        current["theme_mode"] = spec.theme.mode
        request = PLANNER_REVISE.format(plan=json.dumps(current, ensure_ascii=False),
                                        change=change)
        answer = self._answer(request, f"{spec.description}\n{change}", spec,
                              self.revise_tokens)
        if answer is None:
            raise PlanningFailed(
                f"the model {self.model!r} at {self.base_url} gave no usable revision: "
                + "; ".join(self.last_notes[-2:]),
                hint="say the change again, try a larger model, or build with the blueprint "
                     "planner")
        new, draft = answer
        updates: dict[str, Any] = {"slug": spec.slug, "description": spec.description}
        if draft.theme_mode in ("light", "dark") and draft.theme_mode != spec.theme.mode:
            updates["theme"] = palette_from(spec.theme.primary, spec.theme.accent,
                                            dark=draft.theme_mode == "dark")
        return new.model_copy(update=updates)

    def _answer(self, request: str, description: str, base: AppSpec,
                max_tokens: int) -> tuple[AppSpec, Any] | None:
        """The first answer with anything usable, completed from ``base``; None when no
        attempt gave one before the attempts or the deadline ran out."""
        from appforge.agent.llm_guard import Guard

        self.last_notes, self.last_origin, self.last_tokens = [], None, 0
        system = PLANNER_SYSTEM + PLANNER_SCHEMA_NOTE.format(schema=json.dumps(self._schema))
        messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                          {"role": "user", "content": request}]
        started = time.monotonic()
        with Guard("planning", self.deadline) as guard:
            for attempt in range(1, self.attempts + 1):
                try:
                    text, finish_reason, runaway = self._ask(messages, max_tokens)
                except LLMStopped as stop:
                    if not (stop.expired and stop.what == "planning"):
                        raise
                    self.last_notes.append(
                        f"planning passed its deadline of {guard.seconds:g} s "
                        f"(APPFORGE_LLM_PLAN_DEADLINE) during attempt {attempt}; the "
                        "connection was closed")
                    return None
                notes = self._cut_notes(finish_reason, runaway, max_tokens)
                try:
                    draft, read_notes = read_answer(text, base.kind)
                    spec, filled, origin = to_spec(draft, description, base)
                    if not origin.model:
                        raise UnusableAnswer([("the answer held nothing usable (no name, kind, "
                                              "entity, feature or asset)")])
                except UnusableAnswer as exc:
                    self.last_notes.append(f"attempt {attempt}: {'; '.join(exc.problems)}")
                    messages += [
                        {"role": "assistant", "content": (text or "")[:_ANSWER_ECHO]},
                        {"role": "user", "content": PLANNER_RETRY.format(
                            problems="\n".join(f"- {p}" for p in exc.problems))}]
                    continue
                self.last_origin = origin
                seconds = time.monotonic() - started
                self.last_notes = [origin.line(), *self.last_notes, *notes, *read_notes,
                                   *filled, (f"the model's answers: {self.last_tokens} tokens in "
                                   f"{seconds:.0f} s, {attempt} attempt(s)")]
                return spec, draft
        return None

    def _cut_notes(self, finish_reason: str | None, runaway: str, max_tokens: int) -> list[str]:
        if finish_reason == "runaway":
            return [f"stopped the model's answer early: {runaway}; kept what was complete"]
        if finish_reason == "length":
            return [(f"the answer reached its limit of {max_tokens} tokens "
                    "(APPFORGE_LLM_MAX_TOKENS_PLAN); kept what was complete")]
        return []

    def _ask(self, messages: list[dict[str, Any]],
             max_tokens: int) -> tuple[str, str | None, str]:
        """One answer from the endpoint, asked the first way it accepts: (text, finish reason,
        why it ran away)."""
        from appforge.agent.llm_runaway import Watch

        caps = self.capabilities
        limit = self._fitted(messages, max_tokens)
        for mode in [m for m in MODES if m == "prompt" or getattr(caps, m) is not False]:
            try:
                response = self._create(mode, messages, limit, Watch(max_chars=limit * 4),
                                        retries=getattr(caps, mode, True) is True)
            except _Rejected as exc:
                self.last_notes.append(f"the endpoint does not take {mode} output ({exc}); "
                                       "asked another way")
                setattr(caps, mode, False)
                caps.notes[mode] = str(exc)[:160]
                remember(caps, self.cache_dir)
                continue
            if mode != "prompt" and getattr(caps, mode) is not True:
                setattr(caps, mode, True)
                remember(caps, self.cache_dir)
            self.mode = mode
            usage = getattr(response, "usage", None)
            if not response.choices:
                return "", None, ""
            choice = response.choices[0]
            calls = choice.message.tool_calls or []
            text = calls[0].function.arguments if calls and hasattr(calls[0], "function") \
                else choice.message.content
            self.last_tokens += usage.completion_tokens if usage else len(text or "") // 4
            return text or "", choice.finish_reason, getattr(response, "runaway", "")
        raise AssertionError("the plain prompt mode is never rejected")  # pragma: no cover

    def _fitted(self, messages: list[dict[str, Any]], max_tokens: int) -> int:
        """``max_tokens``, less where the prompt leaves less of the model's context."""
        context = self.capabilities.context
        if not context:
            return max_tokens
        prompt = len(json.dumps(messages)) // _CHARS_PER_TOKEN
        return max(64, min(max_tokens, context - prompt - 16))

    def _create(self, mode: Mode, messages: list[dict[str, Any]], max_tokens: int, watch: Any,
                *, retries: bool) -> Any:
        """Send one request. A way of asking not yet known to work is tried without the
        client's retries, since a server that rejects it rejects it every time."""
        import openai

        from appforge.agent.llm_client import complete

        client = self._client if retries else self._client.with_options(max_retries=0)
        try:
            return complete(client, stream=self.stream and self.capabilities.stream is not False,
                            watch=watch, model=self.model, messages=messages,
                            max_tokens=max_tokens, **self._options(mode))
        except openai.APIStatusError as exc:
            if learn_context(self.capabilities, _message(exc), self.cache_dir):
                raise LLMUnavailable(
                    f"the plan's prompt does not fit the context of {self.model!r} "
                    f"({self.capabilities.context} tokens): {_message(exc)}",
                    hint="start the server with a larger context (llama.cpp: --n_ctx 8192)"
                ) from None
            if mode != "prompt" and _rejects(exc):
                raise _Rejected(f"{exc.status_code}: {_message(exc)}") from None
            if retries or not _passing(exc.status_code):
                raise self._unavailable(exc) from None
        except openai.APITimeoutError as exc:
            raise self._unavailable(exc) from None
        except openai.APIConnectionError as exc:
            if retries:
                raise self._unavailable(exc) from None
        except openai.APIError as exc:  # an error event in the middle of a stream
            raise self._unavailable(exc) from None
        # A passing error on the first try: ask again with the client's retries and backoff.
        return self._create(mode, messages, max_tokens, watch, retries=True)

    def _options(self, mode: Mode) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if mode == "json_schema":
            options["response_format"] = {"type": "json_schema", "json_schema": {
                "name": "AppSpec", "schema": self._schema, "strict": False}}
        elif mode == "json_object":
            options["response_format"] = {"type": "json_object", "schema": self._schema}
        elif mode == "tools":
            options["tools"] = [{"type": "function", "function": {
                "name": TOOL_NAME, "description": "Submit the plan of the app.",
                "parameters": self._schema}}]
            options["tool_choice"] = {"type": "function", "function": {"name": TOOL_NAME}}
        return options

    def _unavailable(self, exc: Exception) -> LLMUnavailable:
        import openai

        from appforge.agent.llm_client import StreamBroken

        where = f"the LLM endpoint at {self.base_url}"
        if isinstance(exc, openai.APITimeoutError):
            return LLMUnavailable(f"{where} did not answer within {self.timeout:g} s", hint=_HINT)
        if isinstance(exc, StreamBroken):
            return LLMUnavailable(f"{where} failed mid-answer: {exc.message}", hint=(
                "try again; if it keeps happening, check the server's log or turn streaming "
                "off (APPFORGE_LLM_STREAM=0)"))
        if isinstance(exc, openai.APIConnectionError):
            reason = str(exc.__cause__ or "") or exc.message
            return LLMUnavailable(f"{where} is not answering: {reason}", hint=_HINT)
        if not isinstance(exc, openai.APIStatusError):
            return LLMUnavailable(f"{where} failed mid-answer: {exc.message}")
        status, message = exc.status_code, _message(exc)
        if status in (401, 403):
            return LLMUnavailable(f"{where} refused the API key ({status}): {message}",
                                  hint="set APPFORGE_LLM_API_KEY (or OPENAI_API_KEY)")
        if status == 404:
            return LLMUnavailable(
                f"{where} has no model {self.model!r} or no chat API there (404): {message}",
                hint="check APPFORGE_LLM_MODEL, and that APPFORGE_LLM_BASE_URL ends in /v1")
        if status == 429:
            return LLMUnavailable(f"{where} is still rate limiting after retries: {message}",
                                  hint="wait a little and try again")
        return LLMUnavailable(f"{where} answered HTTP {status}: {message}")


def _rejects(exc: openai.APIStatusError) -> bool:
    """Whether an error says the server cannot do this way of asking for JSON."""
    if exc.status_code in (400, 422):
        return True
    message = _message(exc).lower()
    return exc.status_code >= 500 and any(word in message for word in _REJECTION_WORDS)


def _passing(status: int) -> bool:
    return status in (408, 409, 429) or status >= 500


def _message(exc: openai.APIStatusError) -> str:
    """The server's own error message, from an OpenAI-style body or whatever it sent."""
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        if isinstance(error, str):
            return error
    return exc.message

"""The LLM planner: asks an OpenAI-compatible chat endpoint (OpenAI, vLLM, llama.cpp, Ollama)
for the plan.

Endpoints differ in how they can be held to JSON, so the planner tries, in order: a JSON schema
``response_format``, llama.cpp's ``json_object`` with a schema, a forced tool call, and a plain
prompt. The first one an endpoint accepts is remembered for that endpoint and model for the rest
of the process. Answers are checked (JSON, shape, crud entities with fields, no loops or cut-off
output); an unusable one is sent back with the problems, a few times, before planning fails.
With ``stream`` the answer is streamed and put together by :mod:`appforge.agent.llm_client`,
then read by the same code. What the model leaves out (theme colours, a tagline, assets) is filled from the blueprint
planner's reading of the same description, and :attr:`LLMPlanner.last_notes` says what was.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Literal

from appforge.agent.planners import Planner
from appforge.agent.planners.llm_output import (
    UnusableAnswer,
    plan_schema,
    read_answer,
    to_spec,
)
from appforge.agent.prompts import (PLANNER_RETRY, PLANNER_REVISE, PLANNER_SCHEMA_NOTE,
                                    PLANNER_SYSTEM)
from appforge.errors import LLMUnavailable, PlanningFailed
from appforge.spec import AppSpec

if TYPE_CHECKING:
    import openai

Mode = Literal["json_schema", "json_object", "tools", "prompt"]
MODES: tuple[Mode, ...] = ("json_schema", "json_object", "tools", "prompt")
#: The way of asking for JSON each endpoint (base URL, model) accepted, so later plans start there.
ENDPOINT_MODES: dict[tuple[str, str], Mode] = {}
TOOL_NAME = "submit_plan"
#: Words in a server error that mean "I do not support this way of asking for JSON".
_REJECTION_WORDS = ("response_format", "json_schema", "json_object", "schema", "tool", "grammar")
_ANSWER_ECHO = 4000  # characters of a bad answer sent back to the model with the problems
_HINT = ("start the model server, or point APPFORGE_LLM_BASE_URL at one that runs "
         "(or plan with the blueprint planner: APPFORGE_PLANNER=blueprint)")


class _Rejected(Exception):
    """The endpoint does not take this way of asking for JSON."""


class LLMPlanner:
    """Plans an app by asking a language model; needs an OpenAI-compatible endpoint."""

    name = "llm"

    def __init__(self, base_url: str, model: str, api_key: str, *, timeout: float = 60,
                 max_retries: int = 2, attempts: int = 3, max_tokens: int | None = None,
                 blueprint: Planner | None = None,
                 http_client: Any = None, stream: bool = False) -> None:
        from openai import OpenAI

        from appforge.agent.planners.blueprint import BlueprintPlanner

        # http_client: an httpx client of the kind the installed openai takes (proxies, TLS).
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.max_tokens = max_tokens
        #: Ask for streamed answers (the coder working with this planner's client does too).
        self.stream = stream
        self.blueprint = blueprint or BlueprintPlanner()
        #: What the last plan filled in or worked around, for the user to see.
        self.last_notes: list[str] = []
        #: How the last plan asked for JSON (one of MODES).
        self.mode: Mode | None = None
        # Local servers take any key, but the client insists on one.
        self._client: openai.OpenAI = OpenAI(
            base_url=self.base_url, api_key=api_key or "not-needed", timeout=timeout,
            max_retries=max_retries, http_client=http_client)
        self._schema = plan_schema()

    @property
    def client(self) -> Any:
        """The endpoint's client, for the coder that works with the same model."""
        return self._client

    def plan(self, description: str) -> AppSpec:
        # The blueprint's reading checks the description before any request and fills the gaps.
        base = self.blueprint.plan(description)
        return self._answer(description.strip(), description, base)[0]

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
        new, draft = self._answer(request, f"{spec.description}\n{change}", spec)
        updates: dict[str, Any] = {"slug": spec.slug, "description": spec.description}
        if draft.theme_mode in ("light", "dark") and draft.theme_mode != spec.theme.mode:
            updates["theme"] = palette_from(spec.theme.primary, spec.theme.accent,
                                            dark=draft.theme_mode == "dark")
        return new.model_copy(update=updates)

    def _answer(self, request: str, description: str, base: AppSpec) -> tuple[AppSpec, Any]:
        """Ask until the answer is a usable plan (retrying with what was wrong)."""
        self.last_notes = []
        system = PLANNER_SYSTEM + PLANNER_SCHEMA_NOTE.format(schema=json.dumps(self._schema))
        messages: list[dict[str, Any]] = [{"role": "system", "content": system},
                                          {"role": "user", "content": request}]
        problems: list[str] = []
        for _ in range(self.attempts):
            text, finish_reason = self._ask(messages)
            try:
                draft = read_answer(text, finish_reason)
                spec, notes = to_spec(draft, description, base)
            except UnusableAnswer as exc:
                problems = exc.problems
                messages += [
                    {"role": "assistant", "content": (text or "")[:_ANSWER_ECHO]},
                    {"role": "user", "content": PLANNER_RETRY.format(
                        problems="\n".join(f"- {p}" for p in problems))},
                ]
                continue
            self.last_notes += notes
            return spec, draft
        raise PlanningFailed(
            f"the model {self.model!r} at {self.base_url} gave no usable plan in "
            f"{self.attempts} attempts; the last answer: {'; '.join(problems)}",
            hint="try again, try a larger model, or plan with the blueprint planner",
            detail="\n".join(problems))

    def _ask(self, messages: list[dict[str, Any]]) -> tuple[str, str | None]:
        """One answer from the endpoint, asked the first way it accepts."""
        key = (self.base_url, self.model)
        known = ENDPOINT_MODES.get(key)
        for mode in MODES[MODES.index(known or MODES[0]):]:
            try:
                response = self._create(mode, messages, retries=mode == known)
            except _Rejected as exc:
                self.last_notes.append(f"the endpoint does not take {mode} output ({exc}); "
                                       "asked another way")
                continue
            ENDPOINT_MODES[key] = self.mode = known = mode
            if not response.choices:
                return "", None
            choice = response.choices[0]
            calls = choice.message.tool_calls or []
            text = calls[0].function.arguments if calls and hasattr(calls[0], "function") \
                else choice.message.content
            return text or "", choice.finish_reason
        raise AssertionError("the plain prompt mode is never rejected")  # pragma: no cover

    def _create(self, mode: Mode, messages: list[dict[str, Any]], *, retries: bool) -> Any:
        """Send one request. A way of asking not yet known to work is tried without the
        client's retries, since a server that rejects it rejects it every time."""
        import openai

        from appforge.agent.llm_client import complete

        client = self._client if retries else self._client.with_options(max_retries=0)
        try:
            return complete(client, stream=self.stream, model=self.model, messages=messages,
                            **self._options(mode))
        except openai.APIStatusError as exc:
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
        return self._create(mode, messages, retries=True)

    def _options(self, mode: Mode) -> dict[str, Any]:
        options: dict[str, Any] = {}
        if self.max_tokens:
            options["max_tokens"] = self.max_tokens
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

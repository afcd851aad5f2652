"""The LLM coder: a LangGraph tool-calling loop that edits an app's workspace until its tests pass.

The model sees the workspace only through the tools in ``tools/workspace.py`` (confined to the
workspace) plus ``run_tests`` (the app's tests in the sandbox, output trimmed) and ``finish``.
Text the model did not write (files, file lists, test logs) goes back framed as data between
randomly tagged lines (:func:`as_data`); the loop acts only on the API's tool calls, never on text
that looks like one. The loop stops when the model calls ``finish``, when it stops calling tools,
when the step budget is spent, when the tests fail the same way three times in a row, or when
the coder's deadline passes (the call under way is cancelled, its connection closed). Each step's
answer is bounded (``max_tokens``, clamped to what the context has left) and, streamed, stopped
early when it runs away (the same lines over and over). Answers are streamed when the context says
so (:mod:`appforge.agent.llm_client`). Every message is kept in the state, so each attempt can be
reviewed.
"""

from __future__ import annotations

import json
import operator
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from appforge.agent.llm_client import complete
from appforge.agent.llm_guard import Guard, active
from appforge.agent.llm_runaway import Watch
from appforge.agent.prompts import CODER_SYSTEM, DATA_FRAME
from appforge.errors import LLMStopped, LLMUnavailable
from appforge.tools.workspace import TOOL_SPECS, Workspace, run_tool

#: The most of a test log sent back to the model (its tail: where pytest puts the summary).
TEST_OUTPUT_CHARS = 4000
SAME_FAILURE_LIMIT = 3
#: What the guard of a coder session is called (its deadline message starts with it).
CODER = "the coder"
#: Characters per token when sizing the conversation against the context (overestimates).
_CHARS_PER_TOKEN = 3
#: The fewest tokens worth asking for; a conversation that leaves less has outgrown the context.
_MIN_ANSWER = 256
CUT_OFF = ("your answer was cut off at the length limit (finish_reason 'length'), so this call "
           "was incomplete; send less at once, e.g. write a long file in several smaller files")

RUN_TESTS = {"type": "function", "function": {
    "name": "run_tests", "description": "Run the app's pytest suite in the sandbox; returns the "
    "exit status and the end of the output.",
    "parameters": {"type": "object", "properties": {}, "required": []}}}
FINISH = {"type": "function", "function": {
    "name": "finish", "description": "Stop: the work is done and the tests pass.",
    "parameters": {"type": "object", "properties": {"summary": {"type": "string"}},
                   "required": ["summary"]}}}
GENERATE_IMAGE = {"type": "function", "function": {
    "name": "generate_image", "description": "Make a picture for the app with the configured "
    "image backend; it is saved as static/assets/<name>.png and served at "
    "/static/assets/<name>.png.",
    "parameters": {"type": "object", "properties": {
        "name": {"type": "string", "description": "file stem: lowercase letters, digits, -"},
        "prompt": {"type": "string"},
        "width": {"type": "integer", "minimum": 64, "maximum": 2048},
        "height": {"type": "integer", "minimum": 64, "maximum": 2048}},
        "required": ["name", "prompt"]}}}
GENERATE_VIDEO = {"type": "function", "function": {
    "name": "generate_video", "description": "Make a short H.264 clip for the app with the "
    "configured video backend; saved as static/assets/<name>.mp4 with a poster "
    "static/assets/<name>-poster.jpg.",
    "parameters": {"type": "object", "properties": {
        "name": {"type": "string", "description": "file stem: lowercase letters, digits, -"},
        "prompt": {"type": "string"},
        "seconds": {"type": "number", "minimum": 1, "maximum": 10}},
        "required": ["name", "prompt"]}}}
ADD_DEPENDENCY = {"type": "function", "function": {
    "name": "add_dependency", "description": "Add a Python package the app needs; it is "
    "resolved for the sandbox's Python and pinned in requirements.txt.",
    "parameters": {"type": "object", "properties": {
        "requirement": {"type": "string", "description": "name, or name==version"}},
        "required": ["requirement"]}}}
TOOLS = [*TOOL_SPECS, RUN_TESTS, GENERATE_IMAGE, GENERATE_VIDEO, ADD_DEPENDENCY, FINISH]


@dataclass
class CoderContext:
    client: Any  # openai.OpenAI
    model: str
    workspace: Workspace
    #: Runs the app's tests in the sandbox: (passed, output).
    run_tests: Callable[[], tuple[bool, str]]
    #: Makes static/assets/<name>.png from (name, prompt, width, height); returns a summary.
    make_image: Callable[[str, str, int, int], str] | None = None
    #: Makes static/assets/<name>.mp4 from (name, prompt, seconds); returns a summary.
    make_video: Callable[[str, str, float], str] | None = None
    max_steps: int = 30
    log: Callable[[str], None] = lambda _m: None
    #: Stream the answers (``Settings.llm_stream``).
    stream: bool = False
    #: Stop once the answers used this many tokens (0: no token budget).
    max_tokens: int = 0
    #: US dollars per million prompt and completion tokens, for the cost report when the
    #: endpoint does not say what a call cost (OpenRouter-style ``usage.cost`` wins).
    prices: tuple[float, float] | None = None
    #: The most tokens one answer may have (0: the server's limit), and the model's context
    #: length where known (the answer's limit shrinks to what the conversation leaves).
    step_tokens: int = 0
    context: int | None = None
    #: Seconds for the whole session (None: none); past it the call under way is cancelled.
    deadline: float | None = None


class CoderState(TypedDict, total=False):
    messages: Annotated[list[dict[str, Any]], operator.add]
    steps: int
    tokens: int
    #: US dollars, when the endpoint reports it or prices are configured; None otherwise.
    cost: float | None
    max_tokens: int
    finished: bool
    summary: str
    stop_reason: str
    test_failures: Annotated[list[str], operator.add]
    tests_passed: bool
    max_steps: int
    #: Whether the last answer stopped at the length limit (or was stopped as a runaway).
    cut_off: bool


def call_model(state: CoderState, runtime: Runtime[CoderContext]) -> dict[str, Any]:
    import openai

    ctx = runtime.context
    limit = _answer_limit(ctx, state["messages"])
    if limit is not None and limit < _MIN_ANSWER:
        return {"messages": [], "stop_reason": f"the conversation no longer fits the model's "
                f"context ({ctx.context} tokens)", "cut_off": False}
    options: dict[str, Any] = {"max_tokens": limit} if limit else {}
    watch = Watch(max_chars=(limit or 8192) * 5, repeats=12, span=1200)
    try:
        reply = complete(ctx.client, stream=ctx.stream, watch=watch, model=ctx.model,
                         messages=state["messages"], tools=TOOLS, tool_choice="auto", **options)
    except openai.APIError as exc:
        raise LLMUnavailable(f"the LLM endpoint failed while coding: {exc}") from None
    except LLMStopped as stop:
        if not (stop.expired and stop.what == CODER):
            raise
        return {"messages": [], "stop_reason": f"{stop} (APPFORGE_LLM_CODER_DEADLINE); the "
                "call under way was cancelled", "cut_off": False}
    message = reply.choices[0].message
    entry: dict[str, Any] = {"role": "assistant", "content": message.content or ""}
    if message.tool_calls:
        entry["tool_calls"] = [{"id": c.id, "type": "function", "function": {
            "name": c.function.name, "arguments": c.function.arguments}}
            for c in message.tool_calls]
    runaway = getattr(reply, "runaway", "")
    if runaway:
        ctx.log(f"stopped the model's answer early: {runaway}")
    used = reply.usage.total_tokens if reply.usage else len(json.dumps(entry)) // 4
    spent = _cost(reply.usage, ctx.prices)
    cost = state.get("cost")
    if spent is not None:
        cost = (cost or 0.0) + spent
    return {"messages": [entry], "steps": state.get("steps", 0) + 1,
            "tokens": state.get("tokens", 0) + used, "cost": cost,
            "cut_off": reply.choices[0].finish_reason in ("length", "runaway"),
            **({"stop_reason": f"the model's answer ran away ({runaway})"}
               if runaway and not message.tool_calls else {})}


def _answer_limit(ctx: CoderContext, messages: list[dict[str, Any]]) -> int | None:
    """The ``max_tokens`` of the next answer: the step's limit, less where the conversation
    leaves less of the context; None when neither is known."""
    if not ctx.context:
        return ctx.step_tokens or None
    room = ctx.context - len(json.dumps(messages)) // _CHARS_PER_TOKEN - 64
    return min(room, ctx.step_tokens) if ctx.step_tokens else room


def run_tools(state: CoderState, runtime: Runtime[CoderContext]) -> dict[str, Any]:
    ctx = runtime.context
    update: dict[str, Any] = {"messages": [], "test_failures": []}
    for call in state["messages"][-1].get("tool_calls", []):
        name, arguments = call["function"]["name"], call["function"]["arguments"]
        if name == "finish":
            summary = _argument(arguments, "summary")
            update.update(finished=True, summary=summary, stop_reason="finished")
            result = "ok"
        elif name == "run_tests":
            passed, output = ctx.run_tests()
            update["tests_passed"] = passed
            if not passed:
                update["test_failures"].append(output[-TEST_OUTPUT_CHARS:])
            result = (f"{'passed' if passed else 'FAILED'}\n"
                      + as_data("The end of the test log", output[-TEST_OUTPUT_CHARS:]))
        elif name in ("generate_image", "generate_video"):
            result = _generate(ctx, name, arguments)
        elif name == "add_dependency":
            result = _add_dependency(ctx, arguments)
        else:
            result = _workspace_tool(ctx, name, arguments)
        if state.get("cut_off") and result.startswith("error:"):
            result += f"\n({CUT_OFF})"
        ctx.log(f"{name}: {result.splitlines()[0][:100] if result else ''}")
        update["messages"].append({"role": "tool", "tool_call_id": call["id"],
                                   "content": result})
    return update


def as_data(what: str, text: str) -> str:
    """``text`` framed as data: between two lines with a random tag that the text, written
    before the tag was drawn, cannot know, so it cannot fake the end of the data."""
    tag = f"DATA-{secrets.token_hex(6)}"
    return DATA_FRAME.format(what=what, tag=tag,
                             text=text if text.endswith("\n") or not text else text + "\n")


def _workspace_tool(ctx: CoderContext, name: str, arguments: str) -> str:
    ok, result = run_tool(ctx.workspace, name, arguments)
    if ok and name == "read_file":
        return as_data(f"The text of {_argument(arguments, 'path')}", result)
    if ok and name == "list_files":
        return as_data("The files", result)
    return result


def _generate(ctx: CoderContext, tool: str, arguments: str) -> str:
    from pydantic import ValidationError

    from appforge.errors import AppforgeError
    from appforge.spec import AssetRequest

    video = tool == "generate_video"
    make = ctx.make_video if video else ctx.make_image
    if make is None:
        return f"error: {tool}: no {'video' if video else 'image'} backend in this run"
    try:
        args = json.loads(arguments or "{}")
        if video:
            request = AssetRequest(kind="video", role="feature", name=args.get("name", ""),
                                   prompt=args.get("prompt", ""),
                                   seconds=float(args.get("seconds", 4)))
            return make(request.name, request.prompt, request.seconds)  # type: ignore[call-arg]
        request = AssetRequest(kind="image", role="feature", name=args.get("name", ""),
                               prompt=args.get("prompt", ""), width=args.get("width", 768),
                               height=args.get("height", 512))
        return make(request.name, request.prompt, request.width,  # type: ignore[call-arg]
                    request.height)
    except (json.JSONDecodeError, AttributeError, TypeError, ValueError, ValidationError) as exc:
        return f"error: {tool}: bad arguments: {str(exc).splitlines()[0]}"
    except AppforgeError as exc:
        return f"error: {tool}: {exc}"


def _add_dependency(ctx: CoderContext, arguments: str) -> str:
    from appforge.errors import AppforgeError
    from appforge.tools.dependencies import add_dependency

    try:
        return add_dependency(ctx.workspace.root, _argument(arguments, "requirement"))
    except AppforgeError as exc:
        return f"error: add_dependency: {exc}"


def _argument(arguments: str, key: str) -> str:
    try:
        return str(json.loads(arguments or "{}").get(key, ""))
    except (json.JSONDecodeError, AttributeError):
        return ""


def _cost(usage: Any, prices: tuple[float, float] | None) -> float | None:
    """What one call cost: the endpoint's own figure where it gives one, else the tokens at the
    configured prices, else unknown."""
    if usage is None:
        return None
    reported = getattr(usage, "cost", None)
    if reported is None and getattr(usage, "model_extra", None):
        reported = usage.model_extra.get("cost")
    if isinstance(reported, (int, float)):
        return float(reported)
    if prices is None:
        return None
    return (usage.prompt_tokens * prices[0] + usage.completion_tokens * prices[1]) / 1e6


def _over_budget(state: CoderState) -> bool:
    budget = state.get("max_tokens") or 0
    return bool(budget) and state.get("tokens", 0) >= budget


def after_model(state: CoderState) -> Literal["run_tools", "__end__"]:
    if state.get("stop_reason"):
        return END
    return "run_tools" if state["messages"][-1].get("tool_calls") else END


def after_tools(state: CoderState) -> Literal["call_model", "__end__"]:
    if state.get("finished") or any(g.stopped for g in active() if g.what == CODER):
        return END
    if state.get("steps", 0) >= state["max_steps"] or _over_budget(state):
        return END
    failures = state.get("test_failures", [])
    if len(failures) >= SAME_FAILURE_LIMIT and len(set(failures[-SAME_FAILURE_LIMIT:])) == 1:
        return END
    return "call_model"


builder = StateGraph(CoderState, context_schema=CoderContext)
builder.add_node("call_model", call_model)
builder.add_node("run_tools", run_tools)
builder.add_edge(START, "call_model")
builder.add_conditional_edges("call_model", after_model)
builder.add_conditional_edges("run_tools", after_tools)
graph = builder.compile(name="appforge-coder")


@dataclass
class CoderResult:
    finished: bool
    stop_reason: str
    summary: str
    steps: int
    tokens: int
    tests_passed: bool
    messages: list[dict[str, Any]]
    cost: float | None = None


def code(task: str, ctx: CoderContext) -> CoderResult:
    """Let the model work on the workspace until it finishes or a limit stops it."""
    with Guard(CODER, ctx.deadline) as guard:
        state = graph.invoke({"messages": [{"role": "system", "content": CODER_SYSTEM},
                                           {"role": "user", "content": task}],
                              "steps": 0, "tokens": 0, "test_failures": [],
                              "max_steps": ctx.max_steps, "max_tokens": ctx.max_tokens},
                             context=ctx, config={"recursion_limit": 4 * ctx.max_steps + 10})
    failures = state.get("test_failures", [])
    reason = state.get("stop_reason") or (
        f"{guard.reason} (APPFORGE_LLM_CODER_DEADLINE)" if guard.expired else None) or (
        "step budget spent" if state.get("steps", 0) >= ctx.max_steps
        else f"token budget spent ({state.get('tokens', 0)} of {ctx.max_tokens})"
        if _over_budget(state)
        else "the same test failure repeated" if len(failures) >= SAME_FAILURE_LIMIT
        and len(set(failures[-SAME_FAILURE_LIMIT:])) == 1
        else "the model's answer was cut off at the length limit" if state.get("cut_off")
        else "the model stopped calling tools")
    return CoderResult(finished=bool(state.get("finished")), stop_reason=reason,
                       summary=state.get("summary", ""), steps=state.get("steps", 0),
                       tokens=state.get("tokens", 0),
                       tests_passed=bool(state.get("tests_passed")),
                       messages=state["messages"], cost=state.get("cost"))

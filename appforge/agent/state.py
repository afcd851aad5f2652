"""The typed state of a build, as LangGraph checkpoints it after every node.

Everything in it is plain JSON (the spec as a dict, paths as strings), so a checkpoint can be read
back by any later process. ``timings`` merges, so each node adds its own entry.
"""

from __future__ import annotations

from typing import Annotated, Any, TypedDict


def merge(left: dict[str, Any] | None, right: dict[str, Any] | None) -> dict[str, Any]:
    """Reducer: later keys win, earlier keys stay."""
    return {**(left or {}), **(right or {})}


class BuildState(TypedDict, total=False):
    description: str
    #: Asked for by the user: rebuild this app (slug) / answer at these domains.
    app: str | None
    domains: list[str]
    #: Per-app limits asked for (memory, cpus, pids, body); missing keys keep the defaults.
    limits: dict[str, Any]
    #: Where a CRUD app keeps its records, when asked (``--database``); None keeps the app's.
    database: str | None
    #: Swarm: how many copies of the app run (``--replicas``); None keeps the app's.
    replicas: int | None
    #: A plan made elsewhere (the chat, a rebuild): the plan node takes it instead of planning.
    given_spec: dict[str, Any] | None
    spec: dict[str, Any]
    slug: str
    version: int
    workspace: str
    files: list[str]
    assets: list[dict[str, Any]]
    test_image: str
    test_summary: str
    image: str
    upstream: str
    host: str
    hosts: list[str]
    url: str
    status: str
    #: The deployed version's home page as headless Chromium saw it ('' when skipped).
    screenshot: str
    screenshot_status: str
    #: The LLM coder's fix loop: the failure it is asked to fix, and how many rounds ran.
    fix_log: str
    fix_rounds: int
    timings: Annotated[dict[str, float], merge]

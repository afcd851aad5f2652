"""Planners turn an app description into an :class:`~appforge.spec.AppSpec`.

A planner is anything with a ``name`` and a ``plan(description)`` method; :func:`get_planner`
picks one by the name in the settings. The blueprint planner reads the description with rules
and needs no network or model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

from appforge.errors import InvalidInput
from appforge.spec import AppSpec

if TYPE_CHECKING:
    from appforge.config import Settings


@runtime_checkable
class Planner(Protocol):
    """Reads a description into a spec; raises InvalidInput for descriptions it cannot plan."""

    name: str

    def plan(self, description: str) -> AppSpec: ...


PLANNERS = ("auto", "blueprint", "llm")
OPENAI_BASE_URL = "https://api.openai.com/v1"


def get_planner(name: str, settings: Settings | None = None) -> Planner:
    """The planner called ``name`` (``auto``: the LLM one when the settings configure an endpoint
    or a model, else the blueprint one); InvalidInput naming the known planners otherwise."""
    if name == "auto":
        name = settings.planner_name if settings is not None else "blueprint"
    if name == "blueprint":
        from appforge.agent.planners.blueprint import BlueprintPlanner

        return BlueprintPlanner()
    if name == "llm":
        from appforge.agent.planners.llm import LLMPlanner

        if settings is None or not settings.llm_model:
            raise InvalidInput("the LLM planner needs a model name",
                               hint="set APPFORGE_LLM_MODEL (and APPFORGE_LLM_BASE_URL for a "
                               "server other than OpenAI's, APPFORGE_LLM_API_KEY or "
                               "OPENAI_API_KEY for its key)")
        return LLMPlanner(settings.llm_base_url or OPENAI_BASE_URL, settings.llm_model,
                          settings.llm_api_key or "not-needed", timeout=settings.llm_timeout,
                          stream=settings.llm_stream, max_tokens=settings.llm_max_tokens_plan,
                          revise_tokens=settings.llm_max_tokens_revise,
                          deadline=settings.llm_plan_deadline, cache_dir=settings.home)
    raise InvalidInput(f"unknown planner {name!r}; available: {', '.join(PLANNERS)}")

"""Planners turn an app description into an :class:`~appforge.spec.AppSpec`.

A planner is anything with a ``name`` and a ``plan(description)`` method; :func:`get_planner`
picks one by the name in the settings. The blueprint planner reads the description with rules
and needs no network or model.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from appforge.errors import InvalidInput
from appforge.spec import AppSpec


@runtime_checkable
class Planner(Protocol):
    """Reads a description into a spec; raises InvalidInput for descriptions it cannot plan."""

    name: str

    def plan(self, description: str) -> AppSpec: ...


PLANNERS = ("blueprint",)


def get_planner(name: str) -> Planner:
    """The planner called ``name``; InvalidInput naming the known planners for any other name."""
    if name == "blueprint":
        from appforge.agent.planners.blueprint import BlueprintPlanner

        return BlueprintPlanner()
    raise InvalidInput(f"unknown planner {name!r}; available: {', '.join(PLANNERS)}")

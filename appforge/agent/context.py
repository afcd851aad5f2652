"""Run-time context of a build: settings and the services the nodes use, made once per run."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from appforge.config import Settings
from appforge.store import Store

if TYPE_CHECKING:
    import docker


@dataclass
class Context:
    settings: Settings
    planner: str = "blueprint"
    _client: Any = field(default=None, repr=False)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.db_path)

    @property
    def docker(self) -> docker.DockerClient:
        if self._client is None:
            from appforge.sandbox.engine import connect

            self._client = connect(self.settings)
        return self._client

"""The runtime restrictions every container appforge starts for generated code gets.

One place, so an app container and a test container can never drift apart. See DESIGN.md's
sandbox section: non-root, read-only root, tmpfs /tmp, no capabilities, no-new-privileges, and
memory, CPU and process limits, and logs capped in size (json-file rotation), so a container that
logs without end cannot fill the disk. Networks, volumes and the restart policy are added by the
caller. Limits default to the settings and can be set per app (:class:`Limits`).
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from appforge.errors import InvalidInput

if TYPE_CHECKING:
    from appforge.config import Settings

APP_USER = "10001:10001"
_MEMORY = re.compile(r"^(\d+)([kmg])?b?$", re.IGNORECASE)
_UNIT = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30}
MIN_MEMORY = 32 * 2**20
MIN_BODY, MAX_BODY = 2**10, 2**30


@dataclass(frozen=True)
class Limits:
    """Memory (Docker's size syntax, e.g. ``256m``), CPUs (fractions allowed), processes, and
    the largest request body the app takes (a size like ``1m``: the proxy answers 413 above it,
    and so does the app itself)."""

    memory: str
    cpus: float
    pids: int
    body: str = "1m"

    @classmethod
    def resolve(cls, settings: Settings, memory: str | None = None, cpus: float | None = None,
                pids: int | None = None, body: str | None = None) -> Limits:
        """The settings' defaults overridden by what is given, checked for sanity."""
        limits = cls(memory=(memory or settings.memory_limit).lower(),
                     cpus=cpus if cpus is not None else settings.cpu_limit,
                     pids=pids if pids is not None else settings.pids_limit,
                     body=(body or settings.max_body).lower())
        limits.check()
        return limits

    @classmethod
    def of_app(cls, settings: Settings, app: Any) -> Limits:
        """An app's limits: what was set for it (an ``AppRecord``), else the defaults."""
        return cls.resolve(settings, app.memory_limit, app.cpu_limit, app.pids_limit,
                           app.body_limit)

    @property
    def body_bytes(self) -> int:
        return size_in_bytes(self.body)

    def check(self) -> None:
        match = _MEMORY.match(self.memory)
        if not match:
            raise InvalidInput(f"invalid memory limit {self.memory!r}: use a size like 256m or 1g")
        if int(match.group(1)) * _UNIT[(match.group(2) or "").lower()] < MIN_MEMORY:
            raise InvalidInput(f"memory limit {self.memory} is below the 32m an app needs")
        if not 0.05 <= self.cpus <= (os.cpu_count() or 1):
            raise InvalidInput(f"CPU limit {self.cpus:g} must be between 0.05 and this "
                               f"machine's {os.cpu_count()} CPUs")
        if not 16 <= self.pids <= 32768:
            raise InvalidInput(f"process limit {self.pids} must be between 16 and 32768")
        if not _MEMORY.match(self.body):
            raise InvalidInput(f"invalid request body limit {self.body!r}: use a size like 1m, "
                               "512k or 50m")
        if not MIN_BODY <= self.body_bytes <= MAX_BODY:
            raise InvalidInput(f"request body limit {self.body} must be between 1k and 1g")


def size_in_bytes(size: str) -> int:
    """``256m`` → 268435456 (Docker's size syntax: k, m, g, an optional b)."""
    match = _MEMORY.match(size)
    if not match:
        raise InvalidInput(f"invalid size {size!r}: use a size like 512k, 1m or 1g")
    return int(match.group(1)) * _UNIT[(match.group(2) or "").lower()]


def log_config(settings: Settings) -> dict[str, Any]:
    """The engine's log settings for every container appforge starts: json-file, rotated.

    At most ``log_max_files`` files of ``log_max_size`` each are kept; older lines are dropped.
    """
    return {"type": "json-file", "config": {"max-size": settings.log_max_size,
                                            "max-file": str(settings.log_max_files)}}


def hardened_run_kwargs(settings: Settings, limits: Limits | None = None) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.run`` that lock a container down."""
    limits = limits or Limits.resolve(settings)
    return {
        "user": APP_USER,
        "read_only": True,
        "tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "mem_limit": limits.memory,
        "memswap_limit": limits.memory,  # no swap beyond the memory limit
        "nano_cpus": int(limits.cpus * 1e9),
        "pids_limit": limits.pids,
        "ipc_mode": "private",
        "init": True,  # reap zombies, forward signals
        "log_config": log_config(settings),
    }

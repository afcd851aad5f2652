"""The runtime restrictions every container appforge starts for generated code gets.

One place, so an app container and a test container can never drift apart. See DESIGN.md's
sandbox section: non-root, read-only root, tmpfs /tmp, no capabilities, no-new-privileges, and
memory, CPU and process limits. Networks, volumes and the restart policy are added by the caller.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from appforge.config import Settings

APP_USER = "10001:10001"


def hardened_run_kwargs(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for ``client.containers.run`` that lock a container down."""
    return {
        "user": APP_USER,
        "read_only": True,
        "tmpfs": {"/tmp": "rw,noexec,nosuid,nodev,size=64m"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges:true"],
        "mem_limit": settings.memory_limit,
        "memswap_limit": settings.memory_limit,  # no swap beyond the memory limit
        "nano_cpus": int(settings.cpu_limit * 1e9),
        "pids_limit": settings.pids_limit,
        "ipc_mode": "private",
        "init": True,  # reap zombies, forward signals
    }

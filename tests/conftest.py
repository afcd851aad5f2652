"""Shared fixtures: an isolated appforge installation (data dir, Docker names, proxy port)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from appforge.config import Settings

# No background supervisor in tests (it would outlive them and bring back what a test removes on
# purpose); the tests of the supervisor turn it on for their own installation.
os.environ["APPFORGE_SUPERVISE"] = "false"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings for a throwaway installation under tmp_path (no Docker needed)."""
    return Settings(home=tmp_path / "home", instance="afunit", http_port=free_port())


def appforge_env(home: Path, instance: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("APPFORGE_")}
    env.update(APPFORGE_HOME=str(home), APPFORGE_INSTANCE=instance,
               APPFORGE_HTTP_PORT=str(port), APPFORGE_SUPERVISE="false")
    return env

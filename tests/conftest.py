"""Shared fixtures: an isolated appforge installation (data dir, Docker names, proxy port)."""

from __future__ import annotations

import os
import socket
import tempfile
from importlib.util import find_spec
from pathlib import Path

import pytest

from appforge.config import Settings

# No background supervisor in tests (it would outlive them and bring back what a test removes on
# purpose); the tests of the supervisor turn it on for their own installation.
os.environ["APPFORGE_SUPERVISE"] = "false"


#: For the test files of the diffusers backends. find_spec, not importorskip: importing
#: diffusers costs about 3 s of CPU, which every test worker would pay only to collect such a file.
needs_diffusers = pytest.mark.skipif(
    find_spec("diffusers") is None or find_spec("transformers") is None,
    reason="diffusers and transformers are not installed")


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
               APPFORGE_HTTP_PORT=str(port), APPFORGE_SUPERVISE="false",
               # One wheelhouse for every test installation (and run): each would fetch the
               # same wheels again (about 4 s each). One test cache too: many modules build the
               # same app, and an image whose content passed its tests is not tested again.
               APPFORGE_WHEELHOUSE_DIR=str(Path(tempfile.gettempdir()) / "appforge-test-wheels"),
               APPFORGE_TEST_CACHE_DIR=str(Path(tempfile.gettempdir()) / "appforge-test-passed"),
               # Screenshots (Chromium in a container, seconds of CPU per build) are off except
               # in the tests about them, which turn them on.
               APPFORGE_SCREENSHOTS="false")
    return env


#: The slowest integration files, slowest first (seconds of machine CPU, each file alone on the
#: 2-core machine, 2026-11-30: swarm 181, the LLM coder 122, faults 111, lifecycle 108, contract
#: 61, dashboard 51, backups 47, postgres 40, chat 38 ...). The workers take files in collection
#: order (``--dist loadfile --no-loadscope-reorder``; without it pytest-xdist sorts the files by
#: their number of tests): starting the longest first keeps one worker from running a long file
#: alone at the end.
SLOW_FIRST = ("test_swarm.py", "test_build_llm_coder.py", "test_lifecycle.py", "test_faults.py",
              "test_api_contract.py", "test_dashboard.py", "test_backups.py", "test_postgres.py",
              "test_chat.py", "test_export.py", "test_mcp.py", "test_self_healing.py",
              "test_screenshot.py", "test_build_e2e.py", "test_full_disk.py",
              "test_crash_repair.py", "test_build_diffusers.py", "test_hostile_clients.py",
              "test_acme_pebble.py", "test_isolation.py", "test_build_llm.py", "test_tls.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Unit tests first (the images are made meanwhile), then the slowest integration files."""
    def rank(item: pytest.Item) -> tuple[int, int]:
        path = item.path
        if path.parent.name != "integration":
            return (0, 0)
        if path.name in SLOW_FIRST:
            return (1, SLOW_FIRST.index(path.name))
        return (2, 0)

    items.sort(key=rank)  # stable: the order within each file is kept

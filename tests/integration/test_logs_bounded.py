"""Container logs are bounded: an app that prints without end cannot fill the host's disk.

A container started with appforge's hardened settings prints 200 MiB to stdout as fast as it can;
the engine keeps only ``log_max_files`` files of ``log_max_size`` each.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import hardened_run_kwargs
from tests.integration.conftest import Installation

pytestmark = pytest.mark.docker

MIB = 2**20
PRINTED_MIB = 200
#: A json-file log rotates before the message that would take it over max-size, and docker cuts
#: lines into 16 KiB messages, so a file can pass max-size by one message and its JSON wrapping.
MARGIN_PER_FILE = 64 * 1024

FLOOD = f"""
import sys
line = b"x" * ({MIB} - 1) + b"\\n"
for _ in range({PRINTED_MIB}):
    sys.stdout.buffer.write(line)
sys.stdout.flush()
print("wrote", {PRINTED_MIB * MIB}, "bytes", file=sys.stderr)
"""


def _log_files(container: Any) -> list[Path]:
    """The engine's log file of ``container`` and its rotated siblings (``.1``, ``.2`` ...)."""
    path = Path(container.attrs["LogPath"])
    if not os.access(path.parent, os.R_OK | os.X_OK):
        pytest.skip(f"the engine's log folder {path.parent} is not readable by this user "
                    "(CI runs as root)")
    return sorted(p for p in path.parent.iterdir() if p.name.startswith(path.name))


def test_a_container_printing_200_mib_keeps_at_most_its_log_cap_on_disk(
        installation: Installation, docker_client: Any) -> None:
    settings = installation.settings.model_copy(update={"log_max_size": "1m",
                                                        "log_max_files": 3})
    container = docker_client.containers.run(
        settings.python_base_image, ["python3", "-c", FLOOD], detach=True,
        network_mode="none", labels={LABEL: "test", f"{LABEL}.instance": settings.instance},
        **hardened_run_kwargs(settings))
    try:
        assert container.wait(timeout=600)["StatusCode"] == 0
        container.reload()
        files = _log_files(container)
        on_disk = sum(p.stat().st_size for p in files)
        # stderr alone: the engine copies the two streams apart, so it may log this line before
        # the last lines printed to stdout
        said = container.logs(stdout=False, stderr=True).decode().strip()
    finally:
        container.remove(force=True)
    assert said == f"wrote {PRINTED_MIB * MIB} bytes"  # all of it went through the engine
    assert 1 < len(files) <= 3, files
    assert on_disk <= 3 * (MIB + MARGIN_PER_FILE), f"{on_disk} bytes of logs kept"
    print(f"\nprinted {PRINTED_MIB * MIB} bytes; {on_disk} bytes of logs on disk in "
          f"{len(files)} files")

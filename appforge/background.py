"""appforge's own work in a detached process: what must outlive the command that asked for it.

Making a new machine's images and photographing a deployed version take longer than anyone should
wait for, and a build that returns (or fails early, or is interrupted) must not cut them short.
Each is ``python -m <module>`` in its own session, its output in a log file. The settings travel
on its standard input, not in its arguments (any user can read those), and without the secrets
that work has no use for.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from appforge.config import Settings

#: Settings a background process never needs.
SECRETS = {"llm_api_key", "cloudflare_api_token", "serve_token"}


def start(module: str, args: list[str], settings: Settings, log_file: Path,
          started: Callable[[int], None] | None = None) -> int:
    """Start ``python -m module args...`` detached; return its process id. ``started`` is told
    the id before the settings are sent, that is before the process can do anything."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module, *args], stdin=subprocess.PIPE, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True)  # a Ctrl-C does not reach it
    if started:
        started(proc.pid)
    assert proc.stdin is not None
    proc.stdin.write(settings.model_dump_json(exclude=SECRETS).encode())
    proc.stdin.close()
    return proc.pid


def settings_from_stdin() -> Settings:
    """In the background process: the settings its starter sent."""
    from appforge.config import Settings

    return Settings.model_validate_json(sys.stdin.read())


def log(message: str) -> None:
    """In the background process: a timestamped line of its log."""
    print(time.strftime("%H:%M:%S"), message, flush=True)

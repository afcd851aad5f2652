"""The screenshot of a deployed version, taken after the build has returned.

Chromium needs a few seconds (and, on a new machine, its image half a minute more), and nobody
waits for a picture before using an app. So once a version is live the build starts this module
as a detached process and returns; the process photographs the version's home page and records
the picture on the version, where the dashboard shows it when it arrives. Until then
:func:`screenshot_state` says it is pending; a failure only loses the picture, and says why.

The state lives beside the picture in the version's ``.appforge/`` folder: ``screenshot.png``
when taken, ``screenshot.pending`` (the process id) while being taken, ``screenshot.skipped``
(the reason) when it could not be.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge import background

if TYPE_CHECKING:
    from appforge.config import Settings

Log = Callable[[str], None]


def _files(workspace: Path) -> tuple[Path, Path, Path]:
    meta = workspace / ".appforge"
    return meta / "screenshot.png", meta / "screenshot.pending", meta / "screenshot.skipped"


def start_screenshot(settings: Settings, slug: str, version: int, workspace: Path) -> str:
    """Start photographing ``slug`` v``version`` in the background; return its state."""
    if not settings.screenshots:
        return "off"
    _, pending, skipped = _files(workspace)
    pending.parent.mkdir(parents=True, exist_ok=True)
    skipped.unlink(missing_ok=True)
    background.start("appforge.tools.screenshot", [slug, str(version), str(workspace)],
                     settings, settings.home / "logs" / f"screenshot-{slug}-v{version}.log",
                     started=lambda pid: pending.write_text(str(pid)))
    return "pending"


def take_and_record(settings: Settings, slug: str, version: int, workspace: Path,
                    log: Log) -> Path | None:
    """Photograph the version's own container and record the picture on it (or why not)."""
    from docker.errors import DockerException

    from appforge.errors import AppforgeError
    from appforge.sandbox.browser import take_screenshot
    from appforge.engines import engine_for
    from appforge.sandbox.engine import connect
    from appforge.store import Store

    out, pending, skipped = _files(workspace)
    store = Store(settings.db_path)
    try:
        # The version's own address, not the app's alias: the picture is of this version.
        client = connect(settings)
        target = engine_for(settings, client).address(slug, version)
        path = take_screenshot(client, settings, slug, version, target, out, log)
    except (AppforgeError, DockerException, OSError) as exc:
        log(f"screenshot skipped: {exc}")
        skipped.write_text(str(exc))
        store.add_event(slug, "screenshot", f"v{version}: screenshot skipped: {exc}")
        pending.unlink(missing_ok=True)
        return None
    # Recorded before the pending mark goes: whoever looks in between sees it pending, then
    # taken, never neither.
    store.update_version(slug, version, screenshot=str(path))
    pending.unlink(missing_ok=True)
    return path


def screenshot_state(workspace: str | Path, recorded: str) -> dict[str, Any]:
    """``{"status": taken | pending | skipped | none, "path", "reason"}`` of a version."""
    out, pending, skipped = _files(Path(workspace))
    if recorded and Path(recorded).exists():
        return {"status": "taken", "path": recorded, "reason": ""}
    if pending.exists() and _alive(pending.read_text().strip()):
        return {"status": "pending", "path": str(out), "reason": ""}
    if skipped.exists():
        return {"status": "skipped", "path": "", "reason": skipped.read_text().strip()}
    return {"status": "none", "path": "", "reason": ""}


def _alive(pid: str) -> bool:
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    # A finished child that nobody reaped is a zombie: not alive for this purpose.
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ", 1)[1][:1] != "Z"
    except (OSError, IndexError):
        return True


def _main(argv: list[str]) -> int:
    slug, version, workspace = argv[0], int(argv[1]), Path(argv[2])
    settings = background.settings_from_stdin()
    return 0 if take_and_record(settings, slug, version, workspace, background.log) else 1


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))

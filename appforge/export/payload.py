"""What an export carries beside its history: the images (``docker save``) and the app's data.

Images go to ``images/<name>.tar``, one per image, written under a temporary name and renamed
when complete. The data is a snapshot made the way ``appforge backup`` makes one, straight into
``snapshot/``: a Postgres app's database with ``pg_dump`` (``backups/postgres.py``), then the
data volume through the backup helper container (``backups/helper.py``: SQLite's online backup
API, never a file copy of a live database), with its manifest. A copy of the helper and a
``load.sh`` that runs it go beside the files, so the snapshot loads where appforge is not.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.config import Settings
from appforge.errors import BackupFailed, InvalidInput
from appforge.export.readme import load_script

if TYPE_CHECKING:
    import docker

Log = Callable[[str], None]


def save_images(client: docker.DockerClient, images: list[str], folder: Path,
                log: Log) -> list[Path]:
    """``docker save`` each image (by tag, so ``docker load`` names it again) into ``folder``."""
    from docker.errors import ImageNotFound

    folder.mkdir(exist_ok=True)
    written = []
    for tag in images:
        try:
            image = client.images.get(tag)
        except ImageNotFound:
            raise InvalidInput(f"the image {tag} is not on this machine any more, so it cannot "
                               "be saved", hint="build the app again, or export without "
                               "--image (the export's compose file can build it)") from None
        target = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "-", tag).strip("-") + ".tar")
        partial = target.with_name(target.name + ".partial")
        start = time.monotonic()
        with partial.open("wb") as out:
            for chunk in image.save(named=tag):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        partial.rename(target)
        log(f"saved {tag} to {target.name} ({target.stat().st_size / 2**20:.1f} MiB in "
            f"{time.monotonic() - start:.1f} s)")
        written.append(target)
    return written


def save_data(client: docker.DockerClient, settings: Settings, slug: str, version: int | None,
              folder: Path, log: Log) -> dict[str, Any]:
    """A consistent snapshot of the app's data in ``folder`` (made here); return its manifest."""
    import json

    from appforge.backups import catalog, postgres
    from appforge.backups.helper import MANIFEST
    from appforge.backups.snapshot import HELPER, run_helper, volume_exists
    from appforge.sandbox import postgres as server
    from appforge.sandbox.containers import volume_name

    if not volume_exists(client, settings, slug):
        raise InvalidInput(f"{slug} has no data yet (it was never deployed)",
                           hint="export it without --data")
    folder.mkdir(mode=0o755)
    backup_id = "export-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    meta = {"id": backup_id, "slug": slug, "version": version, "reason": "export",
            "created_at": time.time(), "volume": volume_name(settings, slug)}
    dump = postgres.dump_into(client, settings, slug, folder, log)
    umask = catalog.open_to_helper(folder)
    report = run_helper(client, settings, slug, "snapshot", backup_id, folder,
                        {"meta": meta, "umask": umask})
    if not report.get("ok"):
        raise BackupFailed(f"the copy of {slug}'s data failed: {report.get('message', '')}",
                           detail=report.get("output") or None)
    if dump is not None:
        postgres.add_to_manifest(folder, dump)
    # Readable by the app's user, which loads it (as root the folder is already that user's).
    if os.geteuid() != 0:
        folder.chmod(0o755)
    (folder / "helper.py").write_text(HELPER.read_text())
    (folder / "load.sh").write_text(load_script(server.BIN, server.SOCKET_DIR, server.DB_NAME))
    (folder / "load.sh").chmod(0o755)
    manifest: dict[str, Any] = json.loads((folder / MANIFEST).read_text())
    log(f"copied {slug}'s data: {len(manifest['files'])} file(s)"
        + (", a Postgres dump" if dump else "") + f", {manifest['size']} bytes")
    return manifest

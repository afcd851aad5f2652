"""The Postgres part of a snapshot: ``pg_dump`` of an app's database, and ``pg_restore`` back.

An app planned with ``--database postgres`` keeps its records in its own server
(``sandbox/postgres.py``), not in its data volume, so copying the volume alone would skip them.
A snapshot of such an app also holds ``postgres.dump``: ``pg_dump --format=custom`` run inside
the app's Postgres container as the superuser, which reads the whole database in one
transaction (a consistent state while the app keeps writing), streamed to the host. The dump is
taken before the volume is copied, so an uploaded file a record points at is in the snapshot
(unless the record's file was deleted in between). The manifest records its size and SHA-256.

A restore checks the dump before anything is touched, copies it into the server's volume and
runs ``pg_restore --clean --if-exists --single-transaction``: the running app sees the old
records or the restored ones, never a mix, and needs no restart. A server that is stopped (the
app is stopped) is started for the dump or the restore and stopped again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appforge.backups.catalog import MANIFEST, Log
from appforge.config import Settings
from appforge.errors import BackupFailed
from appforge.sandbox import postgres

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

DUMP = "postgres.dump"
#: Where a dump to restore is put: in the server's volume (the root filesystem is read-only, and
#: the tmpfs /tmp is small).
RESTORE_PATH = f"{postgres.MOUNT}/restore.dump"


def dump_into(client: docker.DockerClient, settings: Settings, slug: str, folder: Path,
              log: Log) -> dict[str, Any] | None:
    """Write the app's database to ``folder/postgres.dump``; return its manifest entry, or None
    for an app without a Postgres server."""
    if not postgres.has_data(client, settings, slug):
        return None
    target = folder / DUMP
    with _running(client, settings, slug, log) as container:
        exec_id = client.api.exec_create(
            container.id, [f"{postgres.BIN}/pg_dump", "-h", postgres.SOCKET_DIR, "-U",
                           "postgres", "--format=custom", postgres.DB_NAME],
            user="postgres")["Id"]
        digest, size, errors = hashlib.sha256(), 0, b""
        try:
            with target.open("xb") as out:
                for stdout, stderr in client.api.exec_start(exec_id, stream=True, demux=True):
                    if stdout:
                        out.write(stdout)
                        digest.update(stdout)
                        size += len(stdout)
                    errors += stderr or b""
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            target.unlink(missing_ok=True)
            raise
        code = client.api.exec_inspect(exec_id)["ExitCode"]
    if code != 0:
        target.unlink(missing_ok=True)
        raise BackupFailed(f"pg_dump of {slug}'s database failed (exit {code}). Nothing was "
                           "changed", detail=errors.decode(errors="replace")[-2000:] or None)
    log(f"dumped {slug}'s Postgres database ({size} bytes)")
    return {"path": DUMP, "kind": "pg_dump", "size": size, "sha256": digest.hexdigest()}


def add_to_manifest(folder: Path, entry: dict[str, Any]) -> None:
    """Record the dump in the snapshot's manifest (written by the helper), atomically."""
    manifest = json.loads((folder / MANIFEST).read_text())
    manifest["postgres"] = entry
    manifest["size"] = int(manifest["size"]) + entry["size"]
    temp = folder / (MANIFEST + ".tmp")
    temp.write_text(json.dumps(manifest, indent=1))
    with temp.open("rb") as fh:
        os.fsync(fh.fileno())
    temp.rename(folder / MANIFEST)


def entry_of(folder: Path) -> dict[str, Any] | None:
    """The dump a snapshot holds, checked against its manifest; None when it has none."""
    entry = json.loads((folder / MANIFEST).read_text()).get("postgres")
    if entry is None:
        return None
    path = folder / entry["path"]
    digest = hashlib.sha256()
    try:
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    except OSError:
        raise BackupFailed(f"snapshot {folder.name} is damaged: its {DUMP} is missing. Nothing "
                           "was restored", hint="choose another snapshot") from None
    if digest.hexdigest() != entry["sha256"]:
        raise BackupFailed(f"snapshot {folder.name} is damaged: its {DUMP} does not match its "
                           "checksum. Nothing was restored", hint="choose another snapshot")
    return entry


def restore_from(client: docker.DockerClient, settings: Settings, slug: str, folder: Path,
                 entry: dict[str, Any], log: Log) -> None:
    """Make the app's database what ``folder``'s dump holds, in one transaction."""
    with _running(client, settings, slug, log) as container:
        _put(container, folder / entry["path"])
        try:
            result = container.exec_run(
                [f"{postgres.BIN}/pg_restore", "-h", postgres.SOCKET_DIR, "-U", "postgres",
                 "-d", postgres.DB_NAME, "--clean", "--if-exists", "--single-transaction",
                 "--exit-on-error", RESTORE_PATH], user="postgres")
        finally:
            container.exec_run(["rm", "-f", RESTORE_PATH], user="postgres")
    if result.exit_code != 0:
        raise BackupFailed(f"pg_restore into {slug}'s database failed (exit {result.exit_code});"
                           " its records are as they were (one transaction)",
                           detail=result.output.decode(errors="replace")[-2000:])
    log(f"restored {slug}'s Postgres database from {folder.name}")


def _put(container: Container, dump: Path) -> None:
    """Copy ``dump`` into the server's volume (as a tar stream from a temporary file: a dump
    can be larger than this process should hold in memory)."""
    with tempfile.TemporaryFile() as archive:
        with tarfile.open(fileobj=archive, mode="w") as tar:
            tar.add(str(dump), arcname=Path(RESTORE_PATH).name)
        archive.seek(0)
        container.put_archive(postgres.MOUNT, archive)


@contextmanager
def _running(client: docker.DockerClient, settings: Settings, slug: str,
             log: Log) -> Iterator[Container]:
    """The app's server, started (and stopped again after) if it was not running."""
    container = postgres.server(client, settings, slug)
    was_running = container is not None and container.status == "running"
    if not was_running:
        log(f"starting {slug}'s Postgres server for the backup")
        postgres.ensure_server(client, settings, slug, log)
        container = postgres.server(client, settings, slug)
    assert container is not None
    postgres.wait_ready(container)
    try:
        yield container
    finally:
        if not was_running and settings.engine != "swarm":  # a service runs always
            container.stop(timeout=20)

"""Export an app so it lives on without appforge: a git repository, its images, its data.

``export_app(settings, slug, folder)`` writes into an empty (or new) folder outside appforge's
data dir a git repository with one commit per built version (``history``), each with the
version's source, Dockerfile and requirements, a ``compose.yaml`` that runs it with appforge's
hardening (``compose``) and a README that says how (``readme``); the last commit is the live
version. ``image`` adds ``images/*.tar`` (``docker save``), ``data`` a consistent snapshot of the
app's data in ``snapshot/`` with its loader (``payload``): both beside the history, ignored by
git. ``archive`` is the same repository as a tar.gz, for the dashboard's download. Only the
image and the data need the Docker engine.
"""

from __future__ import annotations

import json
import secrets
import shutil
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appforge.config import Settings
from appforge.errors import InvalidInput
from appforge.export import compose, history, payload
from appforge.export.readme import DATA_DIR, DOCKERIGNORE, GITIGNORE, IMAGES_DIR, readme
from appforge.sandbox.hardening import Limits
from appforge.store import AppRecord, Store, VersionRecord

Log = Callable[[str], None]
#: Versions with an image that passed its tests: those a rollback could deploy.
BUILT = ("running", "retired", "deployed", "packaged")
PLAN_FILE = "appforge-plan.json"


@dataclass
class Exported:
    """What an export wrote (``as_json`` for ``--json``)."""

    slug: str
    folder: Path
    live_version: int
    versions: list[int]
    commits: list[str]
    skipped: list[str] = field(default_factory=list)
    images: list[Path] = field(default_factory=list)
    data: dict[str, Any] | None = None
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {"slug": self.slug, "folder": str(self.folder), "live_version": self.live_version,
                "versions": self.versions, "commits": self.commits, "skipped": self.skipped,
                "compose": str(self.folder / "compose.yaml"),
                "images": [str(p) for p in self.images],
                "data": None if self.data is None else {
                    "folder": str(self.folder / DATA_DIR), "files": len(self.data["files"]),
                    "size": self.data["size"], "postgres": "postgres" in self.data},
                "seconds": round(self.seconds, 2)}


def check_folder(settings: Settings, folder: Path) -> Path:
    """The absolute folder to export into; refuses a file, a folder with anything in it and
    any place inside appforge's data dir (the apps' workspaces, backups, store)."""
    target = folder.expanduser().resolve()
    home = settings.home.expanduser().resolve()
    if target == home or home in target.parents:
        where = "the apps' workspaces" if settings.workspaces.resolve() in (target,
                                                                           *target.parents) \
            else "appforge's data dir"
        raise InvalidInput(f"refusing to export into {target}: it is inside {where} ({home})",
                           hint="choose a folder outside it, e.g. ~/exports/SLUG")
    if target.exists() and not target.is_dir():
        raise InvalidInput(f"refusing to export into {target}: it is a file, not a folder",
                           hint="name a new or empty folder")
    if target.is_dir() and any(target.iterdir()):
        raise InvalidInput(f"refusing to export into {target}: the folder is not empty",
                           hint="name a new or empty folder (nothing in it is overwritten)")
    return target


def target_of(settings: Settings, app: AppRecord, record: VersionRecord) -> compose.Target:
    """What a version's compose file runs: its image, the limits it ran with, its health check."""
    wanted = record.settings
    limits = Limits.resolve(settings, **wanted["limits"]) if "limits" in wanted \
        else Limits.of_app(settings, app)
    dockerfile = Path(record.workspace) / "Dockerfile"
    check = compose.healthcheck_of(dockerfile.read_text()) if dockerfile.is_file() else None
    return compose.Target(slug=app.slug, title=record.spec.get("title") or app.title,
                          version=record.version, image=record.image, limits=limits,
                          healthcheck=check, postgres=record.spec.get("database") == "postgres")


def plan_commits(settings: Settings, store: Store,
                 slug: str) -> tuple[list[history.Commit], compose.Target, list[str]]:
    """The commits of an app's history, the live version's target, and what was left out."""
    app = store.get_app(slug)
    records = store.list_versions(slug)
    built = [v for v in records if v.image and v.status in BUILT and Path(v.workspace).is_dir()]
    skipped = [f"v{v.version} ({v.status if v.status not in BUILT else 'workspace missing'})"
               for v in records if v not in built]
    if not built:
        raise InvalidInput(f"{slug} has no built version to export",
                           hint=f"`appforge show {slug}` lists its versions")
    numbers = [v.version for v in built]
    live = app.current_version if app.current_version in numbers else numbers[-1]
    commits, previous = [], None
    for record in built:
        commits.append(_commit(settings, app, record, previous, numbers, tag=f"v{record.version}"))
        previous = record
    live_record = next(v for v in built if v.version == live)
    if live != numbers[-1]:
        again = _commit(settings, app, live_record, None, numbers, tag=None)
        deployed = [d["at"] for d in store.deployments(slug)
                    if d["version"] == live and d["result"] == "serving"]
        commits.append(history.Commit(
            version=live, workspace=again.workspace, added=again.added,
            message=history.rollback_message(live, numbers[-1], live_record.spec.get(
                "title") or app.title),
            when=max(deployed, default=time.time())))
    return commits, target_of(settings, app, live_record), skipped


def _commit(settings: Settings, app: AppRecord, record: VersionRecord,
            previous: VersionRecord | None, numbers: list[int],
            tag: str | None) -> history.Commit:
    target = target_of(settings, app, record)
    workspace = Path(record.workspace)
    own = workspace / "README.md"
    ignore = workspace / ".dockerignore"
    added = {"compose.yaml": compose.render(settings, target),
             # `docker compose build` would send the saved images and the data otherwise.
             ".dockerignore": (ignore.read_text() if ignore.is_file() else "") + DOCKERIGNORE,
             "README.md": readme(target, numbers, own.read_text() if own.is_file() else ""),
             ".gitignore": GITIGNORE,
             PLAN_FILE: json.dumps(record.spec, indent=2, sort_keys=True) + "\n"}
    message = history.commit_message(
        record.version, target.title, record.description, _plan_changes(previous, record),
        record.test_summary, record.status, record.settings)
    return history.Commit(version=record.version, workspace=workspace, message=message,
                          when=record.created_at, added=added, tag=tag)


def _plan_changes(previous: VersionRecord | None, record: VersionRecord) -> list[str] | None:
    """What the plan changed since the previous built version (None for the first)."""
    if previous is None:
        return None
    from pydantic import ValidationError

    from appforge.chat.changes import spec_changes
    from appforge.spec import AppSpec

    try:
        return spec_changes(AppSpec.model_validate(previous.spec),
                            AppSpec.model_validate(record.spec))
    except ValidationError:
        return ["(a plan appforge can no longer read; compare appforge-plan.json)"]


def export_app(settings: Settings, slug: str, folder: Path, log: Log, image: bool = False,
               data: bool = False) -> Exported:
    """Write the export of ``slug`` into ``folder`` (see the module's docstring)."""
    start = time.monotonic()
    store = Store(settings.db_path)
    store.get_app(slug)  # an unknown app before anything is made
    target_folder = check_folder(settings, folder)
    commits, target, skipped = plan_commits(settings, store, slug)
    made = not target_folder.exists()
    target_folder.mkdir(parents=True, exist_ok=True)
    try:
        ids = history.write(target_folder, commits, log)
        done = Exported(slug=slug, folder=target_folder, live_version=target.version,
                        versions=[c.version for c in commits if c.tag], commits=ids,
                        skipped=skipped)
        if target.postgres:
            env = target_folder / ".env"
            env.write_text(f"DB_PASSWORD={secrets.token_hex(24)}\n")
            env.chmod(0o600)
        if image or data:
            from appforge.sandbox.engine import connect

            client = connect(settings)
            if image:
                tags = [target.image]
                if target.postgres:
                    from appforge.sandbox.base_images import POSTGRES_IMAGE

                    tags.append(POSTGRES_IMAGE)
                done.images = payload.save_images(client, tags, target_folder / IMAGES_DIR, log)
            if data:
                done.data = payload.save_data(client, settings, slug, target.version,
                                              target_folder / DATA_DIR, log)
    except BaseException:
        _undo(target_folder, made)
        raise
    done.seconds = time.monotonic() - start
    store.add_event(slug, "export", f"exported v{target.version} to {target_folder}")
    return done


def _undo(folder: Path, made: bool) -> None:
    """Leave the folder as it was found: gone if the export made it, else empty."""
    if made:
        shutil.rmtree(folder, ignore_errors=True)
        return
    for entry in folder.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


def archive(settings: Settings, slug: str, into: Path) -> Path:
    """The export's repository (history, compose file, README; no images, no data) as
    ``into/<slug>.tar.gz``, its files under ``<slug>/``."""
    with tempfile.TemporaryDirectory(prefix="appforge-export-") as temp:
        repo = Path(temp) / slug
        export_app(settings, slug, repo, lambda _m: None)
        target = into / f"{slug}.tar.gz"
        with tarfile.open(target, "w:gz") as tar:
            tar.add(str(repo), arcname=slug)
    return target


__all__ = ["Exported", "archive", "check_folder", "export_app", "plan_commits"]

"""Base images: pulled where a registry answers, otherwise bootstrapped from Debian's packages.

Bootstrapping runs ``debootstrap --variant=minbase`` into a temporary folder and imports the tree
with ``docker import``; it takes about a minute once per machine, after which the image is found
by its tag. The Debian mirror comes from this machine's apt sources (or the settings), never from
code, so the same code works behind any mirror.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import BaseImageError
from appforge.store.locks import file_lock

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
#: Told how far an image is: (steps done, steps expected, what is being done now).
Progress = Callable[[int, int, str], None]

PYTHON_PACKAGES = ("python3", "python3-venv")
#: busybox-static: one static binary, whose ``wget`` is the proxy's health check (the image has
#: no /bin/sh; busybox is only ever run as ``busybox wget``).
PROXY_PACKAGES = ("caddy", "ca-certificates", "busybox-static")
#: The proxy's packages when it is assembled without a whole Debian (see ``sandbox/debs.py``).
PROXY_DEBS = ("caddy", "libc6", "libgcc-s1", "libzstd1", "ca-certificates", "media-types",
              "busybox-static")
#: Debian's PostgreSQL 15 server (and its client programs: psql, pg_dump, pg_restore), for the
#: apps planned with a Postgres database (see ``sandbox/postgres.py``).
POSTGRES_PACKAGES = ("postgresql-15",)
POSTGRES_IMAGE = "appforge/postgres:15-bookworm"
#: Registry image tried for the proxy before bootstrapping.
PROXY_PULL_REF = "caddy:2"
APT_SOURCES = (Path("/etc/apt/sources.list"), Path("/etc/apt/sources.list.d"))
#: Trimmed from a bootstrapped tree: docs and caches nobody reads inside a container.
_PRUNE = ("usr/share/doc", "usr/share/man", "usr/share/info", "var/cache/apt", "var/lib/apt/lists")


def ensure_python_base(client: docker.DockerClient, settings: Settings, log: Log,
                       progress: Progress | None = None) -> str:
    """Make sure the Python base image exists; return its tag."""
    return _ensure(client, settings, settings.python_base_image, settings.python_pull_ref,
                   PYTHON_PACKAGES, log, progress)


def ensure_proxy_image(client: docker.DockerClient, settings: Settings, log: Log,
                       progress: Progress | None = None) -> str:
    """Make sure the Caddy proxy image exists; return its tag. Without a registry it is
    assembled from Caddy's package and the few it links (seconds), or else bootstrapped."""
    return _ensure(client, settings, settings.proxy_image, PROXY_PULL_REF, PROXY_PACKAGES, log,
                   progress, assemble_from=PROXY_DEBS)


def ensure_postgres_image(client: docker.DockerClient, settings: Settings, log: Log,
                          progress: Progress | None = None) -> str:
    """Make sure the Postgres server image exists; return its tag. Always made from Debian's
    packages (never pulled), on the Python base: the server runs as Debian's ``postgres`` user
    with Debian's build. The cluster Debian's package makes on install goes: appforge's Postgres
    (``sandbox/postgres.py``) makes its own in a volume, which would otherwise start as a copy
    of it."""
    from appforge.sandbox.apt_images import ensure_apt_image

    def failed(tag: str, mirror: str, reason: str) -> BaseImageError:
        return BaseImageError(f"cannot make the Postgres image {tag}: {reason}",
                              hint=f"it is built once per machine with packages from {mirror}: "
                              "let docker build reach it or set APPFORGE_DEBIAN_MIRROR")

    return ensure_apt_image(client, settings, POSTGRES_IMAGE, POSTGRES_PACKAGES, "postgres",
                            log, progress, failed, then="rm -rf /var/lib/postgresql/15/main")


def image_lock(tag: str) -> AbstractContextManager[bool]:
    """The lock held while ``tag`` is being made: one maker per image on this machine, whichever
    installation (data dir) asks, while different images are made at the same time."""
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", tag)
    return file_lock(Path(tempfile.gettempdir()) / f"appforge-images-{os.geteuid()}" /
                     f"{name}.lock")


def image_exists(client: docker.DockerClient, tag: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client.images.get(tag)
    except ImageNotFound:
        return False
    return True


def _ensure(client: docker.DockerClient, settings: Settings, tag: str, pull_ref: str,
            packages: tuple[str, ...], log: Log, progress: Progress | None,
            assemble_from: tuple[str, ...] = ()) -> str:
    from appforge.sandbox.debs import CannotAssemble, assemble

    if image_exists(client, tag):
        return tag
    with image_lock(tag):
        if image_exists(client, tag):  # another build (or `appforge setup`) made it meanwhile
            return tag
        if pull_ref and settings.pull_base and _try_pull(client, pull_ref, tag, log):
            return tag
        if assemble_from:
            try:
                assemble(client, settings, tag, assemble_from, log,
                         progress or (lambda _d, _t, _n: None))
                return tag
            except CannotAssemble as exc:
                log(f"cannot assemble {tag} from packages ({exc}); bootstrapping a whole Debian")
        bootstrap(client, settings, tag, packages, log, progress)
    return tag


def _try_pull(client: docker.DockerClient, ref: str, tag: str, log: Log) -> bool:
    from docker.errors import DockerException

    repo, _, version = ref.partition(":")
    try:
        image = client.images.pull(repo, tag=version or "latest")
    except DockerException as exc:
        log(f"no registry answered for {ref} ({_first_line(exc)}); making it from Debian "
            "packages")
        return False
    repo_out, _, tag_out = tag.partition(":")
    image.tag(repo_out, tag_out or "latest")
    log(f"pulled {ref} as {tag}")
    return True


def bootstrap(client: docker.DockerClient, settings: Settings, tag: str,
              packages: tuple[str, ...], log: Log, progress: Progress | None = None) -> None:
    """Build ``tag`` from Debian packages with debootstrap and docker import."""
    debootstrap = shutil.which("debootstrap")
    if not debootstrap:
        raise BaseImageError(
            f"cannot make base image {tag}: no registry answered and debootstrap is not installed",
            hint="install it with `sudo apt-get install -y debootstrap` (it needs root)",
        )
    mirror = settings.debian_mirror or debian_mirror_from_apt(settings.debian_suite)
    log(f"bootstrapping {tag} from {mirror} ({settings.debian_suite}, {', '.join(packages)}); "
        "this happens once per machine")
    with tempfile.TemporaryDirectory(prefix="appforge-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = [debootstrap, "--variant=minbase", f"--include={','.join(packages)}",
               settings.debian_suite, str(root), mirror]
        code, output = _run_debootstrap(cmd, log, progress or (lambda _d, _t, _n: None))
        if code != 0:
            raise BaseImageError(f"debootstrap failed for {tag} (exit {code})",
                                 detail="\n".join(output[-20:]),
                                 hint="debootstrap needs root and the Debian mirror")
        for rel in _PRUNE:
            shutil.rmtree(root / rel, ignore_errors=True)
        if progress:
            progress(*_IMPORT_STEP, "docker import")
        _import(client, root, tag)
    log(f"made base image {tag}")


#: debootstrap's milestones, logged as lines (the hundreds of per-package lines are not).
_PHASES = re.compile(r"^I: (Retrieving Release|Resolving dependencies|Unpacking the base system|"
                     r"Configuring the base system|Base system installed)")
#: The per-package lines: each package is retrieved, validated, (extracted,) unpacked and
#: configured, so progress is these lines over five per package retrieved.
_STEP = re.compile(r"^I: (Retrieving|Validating|Extracting|Unpacking|Configuring) ([a-z0-9][^ ]*)")
#: A bootstrap of a minbase with a few packages retrieves about a hundred packages: the estimate
#: used until the retrieval is over and the real count is known.
_EXPECTED_PACKAGES = 100
#: (done, total) reported while the tree is imported into the engine.
_IMPORT_STEP = (99, 100)


def _run_debootstrap(cmd: list[str], log: Log, progress: Progress) -> tuple[int, list[str]]:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    output = []
    retrieved, steps, downloading = 0, 0, True
    for line in proc.stdout:
        output.append(line.rstrip())
        if _PHASES.match(line):
            log(f"debootstrap: {line[3:].strip()}")
        step = _STEP.match(line)
        if step is None or step.group(2) in ("InRelease", "Release", "Packages"):
            continue
        verb, package = step.group(1), step.group(2).strip().rstrip(".")
        # Packages are retrieved and validated one after the other; the first extraction
        # ends the download, and ``retrieved`` is then the real count.
        if verb == "Retrieving":
            retrieved += 1
        elif verb in ("Extracting", "Unpacking", "Configuring"):
            downloading = False
        steps += 1
        expected = 5 * (max(retrieved, _EXPECTED_PACKAGES) if downloading else retrieved)
        # Scaled to 0..98: the import into the engine is the last step.
        progress(min(98, 98 * steps // max(expected, 1)), 100, f"{verb.lower()} {package}")
    return proc.wait(), output


def _import(client: docker.DockerClient, root: Path, tag: str) -> None:
    """``docker import`` a root filesystem tree, streaming the tar through a pipe."""
    repo, _, version = tag.partition(":")
    tar = subprocess.Popen(["tar", "-C", str(root), "--numeric-owner", "-c", "."],
                           stdout=subprocess.PIPE)
    assert tar.stdout is not None
    try:
        client.api.import_image_from_data(
            _ChunkReader(tar.stdout), repository=repo, tag=version or "latest",
            changes=["ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "ENV LANG=C.UTF-8"],
        )
    finally:
        tar.stdout.close()
        tar.wait()
    if not image_exists(client, tag):
        raise BaseImageError(f"docker import did not produce {tag}")


class _ChunkReader:
    """Lets the docker SDK stream a pipe as a chunked request body."""

    def __init__(self, stream: io.BufferedReader) -> None:
        self._stream = stream

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._stream.read(1 << 20):
            yield chunk


def apt_source_files(sources: tuple[Path, ...] = APT_SOURCES) -> list[Path]:
    """This machine's apt source files (``sources.list`` and the folder's ``.list`` and
    ``.sources`` files), in the order apt reads them."""
    files: list[Path] = []
    for src in sources:
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix in (".list", ".sources"))
        elif src.is_file():
            files.append(src)
    return files


def debian_mirror_from_apt(suite: str, sources: tuple[Path, ...] = APT_SOURCES) -> str:
    """The Debian mirror this machine's apt uses for ``suite`` (one-line or deb822 format)."""
    for path in apt_source_files(sources):
        text = path.read_text(errors="replace")
        for uri, suites in apt_source_entries(text, deb822=path.suffix == ".sources"):
            if suite in suites and "security" not in uri:
                return uri
    raise BaseImageError(
        f"no Debian mirror for {suite!r} found in the apt sources",
        hint="set APPFORGE_DEBIAN_MIRROR to a Debian mirror URL",
    )


def apt_source_entries(text: str, deb822: bool) -> Iterator[tuple[str, list[str]]]:
    """(mirror URI, suites) of each enabled ``deb`` entry of an apt sources file."""
    if deb822:
        for stanza in re.split(r"\n\s*\n", text):
            fields = dict(
                (k.strip().lower(), v.strip())
                for k, _, v in (line.partition(":") for line in stanza.splitlines())
                if not k.startswith("#") and v
            )
            if "deb" in fields.get("types", "").split() and fields.get("enabled", "yes") != "no":
                for uri in fields.get("uris", "").split():
                    yield uri, fields.get("suites", "").split()
        return
    for line in text.splitlines():
        parts = re.sub(r"\[[^\]]*\]", "", line).split()
        if len(parts) >= 3 and parts[0] == "deb":
            yield parts[1], [parts[2]]


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


__all__ = ["bootstrap", "debian_mirror_from_apt", "ensure_postgres_image", "ensure_proxy_image",
           "ensure_python_base", "image_exists", "image_lock"]

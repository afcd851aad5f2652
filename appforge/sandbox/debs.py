"""Images assembled from a handful of Debian packages, for a program that needs no Debian around it.

The proxy is one Go program (Caddy) linked against libc and libzstd. A whole debootstrapped Debian
under it costs about 40 s of a new machine's first build and ships a shell, apt and perl that the
proxy never runs. This module fetches just the packages it needs from the same mirror, checked
the way apt checks them (the suite's ``InRelease`` signed by Debian's archive key, then the
index's and every package's SHA-256), unpacks their files into a tree and imports it: about two
seconds. Where gpgv, Debian's keyring or dpkg-deb is missing, :class:`CannotAssemble` says so and
the caller bootstraps instead.
"""

from __future__ import annotations

import hashlib
import lzma
import platform
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import BaseImageError

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
Progress = Callable[[int, int, str], None]

KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "ppc64le": "ppc64el",
         "s390x": "s390x", "i686": "i386"}
#: Trimmed from the tree: nobody reads them inside a container.
_PRUNE = ("usr/share/doc", "usr/share/man", "usr/share/lintian", "usr/share/locale")


class CannotAssemble(Exception):
    """This machine lacks what checking and unpacking packages needs (the caller falls back)."""


def assemble(client: docker.DockerClient, settings: Settings, tag: str,
             packages: tuple[str, ...], log: Log, progress: Progress) -> None:
    """Make ``tag`` from the files of ``packages`` (no maintainer scripts run)."""
    from appforge.sandbox.base_images import _import, debian_mirror_from_apt

    mirror = (settings.debian_mirror or debian_mirror_from_apt(settings.debian_suite)).rstrip("/")
    log(f"assembling {tag} from {len(packages)} Debian packages ({', '.join(packages)}) "
        f"from {mirror}")
    with tempfile.TemporaryDirectory(prefix="appforge-debs-") as tmp:
        root = Path(tmp) / "rootfs"
        unpack(mirror, settings.debian_suite, packages, root, progress)
        progress(95, 100, "docker import")
        _import(client, root, tag)
    log(f"made {tag}")


def unpack(mirror: str, suite: str, packages: tuple[str, ...], root: Path, progress: Progress,
           keyring: Path = KEYRING) -> None:
    """Fetch ``packages`` from ``mirror`` (checked against ``keyring``) and unpack them into
    ``root``, finished as a container's tree."""
    import httpx

    missing = [tool for tool in ("gpgv", "dpkg-deb") if not shutil.which(tool)]
    if missing or not keyring.exists():
        raise CannotAssemble(f"{', '.join(missing) or keyring} not on this machine")
    with httpx.Client(timeout=60, follow_redirects=True) as http, \
            tempfile.TemporaryDirectory(prefix="appforge-debs-") as tmp:
        progress(5, 100, "the package index")
        index = _packages_index(http, mirror, suite, _arch(), keyring)
        absent = [name for name in packages if name not in index]
        if absent:
            raise BaseImageError(f"{', '.join(absent)} not in {mirror} {suite}")
        debs = Path(tmp)

        def fetch(name: str) -> Path:
            filename, sha256 = index[name]
            path = debs / f"{name}.deb"
            path.write_bytes(_get_checked(http, f"{mirror}/{filename}", sha256))
            return path

        with ThreadPoolExecutor(max_workers=4) as pool:
            for done, path in enumerate(pool.map(fetch, packages), 1):
                progress(5 + 80 * done // len(packages), 100, f"fetched {path.stem}")
        for path in sorted(debs.glob("*.deb")):
            subprocess.run(["dpkg-deb", "-x", str(path), str(root)], check=True,
                           capture_output=True)
    _finish_tree(root)


def _arch() -> str:
    try:
        return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return _ARCH.get(platform.machine(), platform.machine())


def _packages_index(http: object, mirror: str, suite: str, arch: str,
                    keyring: Path) -> dict[str, tuple[str, str]]:
    """Package name → (Filename, SHA256) from the suite's main index, its signature checked."""
    release = _verified_release(_get(http, f"{mirror}/dists/{suite}/InRelease"), keyring)
    name = f"main/binary-{arch}/Packages.xz"
    match = re.search(rf"^ ([0-9a-f]{{64}}) +\d+ {re.escape(name)}$",
                      release.split("SHA256:", 1)[-1], re.M)
    if not match:
        raise BaseImageError(f"{mirror} {suite} lists no {name}")
    text = lzma.decompress(_get_checked(http, f"{mirror}/dists/{suite}/{name}",
                                        match.group(1))).decode("utf-8", "replace")
    index: dict[str, tuple[str, str]] = {}
    for stanza in text.split("\n\n"):
        fields = dict(re.findall(r"^(Package|Filename|SHA256): (\S+)$", stanza, re.M))
        if len(fields) == 3:
            index[fields["Package"]] = (fields["Filename"], fields["SHA256"])
    return index


def _verified_release(signed: bytes, keyring: Path) -> str:
    """The text of an ``InRelease`` file whose signature the keyring accepts."""
    proc = subprocess.run(["gpgv", "--keyring", str(keyring), "--output", "-", "-"],
                          input=signed, capture_output=True)
    if proc.returncode != 0:
        raise BaseImageError("the Debian mirror's InRelease signature did not verify",
                             detail=proc.stderr.decode(errors="replace")[-2000:])
    return proc.stdout.decode("utf-8", "replace")


def _get(http: object, url: str) -> bytes:
    import httpx

    try:
        resp = http.get(url)  # type: ignore[attr-defined]
    except httpx.HTTPError as exc:
        raise BaseImageError(f"cannot fetch {url}: {exc}",
                             hint="set APPFORGE_DEBIAN_MIRROR to a reachable Debian mirror") \
            from None
    if resp.status_code != 200:
        raise BaseImageError(f"cannot fetch {url}: HTTP {resp.status_code}")
    return bytes(resp.content)


def _get_checked(http: object, url: str, sha256: str) -> bytes:
    data = _get(http, url)
    if hashlib.sha256(data).hexdigest() != sha256:
        raise BaseImageError(f"{url} does not match the checksum its index gives")
    return data


def _finish_tree(root: Path) -> None:
    """What the packages' maintainer scripts would have made, and what a container needs."""
    for rel in _PRUNE:
        shutil.rmtree(root / rel, ignore_errors=True)
    certs = root / "etc" / "ssl" / "certs"
    certs.mkdir(parents=True, exist_ok=True)
    bundle = b"".join(p.read_bytes() for p in
                      sorted((root / "usr/share/ca-certificates").rglob("*.crt")))
    (certs / "ca-certificates.crt").write_bytes(bundle)
    (root / "etc" / "nsswitch.conf").write_text("hosts: files dns\n")
    for folder, mode in (("tmp", 0o1777), ("data", 0o755)):
        (root / folder).mkdir(exist_ok=True)
        (root / folder).chmod(mode)

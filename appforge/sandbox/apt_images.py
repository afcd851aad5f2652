"""Images made of Debian packages installed on the Python base image with apt, in a docker build:
the browser that takes screenshots (``sandbox/browser.py``) and the Postgres server
(``base_images.ensure_postgres_image``).

The Python base is a debootstrapped Debian already; installing a few packages on it costs a
fraction of what a second debootstrap would (the Postgres image took 50 s alone and 106 s beside
the tests as a debootstrap of its own; 18 s and 35 s this way). The packages come from the same mirror the base images use
(the configured one, or this machine's apt sources), with the security mirror where the host has
one.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import AppforgeError, BuildFailed
from appforge.sandbox.base_images import (
    Progress,
    apt_source_entries,
    apt_source_files,
    debian_mirror_from_apt,
    ensure_python_base,
    image_exists,
    image_lock,
)
from appforge.sandbox.build import build_image
from appforge.sandbox.engine import LABEL

if TYPE_CHECKING:
    import docker

    from appforge.config import Settings

Log = Callable[[str], None]
#: Made from the image's tag, the mirror and apt's first error: the error to raise.
Failure = Callable[[str, str, str], AppforgeError]

_DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}} AS {stage}
RUN rm -f /etc/apt/sources.list.d/* && printf '{sources}' > /etc/apt/sources.list \\
 && apt-get -o Acquire::Retries=3 update --error-on=any \\
 && DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y \\
    --no-install-recommends {packages} \\
 && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \\
    /usr/share/info{then}
{tail}"""


def ensure_apt_image(client: docker.DockerClient, settings: Settings, tag: str,
                     packages: tuple[str, ...], stage: str, log: Log,
                     progress: Progress | None, failure: Failure, then: str = "",
                     tail: str = "") -> str:
    """Make ``tag`` (once per machine) from the Python base and ``packages``; ``then``: shell
    run after the install in the same layer, ``tail``: Dockerfile lines after it."""
    if image_exists(client, tag):
        return tag
    with image_lock(tag):
        if image_exists(client, tag):  # another build made it while we waited
            return tag
        base = ensure_python_base(client, settings, log)
        sources = apt_sources(settings)
        mirror = sources[0].split()[1]
        log(f"building {tag} ({', '.join(packages)} from {mirror}); this happens once per "
            "machine")
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="appforge-apt-image-") as tmp:
            context = Path(tmp)
            (context / "Dockerfile").write_text(_DOCKERFILE.format(
                stage=stage, sources="\\n".join(sources) + "\\n", packages=" ".join(packages),
                then=f" \\\n && {then}" if then else "", tail=tail))
            (context / "wheels").mkdir()
            try:
                build_image(client, context, context / "wheels", tag, stage, base,
                            {LABEL: stage}, log,
                            on_line=AptProgress(progress) if progress else None)
            except BuildFailed as exc:
                raise failure(tag, mirror, apt_error(exc)) from None
        log(f"made {tag} in {time.monotonic() - start:.0f} s")
    return tag


def apt_error(exc: BuildFailed) -> str:
    """The build's own reason (apt's first error) instead of the whole RUN command."""
    # The engine sends apt's stderr in coloured pieces ("E", ": ", "Failed to fetch ..."):
    # join neighbouring pieces, then drop the colours.
    text = re.sub(r"\x1b\[0m\n\x1b\[91m", "", exc.detail or "")
    lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
    errors = [line.strip() for line in lines if line.startswith("E: ")]
    return errors[0][:240] if errors else str(exc).split(": ", 1)[-1][:240]


class AptProgress:
    """Reads apt's output in the image build as progress: each of the N packages it announces
    is fetched (``Get:``), unpacked and set up."""

    _COUNT = re.compile(r"(\d+) newly installed")
    _STEP = re.compile(r"^(Get:\d+ \S+ \S+ \S+ (\S+)|Unpacking (\S+)|Setting up (\S+))")

    def __init__(self, progress: Progress) -> None:
        self.progress, self.total, self.steps = progress, 0, 0

    def __call__(self, line: str) -> None:
        count = self._COUNT.search(line)
        if count:
            self.total = int(count.group(1))
        step = self._STEP.match(line.strip())
        if step and self.total:
            self.steps += 1
            fetch, unpack, setup = step.groups()[1:]
            what = "fetching" if fetch else "unpacking" if unpack else "setting up"
            package = (fetch or unpack or setup).split(":")[0]
            self.progress(min(99, 99 * self.steps // (3 * self.total)), 100, f"{what} {package}")


def apt_sources(settings: Settings) -> list[str]:
    """apt source lines for the image: the configured or host's mirror, plus the host's
    security mirror when it has one (Chromium's fixes arrive there first)."""
    suite = settings.debian_suite
    mirror = settings.debian_mirror or debian_mirror_from_apt(suite)
    lines = [f"deb {mirror} {suite} main", f"deb {mirror} {suite}-updates main"]
    security = _security_mirror(suite)
    if security:
        lines.append(f"deb {security} {suite}-security main")
    return lines


def _security_mirror(suite: str) -> str | None:
    for path in apt_source_files():
        for uri, suites in apt_source_entries(path.read_text(errors="replace"),
                                              deb822=path.suffix == ".sources"):
            if f"{suite}-security" in suites:
                return uri
    return None

"""Screenshots of deployed apps, taken by headless Chromium inside a sandbox container.

A generated app's page is untrusted (an LLM or a blueprint wrote its HTML), so the browser that
renders it runs in a short-lived container, locked down like the app itself, on the app's own
internal network: it can reach the app and nothing else. The browser image is Debian's
``chromium`` on top of the Debian base image, built once per machine and cached by tag; its
packages come from the same mirror the base images use (this machine's apt sources).

The PNG leaves the container base64-encoded on its standard output, so it works with any engine,
local or remote, and with a read-only root whose only writable place is a tmpfs.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import BuildFailed, ScreenshotFailed
from appforge.sandbox.base_images import (
    APT_SOURCES,
    apt_source_entries,
    debian_mirror_from_apt,
    ensure_python_base,
    image_exists,
    image_lock,
    Progress,
)
from appforge.sandbox.build import build_image
from appforge.sandbox.containers import APP_PORT, app_labels, container_name, network_name
from appforge.sandbox.engine import LABEL
from appforge.sandbox.hardening import Limits, hardened_run_kwargs

if TYPE_CHECKING:
    import docker
    from docker.models.containers import Container

    from appforge.config import Settings

Log = Callable[[str], None]

BROWSER_PACKAGES = ("chromium", "fonts-dejavu-core", "fonts-liberation2",
                    "fonts-noto-color-emoji")
#: Chromium runs a browser, a zygote, renderers and utilities, each with many threads (which
#: count against the pids limit), so it gets more room than an app.
BROWSER_LIMITS = {"memory": "1g", "cpus": 1.0, "pids": 512}
THUMB_WIDTH = 480
#: Seconds Chromium may take to load and paint the page.
CHROMIUM_TIMEOUT = 45.0

_DOCKERFILE = """\
# The browser that photographs deployed apps: Debian's chromium on the Debian base image.
ARG BASE_IMAGE
FROM ${{BASE_IMAGE}} AS browser
RUN rm -f /etc/apt/sources.list.d/* && printf '{sources}' > /etc/apt/sources.list \\
 && apt-get -o Acquire::Retries=3 update --error-on=any \\
 && DEBIAN_FRONTEND=noninteractive apt-get -o Acquire::Retries=3 install -y \\
    --no-install-recommends {packages} \\
 && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man \\
 && useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin browser
ENV HOME=/tmp XDG_CONFIG_HOME=/tmp/.config XDG_CACHE_HOME=/tmp/.cache
USER 10001:10001
WORKDIR /tmp
"""

#: Runs inside the browser container: check the page answers, photograph it, print the PNG as
#: base64 on stdout. Chromium's own output goes to stderr, which becomes the error's detail.
_SHOOT = """\
import base64, socket, subprocess, sys, urllib.error, urllib.parse, urllib.request
url, width, height, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
host = urllib.parse.urlsplit(url).hostname
try:
    address = socket.gethostbyname(host)
except OSError as exc:
    sys.exit(f"{host} is not on the app's network: {exc.strerror or exc}")
try:
    urllib.request.urlopen(url, timeout=10).close()
except urllib.error.HTTPError as exc:
    sys.exit(f"the page answered HTTP {exc.code}")
except Exception as exc:
    sys.exit(f"the page did not answer: {getattr(exc, 'reason', exc)}")
cmd = ["chromium", "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
       "--no-first-run", "--no-default-browser-check", "--mute-audio", "--disable-extensions",
       "--disable-background-networking", "--disable-component-update", "--disable-sync",
       "--user-data-dir=/tmp/chromium", f"--window-size={width},{height}",
       # Chromium resolves nothing itself: the app's name is pinned to the address found above,
       # every other name fails at once (on a network with no way out, a lookup of an outside
       # name waits for its timeout, and the page cannot even try another host).
       f"--host-resolver-rules=MAP {host} {address}, MAP * ~NOTFOUND",
       "--screenshot=/tmp/shot.png", url]
try:
    code = subprocess.run(cmd, stdout=sys.stderr, stderr=sys.stderr, timeout=timeout).returncode
except subprocess.TimeoutExpired:
    sys.exit(f"chromium did not finish within {timeout:.0f} s")
if code != 0:
    sys.exit(f"chromium exited with code {code}")
try:
    data = open("/tmp/shot.png", "rb").read()
except OSError:
    sys.exit("chromium wrote no screenshot")
sys.stdout.write(base64.encodebytes(data).decode())
"""


def browser_image_tag(settings: Settings) -> str:
    return settings.browser_image or f"appforge/browser:{settings.debian_suite}"


def ensure_browser_image(client: docker.DockerClient, settings: Settings, log: Log,
                         progress: Progress | None = None) -> str:
    """Make sure the browser image exists (built once per machine); return its tag."""
    tag = browser_image_tag(settings)
    if image_exists(client, tag):
        return tag
    with image_lock(tag):
        if image_exists(client, tag):  # another build made it while we waited
            return tag
        base = ensure_python_base(client, settings, log)
        sources = _apt_sources(settings)
        log(f"building {tag} ({', '.join(BROWSER_PACKAGES)} from "
            f"{sources[0].split()[1]}); this happens once per machine")
        start = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="appforge-browser-") as tmp:
            context = Path(tmp)
            (context / "Dockerfile").write_text(_DOCKERFILE.format(
                sources="\\n".join(sources) + "\\n", packages=" ".join(BROWSER_PACKAGES)))
            (context / "wheels").mkdir()
            try:
                build_image(client, context, context / "wheels", tag, "browser", base,
                            {LABEL: "browser"}, log,
                            on_line=_AptProgress(progress) if progress else None)
            except BuildFailed as exc:
                raise _image_failed(tag, sources[0].split()[1], exc) from None
        log(f"made {tag} in {time.monotonic() - start:.0f} s")
    return tag


class _AptProgress:
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


def _image_failed(tag: str, mirror: str, exc: BuildFailed) -> ScreenshotFailed:
    """The build's own reason (apt's first error) instead of the whole RUN command."""
    # The engine sends apt's stderr in coloured pieces ("E", ": ", "Failed to fetch ..."):
    # join neighbouring pieces, then drop the colours.
    text = re.sub(r"\x1b\[0m\n\x1b\[91m", "", exc.detail or "")
    lines = re.sub(r"\x1b\[[0-9;]*m", "", text).splitlines()
    errors = [line.strip() for line in lines if line.startswith("E: ")]
    reason = errors[0][:240] if errors else str(exc).split(": ", 1)[-1][:240]
    return ScreenshotFailed(
        f"cannot make the browser image {tag}: {reason}", detail=exc.detail,
        hint=f"it is built once per machine with packages from {mirror}: let docker build "
        "reach it or set APPFORGE_DEBIAN_MIRROR; APPFORGE_SCREENSHOTS=false turns screenshots off")


def _apt_sources(settings: Settings) -> list[str]:
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
    files: list[Path] = []
    for src in APT_SOURCES:
        if src.is_dir():
            files += sorted(p for p in src.iterdir() if p.suffix in (".list", ".sources"))
        elif src.is_file():
            files.append(src)
    for path in files:
        for uri, suites in apt_source_entries(path.read_text(errors="replace"),
                                    deb822=path.suffix == ".sources"):
            if f"{suite}-security" in suites:
                return uri
    return None


def thumbnail_path(screenshot: Path) -> Path:
    """Where the small copy of a screenshot lives (``screenshot-thumb.png``)."""
    return screenshot.with_name(f"{screenshot.stem}-thumb{screenshot.suffix}")


def take_screenshot(client: docker.DockerClient, settings: Settings, slug: str, version: int,
                    url_host: str, out_path: Path, log: Log, width: int = 1280,
                    height: int = 800) -> Path:
    """Photograph ``http://<url_host>/`` (port 8000 unless given) as seen from the app's network.

    Writes a ``width`` x ``height`` PNG to ``out_path`` and a 480 px wide thumbnail beside it;
    returns ``out_path``. Raises :class:`ScreenshotFailed` with the browser's last output.
    """
    from docker.errors import NotFound

    image = ensure_browser_image(client, settings, log)
    network = network_name(settings, slug)
    try:
        client.networks.get(network)
    except NotFound:
        raise ScreenshotFailed(f"cannot photograph {slug} v{version}: its network {network} "
                               "is gone", hint=f"deploy it again (appforge start {slug})") from None
    url = f"http://{url_host if ':' in url_host else f'{url_host}:{APP_PORT}'}/"
    start = time.monotonic()
    png = _shoot(client, settings, image, network, slug, version, url, width, height)
    _check_png(png, width, height, url)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_bytes(png)
    _write_thumbnail(png, thumbnail_path(out_path))
    log(f"screenshot of {url} ({width}x{height}, {len(png) // 1024} KiB) in "
        f"{time.monotonic() - start:.1f} s")
    return out_path


def screenshot_container_name(settings: Settings, slug: str, version: int) -> str:
    """``<instance>-<slug>-v<N>-screenshot``: whose it is and what for, at a glance."""
    return f"{container_name(settings, slug, version)}-screenshot"


def _shoot(client: docker.DockerClient, settings: Settings, image: str, network: str, slug: str,
           version: int, url: str, width: int, height: int) -> bytes:
    """Run the browser container once; return the PNG bytes it printed."""
    from docker.errors import DockerException

    run = hardened_run_kwargs(settings, Limits.resolve(settings, **BROWSER_LIMITS))
    run["tmpfs"] = {"/tmp": "rw,noexec,nosuid,nodev,size=256m"}  # profile, cache, the PNG
    labels = {**app_labels(settings, slug, "screenshot"), f"{LABEL}.version": str(version)}
    name = screenshot_container_name(settings, slug, version)
    try:
        client.containers.get(name).remove(force=True)  # left by a screenshot that was killed
    except DockerException:
        pass
    try:
        container = client.containers.run(
            image, ["python3", "-c", _SHOOT, url, str(width), str(height),
                    str(CHROMIUM_TIMEOUT)],
            detach=True, name=name, network=network, labels=labels, shm_size="256m", **run)
    except DockerException as exc:
        raise ScreenshotFailed(f"could not start the browser container for {slug}: "
                               f"{_first_line(exc)}") from None
    try:
        code = _wait(container, CHROMIUM_TIMEOUT + 20)
        stdout = container.logs(stdout=True, stderr=False)
        stderr = container.logs(stdout=False, stderr=True, tail=30).decode(errors="replace")
    finally:
        try:
            container.remove(force=True)
        except DockerException:
            pass
    if code != 0:
        lines = [line for line in stderr.strip().splitlines() if line.strip()]
        why = lines[-1] if lines else f"the browser exited with code {code}"
        if code == -1:
            why = f"the browser container did not finish within {CHROMIUM_TIMEOUT + 20:.0f} s"
        raise ScreenshotFailed(f"no screenshot of {url}: {why}",
                               detail=stderr if len(lines) > 1 else None)
    try:
        return base64.b64decode(stdout, validate=False)
    except (binascii.Error, ValueError):
        raise ScreenshotFailed(f"no screenshot of {url}: the browser printed no image",
                               detail=stderr) from None


def _wait(container: Container, timeout: float) -> int:
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    try:
        return int(container.wait(timeout=timeout).get("StatusCode", 1))
    except RequestException:  # the engine's read timeout: the browser hangs
        try:
            container.kill()
        except DockerException:
            pass
        return -1


def _check_png(data: bytes, width: int, height: int, url: str) -> None:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            fmt, size = img.format, img.size
            img.load()
    except (UnidentifiedImageError, OSError) as exc:
        raise ScreenshotFailed(f"the screenshot of {url} is not a readable image: {exc}") from None
    if fmt != "PNG" or size != (width, height):
        raise ScreenshotFailed(f"the screenshot of {url} is a {fmt} of {size[0]}x{size[1]}, "
                               f"not a PNG of {width}x{height}")


def _write_thumbnail(png: bytes, path: Path) -> None:
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:
        height = round(img.height * THUMB_WIDTH / img.width)
        img.convert("RGB").resize((THUMB_WIDTH, height), Image.Resampling.LANCZOS).save(
            path, optimize=True)


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]


__all__ = ["browser_image_tag", "ensure_browser_image", "take_screenshot", "thumbnail_path"]

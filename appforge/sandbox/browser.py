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
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from appforge.errors import ScreenshotFailed
from appforge.sandbox.apt_images import ensure_apt_image
from appforge.sandbox.base_images import Progress
from appforge.sandbox.containers import (
    APP_PORT,
    app_labels,
    container_name,
    network_name,
)
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

#: The browser's user and settings, after Debian's chromium is installed on the base image.
_USER = ("useradd --uid 10001 --user-group --no-create-home --shell /usr/sbin/nologin "
         "browser")
_TAIL = """\
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
    return ensure_apt_image(client, settings, browser_image_tag(settings), BROWSER_PACKAGES,
                            "browser", log, progress, _image_failed, then=_USER, tail=_TAIL)


def _image_failed(tag: str, mirror: str, reason: str) -> ScreenshotFailed:
    return ScreenshotFailed(
        f"cannot make the browser image {tag}: {reason}",
        hint=f"it is built once per machine with packages from {mirror}: let docker build "
        "reach it or set APPFORGE_DEBIAN_MIRROR; APPFORGE_SCREENSHOTS=false turns screenshots off")


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

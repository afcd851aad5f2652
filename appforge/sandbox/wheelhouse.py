"""The host-side wheelhouse: an app's Python dependencies, fetched once on the host.

Containers never reach a package index (their egress is blocked, and the network they would use
intercepts TLS). Instead the host downloads wheels for the container's Python into a folder named
by a hash of the requirements, and the image installs them with ``pip install --no-index``. The
same requirements give the same folder, so builds are reproducible and later builds are offline.
"""

from __future__ import annotations

import fcntl
import hashlib
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from appforge.errors import DependencyError

#: The container's Python (Debian bookworm's python3), whatever Python runs appforge.
TARGET_PYTHON = "3.11"
_MANYLINUX = ("manylinux_2_17", "manylinux2014", "manylinux_2_28", "manylinux_2_34")
_DONE = ".complete"


def wheelhouse_key(requirement_files: list[Path]) -> str:
    """A stable key for a set of requirement files (content, target Python and machine)."""
    digest = hashlib.sha256(f"py{TARGET_PYTHON}-{platform.machine()}\n".encode())
    for path in requirement_files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:20]


def ensure_wheelhouse(root: Path, requirement_files: list[Path], log: Callable[[str], None]) -> Path:
    """Return a folder holding wheels for every requirement, downloading them on a miss.

    ``requirement_files`` are passed to ``pip download -r`` in order; files may include each
    other with ``-r``.
    """
    dest = root / wheelhouse_key(requirement_files)
    if (dest / _DONE).exists():
        return dest
    root.mkdir(parents=True, exist_ok=True)
    # Builds of other apps may need the same wheels at the same moment: one fetches them, the
    # others wait for it and use its folder (without the lock the second would replace the
    # folder while the first packs it into an image).
    with (root / f".{dest.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (dest / _DONE).exists():
            _download(dest, requirement_files, log)
    return dest


def _download(dest: Path, requirement_files: list[Path], log: Callable[[str], None]) -> None:
    root = dest.parent
    machine = platform.machine()
    cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
           "--only-binary=:all:", "--python-version", TARGET_PYTHON, "--implementation", "cp",
           "--abi", "cp" + TARGET_PYTHON.replace(".", "")]
    for tag in _MANYLINUX:
        cmd += ["--platform", f"{tag}_{machine}"]
    for req in requirement_files:
        cmd += ["-r", str(req)]
    log(f"fetching wheels for {', '.join(p.name for p in requirement_files)} into the wheelhouse")
    with tempfile.TemporaryDirectory(dir=root, prefix=".partial-") as tmp:
        proc = subprocess.run([*cmd, "-d", tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise DependencyError(
                "could not download the app's Python dependencies into the wheelhouse",
                detail="\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:]),
                hint="check that the package index is reachable (pip config) and that every "
                "requirement has a wheel for CPython 3.11 on Linux",
            )
        Path(tmp, _DONE).write_text(" ".join(cmd) + "\n")
        shutil.rmtree(dest, ignore_errors=True)  # one a crash left without its marker
        Path(tmp).rename(dest)

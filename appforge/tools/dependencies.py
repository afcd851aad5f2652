"""Adding a Python dependency to an app, resolved on the host as the wheelhouse would be.

The coder may ask for a package; it is looked up with ``pip download`` for the container's Python
(CPython 3.11, manylinux wheels only, so nothing is compiled and nothing runs), and pinned in the
app's ``requirements.txt`` at the version found. The next build's wheelhouse then fetches it and
its dependencies like any other requirement.
"""

from __future__ import annotations

import platform
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from appforge.errors import DependencyError, InvalidInput
from appforge.sandbox.wheelhouse import TARGET_PYTHON

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def add_dependency(workspace: Path, requirement: str) -> str:
    """Pin ``requirement`` (``name`` or ``name==version``) in the app's requirements.txt."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        req = Requirement(requirement.strip())
    except InvalidRequirement as exc:
        raise InvalidInput(f"not a requirement: {requirement!r} ({exc})") from None
    if req.url or req.marker or req.extras or not _NAME.match(req.name):
        raise InvalidInput(f"only plain package names with an optional version are allowed, "
                           f"not {requirement!r}")
    version = _resolve(str(req))
    name = canonicalize_name(req.name)
    path = workspace / "requirements.txt"
    lines = [line for line in path.read_text().splitlines()
             if canonicalize_name(re.split(r"[=<>!~ ]", line, maxsplit=1)[0] or "-") != name]
    lines.append(f"{name}=={version}")
    path.write_text("\n".join(sorted(lines, key=str.lower)) + "\n")
    return f"pinned {name}=={version} in requirements.txt"


def _resolve(requirement: str) -> str:
    """The version pip picks for the container's Python, as a wheel."""
    machine = platform.machine()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
               "--no-deps", "--only-binary=:all:", "--python-version", TARGET_PYTHON,
               "--implementation", "cp", "--platform", f"manylinux2014_{machine}",
               "--platform", f"manylinux_2_28_{machine}", "-d", tmp, requirement]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-5:])
            raise DependencyError(f"no wheel of {requirement} for CPython {TARGET_PYTHON} on "
                                  f"Linux: {tail}")
        return wheels[0].name.split("-")[1]

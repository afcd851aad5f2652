"""The wheelhouse: fetched once per set of requirements, even by builds that start together."""

from __future__ import annotations

import base64
import hashlib
import threading
import zipfile
from pathlib import Path

from appforge.sandbox.wheelhouse import ensure_wheelhouse


def _wheel(folder: Path) -> Path:
    """A minimal valid pure-Python wheel, so pip "downloads" it from a local path, offline."""
    path = folder / "tinydep-1.0-py3-none-any.whl"
    files = {
        "tinydep/__init__.py": b"VALUE = 1\n",
        "tinydep-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tinydep\nVersion: 1.0\n",
        "tinydep-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\n"
                                       b"Root-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append("tinydep-1.0.dist-info/RECORD,,")
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr("tinydep-1.0.dist-info/RECORD", "\n".join(record) + "\n")
    return path


def test_two_builds_at_once_fetch_the_wheels_once_and_both_get_the_whole_folder(
        tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text(f"{_wheel(tmp_path)}\n")
    root, said, got, errors = tmp_path / "wheelhouse", [], [], []

    def build() -> None:
        try:
            got.append(ensure_wheelhouse(root, [requirements], said.append))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    builds = [threading.Thread(target=build) for _ in range(3)]
    for thread in builds:
        thread.start()
    for thread in builds:
        thread.join()
    assert not errors
    assert len(set(got)) == 1 and (got[0] / "tinydep-1.0-py3-none-any.whl").is_file()
    assert len([line for line in said if line.startswith("fetching wheels")]) == 1
    assert not [p for p in root.iterdir() if p.name.startswith(".partial-")]
    # and a later build finds it without fetching
    assert ensure_wheelhouse(root, [requirements], said.append) == got[0] and len(said) == 1

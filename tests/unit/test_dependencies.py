"""The coder's add_dependency tool pins a real wheel for the sandbox's Python (asks PyPI)."""

from __future__ import annotations

from pathlib import Path

import pytest

from appforge.errors import DependencyError, InvalidInput
from appforge.tools.dependencies import add_dependency


def test_a_package_is_pinned_at_a_version_pip_finds(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi==0.165.0\nsix==1.0.0\n")
    summary = add_dependency(tmp_path, "six==1.17.0")
    assert summary == "pinned six==1.17.0 in requirements.txt"
    assert (tmp_path / "requirements.txt").read_text() == "fastapi==0.165.0\nsix==1.17.0\n"


@pytest.mark.parametrize("bad", ["", "six; python_version<'3'", "pkg @ https://evil/x.whl",
                                 "six[extra]", "-r /etc/passwd", "--index-url=http://x"])
def test_anything_but_a_plain_requirement_is_refused(tmp_path: Path, bad: str) -> None:
    (tmp_path / "requirements.txt").write_text("")
    with pytest.raises(InvalidInput):
        add_dependency(tmp_path, bad)


def test_a_package_without_a_wheel_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("")
    with pytest.raises(DependencyError, match="no wheel of"):
        add_dependency(tmp_path, "appforge-no-such-package-xyz==9.9.9")

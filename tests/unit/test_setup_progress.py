"""The setup's progress bar reads debootstrap's and apt's own output: it moves forward, never
jumps to the end while packages are still being fetched, and says what is being done."""

from __future__ import annotations

from pathlib import Path

from appforge.sandbox.base_images import _run_debootstrap
from appforge.sandbox.browser import _AptProgress


def _debootstrap_output(packages: int) -> list[str]:
    lines = ["I: Retrieving InRelease ", "I: Retrieving Packages "]
    for i in range(packages):  # debootstrap retrieves and validates one package at a time
        lines += [f"I: Retrieving pkg{i} 1.0-1", f"I: Validating pkg{i} 1.0-1"]
    lines += [f"I: Extracting pkg{i}..." for i in range(packages - 10)]
    lines += ["I: Unpacking the base system..."]
    lines += [f"I: Unpacking pkg{i}..." for i in range(packages)]
    lines += [f"I: Configuring pkg{i}..." for i in range(packages)]
    return lines + ["I: Base system installed successfully."]


def test_debootstrap_progress_moves_steadily_to_the_import(tmp_path: Path) -> None:
    out = tmp_path / "debootstrap.txt"
    out.write_text("\n".join(_debootstrap_output(120)) + "\n")
    seen: list[tuple[int, str]] = []
    logged: list[str] = []
    code, lines = _run_debootstrap(["cat", str(out)], logged.append,
                                   lambda done, total, doing: seen.append((done, doing)))
    assert code == 0 and len(lines) == len(_debootstrap_output(120))
    done = [d for d, _ in seen]
    assert done == sorted(done), "the bar never goes back"
    halfway = next(d for d, doing in seen if doing == "retrieving pkg60")
    assert 15 <= halfway <= 35, halfway  # half the downloads are a fifth of the work, not all
    assert 90 <= done[-1] <= 98 and seen[-1][1] == "configuring pkg119"
    assert "debootstrap: Base system installed successfully." in logged


def test_apt_progress_in_the_browser_build_counts_the_announced_packages() -> None:
    seen: list[tuple[int, str]] = []
    read = _AptProgress(lambda done, total, doing: seen.append((done, doing)))
    read("Get:1 http://deb.debian.org/debian bookworm/main amd64 libfoo1 amd64 1.0 [10 kB]")
    assert seen == []  # nothing is known before apt says how many packages come
    read("0 upgraded, 2 newly installed, 0 to remove and 0 not upgraded.")
    for line in ("Get:1 http://deb.debian.org/debian bookworm/main amd64 libfoo1 amd64 1.0 [1 kB]",
                 "Get:2 http://deb.debian.org/debian bookworm/main amd64 chromium amd64 1 [9 MB]",
                 "Unpacking libfoo1:amd64 (1.0) ...", "Unpacking chromium (1) ...",
                 "Setting up libfoo1:amd64 (1.0) ...", "Setting up chromium (1) ..."):
        read(line)
    assert [doing for _, doing in seen] == [
        "fetching libfoo1", "fetching chromium", "unpacking libfoo1", "unpacking chromium",
        "setting up libfoo1", "setting up chromium"]
    assert [d for d, _ in seen] == [16, 33, 49, 66, 82, 99]

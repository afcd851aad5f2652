"""The setup's progress bar reads debootstrap's and apt's own output: it moves forward, never
jumps to the end while packages are still being fetched, and says what is being done."""

from __future__ import annotations

from pathlib import Path

from appforge.sandbox.apt_images import AptProgress
from appforge.sandbox.base_images import _run_debootstrap


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
    read = AptProgress(lambda done, total, doing: seen.append((done, doing)))
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


def _job(name: str, state: str, done: int = 0, doing: str = "", error: str = "") -> dict:
    from appforge.sandbox.prepare import LABELS

    return {"name": name, "label": LABELS[name], "tag": f"t/{name}:1", "state": state,
            "done": done, "total": 100, "doing": doing, "seconds": 12.5, "error": error}


def test_piped_build_output_gives_one_line_per_image_when_it_ends() -> None:
    import io

    from rich.console import Console

    from appforge.cli.progress import BuildProgress

    out = io.StringIO()
    progress = BuildProgress(Console(file=out, width=120))
    progress({"stage": "setup", "images": [_job("python", "making", 40, "unpacking libc6"),
                                           _job("proxy", "making", 90, "fetched caddy")]})
    progress({"stage": "setup", "images": [_job("python", "making", 60, "configuring dash"),
                                           _job("proxy", "ready", 100)]})
    progress({"stage": "setup", "images": [
        _job("python", "failed", 60, error="debootstrap failed"), _job("proxy", "ready", 100)]})
    progress.close()
    lines = out.getvalue().splitlines()
    assert lines == ["✓ proxy (Caddy)          12.5s  t/proxy:1",
                     "✗ python base            12.5s  t/python:1  debootstrap failed"]


def test_a_build_follows_the_progress_the_setup_process_writes(tmp_path: Path) -> None:
    import json
    import threading

    from appforge.config import Settings
    from appforge.sandbox.prepare import ProgressWatcher, progress_path

    settings = Settings(home=tmp_path, python_base_image=f"t/{tmp_path.name}:py",
                        proxy_image=f"t/{tmp_path.name}:proxy")
    path = progress_path(settings)
    seen: list[list[dict]] = []
    done = threading.Event()

    def on_change(jobs: list[dict]) -> None:
        seen.append(jobs)
        if all(job["state"] == "ready" for job in jobs):
            done.set()

    watcher = ProgressWatcher(settings, on_change).start()
    try:
        for jobs in ([_job("python", "making", 10)], [_job("python", "making", 50)],
                     [_job("python", "ready", 100)]):
            path.write_text(json.dumps({"pid": 1, "images": jobs}))
            for _ in range(50):  # until the watcher has seen this state
                if seen and seen[-1] == jobs:
                    break
                threading.Event().wait(0.05)
        assert done.wait(10)
    finally:
        watcher.stop()
        path.unlink(missing_ok=True)
    assert [jobs[0]["done"] for jobs in seen] == [10, 50, 100]

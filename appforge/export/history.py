"""The exported app's git history: one commit per built version, in order.

Each commit holds that version's source (its workspace without appforge's records, caches and
wheels) and the files the export adds for it (compose file, README, plan), is dated when the
version was built (author and committer date alike), carries a message with the version, what
its plan changed and its tests' summary, and is tagged ``vN``. When the live version is not the
newest (a rollback), a last commit puts the live version's tree back, dated when it was deployed
again, so the checkout is what serves.

git runs as a subprocess with its identity and dates given in the environment and the user's
and system's git configuration ignored (a global ``commit.gpgsign`` or hook must not change or
break an export).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from appforge.errors import AppforgeError

AUTHOR = ("appforge", "appforge@localhost")
#: Never part of the source: appforge's records, caches, the wheels a build puts beside it.
SKIPPED = frozenset({".appforge", ".git", "__pycache__", ".pytest_cache", "wheels"})


@dataclass(frozen=True)
class Commit:
    """One commit of the exported history."""

    #: The version whose tree it holds.
    version: int
    workspace: Path
    message: str
    when: float
    #: Files the export writes beside the source (path → text), e.g. compose.yaml.
    added: dict[str, str]
    tag: str | None = None


def commit_message(version: int, title: str, description: str, changes: Sequence[str] | None,
                   tests: str, status: str, settings: dict[str, Any]) -> str:
    """``vN: Title``, then the plan changes (None: the first version, whose plan is listed),
    the test summary and what it ran with."""
    lines = [f"v{version}: {title}", ""]
    if description:
        lines += [f"Asked for: {description.strip()}", ""]
    if changes is None:
        lines.append("Plan: first version")
    elif changes:
        lines += ["Plan changes:", *[f"- {c}" for c in changes]]
    else:
        lines.append("Plan changes: none")
    lines += ["", f"Tests: {tests or 'no summary recorded'}", f"Status in appforge: {status}"]
    limits = settings.get("limits") or {}
    if limits:
        lines.append("Limits: " + ", ".join(f"{k} {v}" for k, v in sorted(limits.items())))
    return "\n".join(lines) + "\n"


def rollback_message(version: int, newest: int, title: str) -> str:
    return (f"v{version} serves again: {title}\n\nThe live version is v{version} (rolled back "
            f"from v{newest}); this commit puts its files back, so the checkout is what "
            "serves.\n")


def git_env(when: float) -> dict[str, str]:
    """git's environment for a commit dated ``when``: fixed identity, no user configuration."""
    stamp = f"{int(when)} +0000"
    return {**{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "GIT_AUTHOR_NAME": AUTHOR[0], "GIT_AUTHOR_EMAIL": AUTHOR[1],
            "GIT_COMMITTER_NAME": AUTHOR[0], "GIT_COMMITTER_EMAIL": AUTHOR[1],
            "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp,
            "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0"}


def git(repo: Path, *args: str, when: float | None = None) -> str:
    try:
        done = subprocess.run(["git", *args], check=False, cwd=repo, env=git_env(when or time.time()),
                              capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise AppforgeError("the export needs git, which is not installed",
                            hint="apt-get install git") from None
    if done.returncode != 0:
        raise AppforgeError(f"git {args[0]} failed in {repo} (exit {done.returncode})",
                            detail=(done.stderr or done.stdout)[-2000:])
    return done.stdout


def source_files(workspace: Path) -> list[tuple[Path, str]]:
    """A version's source files (path, relative name), sorted; links are left out."""
    found = []
    for path in sorted(workspace.rglob("*")):
        rel = path.relative_to(workspace)
        if SKIPPED.intersection(rel.parts) or path.is_symlink() or not path.is_file():
            continue
        found.append((path, rel.as_posix()))
    return found


def write(repo: Path, commits: Sequence[Commit], log: Callable[[str], None]) -> list[str]:
    """Make ``repo`` (an empty folder) a git repository holding ``commits``; return their ids."""
    git(repo, "init", "-q", "--initial-branch=main")
    ids = []
    for commit in commits:
        _replace_tree(repo, commit)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "--no-verify", "-m", commit.message,
            when=commit.when)
        if commit.tag:
            git(repo, "tag", commit.tag, when=commit.when)
        ids.append(git(repo, "rev-parse", "HEAD").strip())
        log(f"committed v{commit.version} ({time.strftime('%Y-%m-%d %H:%M', time.gmtime(commit.when))} UTC)")
    return ids


def _replace_tree(repo: Path, commit: Commit) -> None:
    """Make the working tree exactly the version's files plus the export's."""
    for entry in repo.iterdir():
        if entry.name == ".git":
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    for path, rel in source_files(commit.workspace):
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    for rel, text in commit.added.items():
        target = repo / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

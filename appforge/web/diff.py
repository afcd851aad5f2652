"""What changed between two versions of an app: files added, removed and changed, line by line.

Both workspaces are walked the same way as the file tree (appforge's records and caches left
out). Text files get a unified diff with context; binary files (images, videos) are compared by
their SHA-256. Very large diffs are cut, with a note, so the page stays usable.
"""

from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from appforge.web.files import is_binary, workspace_files

MAX_FILE_BYTES = 1_000_000
MAX_DIFF_LINES = 3000
CONTEXT = 3


@dataclass
class Line:
    kind: str  # add | del | ctx | hunk
    text: str
    old: int | None = None
    new: int | None = None


@dataclass
class FileChange:
    path: str
    status: str  # added | removed | changed
    binary: bool = False
    lines: list[Line] = field(default_factory=list)
    added: int = 0
    removed: int = 0
    old_sha: str = ""
    new_sha: str = ""
    old_size: int = 0
    new_size: int = 0
    cut: bool = False


@dataclass
class Comparison:
    changes: list[FileChange]
    unchanged: int

    @property
    def added(self) -> list[FileChange]:
        return [c for c in self.changes if c.status == "added"]

    @property
    def removed(self) -> list[FileChange]:
        return [c for c in self.changes if c.status == "removed"]

    @property
    def changed(self) -> list[FileChange]:
        return [c for c in self.changes if c.status == "changed"]


def compare(old_root: Path, new_root: Path) -> Comparison:
    """Every difference between the workspaces ``old_root`` and ``new_root``."""
    old_files, new_files = set(workspace_files(old_root)), set(workspace_files(new_root))
    changes, unchanged = [], 0
    for path in sorted(old_files | new_files):
        old = _load(old_root / path) if path in old_files else None
        new = _load(new_root / path) if path in new_files else None
        if old is not None and new is not None and old == new:
            unchanged += 1
            continue
        changes.append(_change(path, old, new))
    return Comparison(changes=changes, unchanged=unchanged)


def _load(path: Path) -> bytes:
    with path.open("rb") as fh:
        return fh.read(MAX_FILE_BYTES + 1)


def _change(path: str, old: bytes | None, new: bytes | None) -> FileChange:
    status = "added" if old is None else "removed" if new is None else "changed"
    change = FileChange(path=path, status=status, old_size=len(old or b""),
                        new_size=len(new or b""))
    if any(b is not None and (is_binary(b) or len(b) > MAX_FILE_BYTES) for b in (old, new)):
        change.binary = True
        change.old_sha = hashlib.sha256(old).hexdigest() if old is not None else ""
        change.new_sha = hashlib.sha256(new).hexdigest() if new is not None else ""
        return change
    before = (old or b"").decode("utf-8", errors="replace").splitlines()
    after = (new or b"").decode("utf-8", errors="replace").splitlines()
    change.lines = _unified(before, after)
    change.added = sum(1 for line in change.lines if line.kind == "add")
    change.removed = sum(1 for line in change.lines if line.kind == "del")
    if len(change.lines) > MAX_DIFF_LINES:
        change.lines, change.cut = change.lines[:MAX_DIFF_LINES], True
    return change


def _unified(before: list[str], after: list[str]) -> list[Line]:
    """Hunks of changed lines with their line numbers in the old and the new file."""
    lines: list[Line] = []
    matcher = difflib.SequenceMatcher(None, before, after, autojunk=False)
    for group in matcher.get_grouped_opcodes(CONTEXT):
        first, last = group[0], group[-1]
        lines.append(Line("hunk", f"@@ -{first[1] + 1},{last[2] - first[1]} "
                                  f"+{first[3] + 1},{last[4] - first[3]} @@"))
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines.extend(Line("ctx", before[i], i + 1, j1 + n + 1)
                             for n, i in enumerate(range(i1, i2)))
                continue
            lines.extend(Line("del", before[i], old=i + 1) for i in range(i1, i2))
            lines.extend(Line("add", after[j], new=j + 1) for j in range(j1, j2))
    return lines

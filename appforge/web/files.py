"""A version's workspace as the dashboard shows it: the file tree, one file, its raw bytes.

Every path comes from the browser, so every path goes through the workspace tools' confinement
check (``tools.workspace.Workspace.resolve``: no absolute paths, no ``..``, no symlinks leading
out) and is then opened without following symlinks. Generated code is shown escaped and
highlighted (Pygments), never served as HTML from the dashboard's origin: raw downloads are
``text/plain`` attachments, except images and videos, which keep their media type.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from starlette.responses import FileResponse, Response

from appforge.errors import InvalidInput, PathOutsideWorkspace
from appforge.tools.workspace import Workspace

#: Shown highlighted up to this size; bigger text files are cut (the raw download has it all).
MAX_SHOWN_BYTES = 400_000
MAX_SHOWN_LINES = 5000
SNIFF_BYTES = 8192
#: Media types served inline (for <img> and <video>); everything else is a text/plain download.
INLINE_MEDIA = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                ".gif": "image/gif", ".webp": "image/webp", ".ico": "image/x-icon",
                ".mp4": "video/mp4", ".webm": "video/webm"}
SKIPPED = frozenset({"__pycache__", ".pytest_cache"})


@dataclass
class Folder:
    """A folder of the tree: sub-folders and file paths, both sorted."""

    name: str
    path: str
    folders: list[Folder] = field(default_factory=list)
    files: list[tuple[str, str]] = field(default_factory=list)  # (name, path)


@dataclass
class FileView:
    path: str
    size: int
    kind: str  # text | image | video | binary | missing
    html: str = ""  # highlighted text
    lines: int = 0
    cut: bool = False
    sha256: str = ""
    media_type: str = ""
    language: str = ""


def workspace_files(root: Path) -> list[str]:
    """The workspace's files (relative paths), without appforge's records and Python caches."""
    if not root.is_dir():
        return []
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED and d != ".appforge"
                         and not (base / d).is_symlink())
        found.extend((base / f).relative_to(root).as_posix() for f in files
                     if not (base / f).is_symlink())
    return sorted(found)


def tree(paths: list[str]) -> Folder:
    """Nest ``paths`` into folders (folders first, then files, each sorted)."""
    top = Folder(name="", path="")
    for path in paths:
        parts = PurePosixPath(path).parts
        node = top
        for i, part in enumerate(parts[:-1]):
            child = next((f for f in node.folders if f.name == part), None)
            if child is None:
                child = Folder(name=part, path="/".join(parts[:i + 1]))
                node.folders.append(child)
            node = child
        node.files.append((parts[-1], path))
    _sort(top)
    return top


def _sort(folder: Folder) -> None:
    folder.folders.sort(key=lambda f: f.name)
    folder.files.sort()
    for child in folder.folders:
        _sort(child)


def locate(root: Path, path: str) -> Path:
    """The real file ``path`` names inside ``root``; refuses anything that could lead out."""
    if not root.is_dir():
        raise InvalidInput("this version's workspace is gone (destroyed, or moved)")
    target = Workspace(root).resolve(path)
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        raise InvalidInput(f"{path}: no such file in this version") from None
    if stat.S_ISLNK(mode):  # resolve() returns real paths; a link here was planted since
        raise PathOutsideWorkspace(f"{path!r} refused: it is a symlink")
    if not stat.S_ISREG(mode):
        raise InvalidInput(f"{path} is not a file")
    return target


def read_capped(target: Path, limit: int) -> tuple[bytes, int]:
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        return fh.read(limit), size


def _sha256(target: Path) -> str:
    digest = hashlib.sha256()
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def is_binary(data: bytes) -> bool:
    head = data[:SNIFF_BYTES]
    if b"\x00" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a character cut at the sniff boundary is fine
    return False


def view(root: Path, path: str) -> FileView:
    """What the file page shows for ``path``: highlighted text, a picture, a player, or facts."""
    target = locate(root, path)
    suffix = target.suffix.lower()
    if suffix in INLINE_MEDIA:
        _, size = read_capped(target, 0)
        media = INLINE_MEDIA[suffix]
        return FileView(path=path, size=size, kind=media.split("/")[0], media_type=media,
                        sha256=_sha256(target))
    data, size = read_capped(target, MAX_SHOWN_BYTES)
    if is_binary(data):
        return FileView(path=path, size=size, kind="binary", sha256=_sha256(target),
                        media_type=mimetypes.guess_type(path)[0] or "application/octet-stream")
    text = data.decode("utf-8", errors="replace")
    lines = text.split("\n")
    cut = size > len(data) or len(lines) > MAX_SHOWN_LINES
    text = "\n".join(lines[:MAX_SHOWN_LINES])
    html, language = highlight(path, text)
    return FileView(path=path, size=size, kind="text", html=html, lines=len(lines), cut=cut,
                    language=language)


def highlight(path: str, text: str) -> tuple[str, str]:
    """``text`` as highlighted HTML (Pygments, CSS classes, line numbers) and the language."""
    from pygments import highlight as pygmentize
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import (
        TextLexer,
        get_lexer_for_filename,
        guess_lexer_for_filename,
    )
    from pygments.util import ClassNotFound

    name = PurePosixPath(path).name
    try:
        lexer = get_lexer_for_filename(name, text, stripnl=False)
    except ClassNotFound:
        try:
            lexer = guess_lexer_for_filename(name, text, stripnl=False)
        except ClassNotFound:
            lexer = TextLexer(stripnl=False)
    if name.endswith(".j2"):  # blueprints' Jinja templates: highlight what they render
        lexer = _jinja_lexer(name[:-3], text) or lexer
    formatter = HtmlFormatter(linenos="table", cssclass="code", anchorlinenos=True,
                              lineanchors="L", wrapcode=True)
    return pygmentize(text, lexer, formatter), lexer.name


def _jinja_lexer(name: str, text: str) -> Any:
    from pygments.lexers import get_lexer_for_filename
    from pygments.util import ClassNotFound

    try:
        return get_lexer_for_filename(name, text, stripnl=False)
    except ClassNotFound:
        return None


def raw(root: Path, path: str) -> Response:
    """The file's bytes: images and videos inline with their type, anything else a download."""
    target = locate(root, path)
    media = INLINE_MEDIA.get(target.suffix.lower())
    headers = {"Content-Security-Policy": "sandbox; default-src 'none'"}
    if media:
        return FileResponse(target, media_type=media, headers=headers)
    # text/plain + attachment + nosniff: the browser never runs generated HTML or JS from here.
    return FileResponse(target, media_type="text/plain; charset=utf-8", headers=headers,
                        filename=PurePosixPath(path).name, content_disposition_type="attachment")


def highlight_css() -> str:
    """Pygments' token colours for light and dark mode (the ``.code`` block)."""
    from pygments.formatters import HtmlFormatter

    def tokens(style: str) -> str:
        # Token colours only: backgrounds, <pre> and line numbers are the stylesheet's.
        rules = HtmlFormatter(style=style).get_style_defs(".code").splitlines()
        return "\n".join(r for r in rules if r.startswith(".code .") and "background" not in r)

    return (f"{tokens('friendly')}\n@media (prefers-color-scheme: dark) {{\n"
            f"{tokens('github-dark')}\n}}\n")

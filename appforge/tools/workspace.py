"""File tools an LLM may call to write an app, confined to that app's workspace folder.

:class:`Workspace` lists, reads, writes, edits and deletes files under one root. Every path goes
through :meth:`Workspace.resolve`, which refuses anything that could reach outside the root
(absolute paths, ``..``, symlinks leading out) and, for changes, any symlink at all and
appforge's own records in ``.appforge/``. Writes are atomic: a temporary file in the same folder,
then ``os.replace``. :data:`TOOL_SPECS` describes the five tools in OpenAI's function-tool format
and :func:`call_tool` runs one call from the model, returning every problem as an ``error: ...``
string the model can read and act on, never as an exception into the agent loop
(:func:`run_tool` also says whether the call succeeded).
"""

from __future__ import annotations

import inspect
import json
import os
import stat
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from appforge.errors import AppforgeError, InvalidInput, PathOutsideWorkspace

#: Folders that are never listed or counted: appforge's records and Python's caches.
SKIPPED_DIRS = frozenset({".appforge", "__pycache__"})
RECORDS_DIR = ".appforge"
#: Lines longer than this are cut in read_file's output (minified bundles would flood the model).
MAX_LINE_CHARS = 2000
MAX_READ_LINES = 2000
#: How much of a file is inspected for NUL bytes before calling it binary.
SNIFF_BYTES = 8192


class Workspace:
    """One app's workspace folder, as seen by the model: every path is relative to ``root``."""

    def __init__(self, root: Path, *, max_file_bytes: int = 256_000, max_files: int = 500) -> None:
        self.root = Path(root).resolve(strict=False)
        self.max_file_bytes = max_file_bytes
        self.max_files = max_files

    # -- the tools --------------------------------------------------------------------------------

    def list_files(self, path: str = ".") -> list[str]:
        """List the files in the app's workspace (or in one folder of it), recursively.

        Returns workspace-relative file paths, sorted; folders themselves are not listed.
        appforge's own records (.appforge/), __pycache__ folders and symlinks are left out.
        """
        start = self.resolve(path)
        if start.is_file():
            return [self._relative(start)]
        if not start.is_dir():
            raise InvalidInput(f"{path}: no such file or folder in the workspace")
        return sorted(self._relative(p) for p in self._walk(start))

    def read_file(self, path: str, start_line: int = 1, max_lines: int = 400) -> str:
        """Read a text file of the workspace: up to max_lines lines from start_line (1-based).

        Returns the lines exactly as stored, as plain text without line numbers, so text copied
        from it can be passed to edit_file as `old`. If the file goes on past the lines shown, a
        last line "[... N more lines: read again with start_line=K]" says so; lines longer than
        2000 characters are cut. Binary files (images, videos) are refused.
        """
        if start_line < 1:
            raise InvalidInput(f"start_line must be 1 or more, not {start_line}")
        if not 1 <= max_lines <= MAX_READ_LINES:
            raise InvalidInput(f"max_lines must be between 1 and {MAX_READ_LINES}, not {max_lines}")
        target = self.resolve(path)
        lines = _split_lines(self._read_text(path, target))
        if start_line > max(len(lines), 1):
            raise InvalidInput(f"{path} has {len(lines)} lines; start_line {start_line} is past "
                               "its end")
        end = start_line - 1 + max_lines
        shown = [_cut(line) for line in lines[start_line - 1:end]]
        if len(lines) > end:
            if not shown[-1].endswith("\n"):
                shown[-1] += "\n"
            shown.append(f"[... {len(lines) - end} more lines: read again with start_line="
                         f"{end + 1}]\n")
        return "".join(shown)

    def write_file(self, path: str, content: str) -> str:
        """Create or overwrite a file of the workspace with content (UTF-8 text).

        Missing parent folders are created. Use it for new files and for rewriting a file
        entirely; for a small change to an existing file, edit_file is cheaper.
        """
        target = self.resolve(path, write=True)
        data = content.encode("utf-8")
        self._check_size(path, data)
        if not target.exists() and self._count_files() >= self.max_files:
            raise InvalidInput(f"{path}: cannot create it, the workspace already holds "
                               f"{self.max_files} files (the limit)")
        self._write_atomic(path, target, data)
        return f"wrote {self._relative(target)} ({len(data)} bytes)"

    def edit_file(self, path: str, old: str, new: str) -> str:
        """Replace one exact piece of text in a file of the workspace.

        `old` must occur exactly once in the file, whitespace and indentation included (copy it
        from read_file); include a few surrounding lines when the text alone is not unique. Use
        new="" to delete the text.
        """
        target = self.resolve(path, write=True)
        if not old:
            raise InvalidInput(f"{path}: `old` is empty; give the exact text to replace")
        text = self._read_text(path, target)
        count = text.count(old)
        if count == 0:
            raise InvalidInput(f"{path}: `old` text not found; read_file it and copy the text "
                               "exactly, whitespace included")
        if count > 1:
            raise InvalidInput(f"{path}: `old` text occurs {count} times; it must occur exactly "
                               "once, so include more of the surrounding lines")
        data = text.replace(old, new, 1).encode("utf-8")
        self._check_size(path, data)
        self._write_atomic(path, target, data)
        return (f"edited {self._relative(target)} (replaced {old.count(chr(10)) + 1} lines with "
                f"{new.count(chr(10)) + 1}; now {len(data)} bytes)")

    def delete_file(self, path: str) -> str:
        """Delete one file of the workspace (not a folder)."""
        target = self.resolve(path, write=True)
        if target.is_dir():
            raise InvalidInput(f"{path} is a folder; delete_file deletes files only")
        if not target.is_file():
            raise InvalidInput(f"{path}: no such file in the workspace")
        target.unlink()
        return f"deleted {self._relative(target)}"

    # -- the path check ---------------------------------------------------------------------------

    def resolve(self, path: str, *, write: bool = False) -> Path:
        """The real location of workspace-relative ``path``, free of symlinks, inside the root.

        Raises :class:`PathOutsideWorkspace` naming the path and the reason for anything that is
        not a plain relative path or that leads outside the root. With ``write``, also for any
        symlink on the way (even one pointing inside) and for appforge's records in ``.appforge/``.
        """
        def refuse(reason: str) -> PathOutsideWorkspace:
            return PathOutsideWorkspace(f"{path!r} refused: {reason}")

        if not isinstance(path, str):
            raise InvalidInput(f"path must be a string, not {type(path).__name__}")
        if not path.strip():
            raise refuse("the path is empty; give one relative to the workspace, like app/main.py")
        if "\x00" in path:
            raise refuse("it contains a NUL byte")
        if "\\" in path:
            raise refuse("it contains a backslash; separate folders with /")
        relative = PurePosixPath(path)
        if relative.is_absolute():
            raise refuse("absolute paths are not allowed; give a path relative to the workspace")
        if ".." in relative.parts:
            raise refuse("'..' is not allowed in paths")
        if write and relative.parts and relative.parts[0].casefold() == RECORDS_DIR:
            raise refuse(f"{RECORDS_DIR}/ holds appforge's own records and cannot be changed")
        # Walk every existing component: a symlink may not lead out, and may not be written through.
        current = self.root
        for part in relative.parts:
            current = current / part
            if current.is_symlink():
                if write:
                    raise refuse(f"{self._relative(current)} is a symlink, and files are never "
                                 "written through symlinks")
                if not self._inside(current.resolve(strict=False)):
                    raise refuse(f"{self._relative(current)} is a symlink leading outside the "
                                 "workspace")
            elif not current.exists():
                break
        target = (self.root / relative).resolve(strict=False)
        if not self._inside(target):
            raise refuse("it leads outside the workspace")
        if write and target == self.root:
            raise refuse("that is the workspace folder itself, not a file")
        return target

    # -- helpers ----------------------------------------------------------------------------------

    def _inside(self, location: Path) -> bool:
        return location == self.root or location.is_relative_to(self.root)

    def _relative(self, location: Path) -> str:
        return location.relative_to(self.root).as_posix()

    def _walk(self, start: Path) -> list[Path]:
        """Regular files under ``start``, not descending into skipped folders or symlinks."""
        found = []
        for folder, dirs, files in os.walk(start, followlinks=False):
            base = Path(folder)
            dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and not (base / d).is_symlink()]
            found.extend(base / f for f in files if not (base / f).is_symlink())
        return found

    def _count_files(self) -> int:
        return len(self._walk(self.root))

    def _check_size(self, path: str, data: bytes) -> None:
        if len(data) > self.max_file_bytes:
            raise InvalidInput(f"{path}: {len(data)} bytes is over the limit of "
                               f"{self.max_file_bytes} bytes per file; split it into smaller files")

    def _read_text(self, path: str, target: Path) -> str:
        """The UTF-8 text of ``target`` (already resolved, so free of symlinks)."""
        if target.is_dir():
            raise InvalidInput(f"{path} is a folder; list_files shows what it holds")
        try:
            # O_NOFOLLOW: should the file be swapped for a symlink after resolve(), refuse it;
            # O_NONBLOCK: a planted FIFO must not hang the agent (checked just below).
            fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except (FileNotFoundError, NotADirectoryError):
            raise InvalidInput(f"{path}: no such file in the workspace") from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise InvalidInput(f"{path} is not a regular file")
        with os.fdopen(fd, "rb") as handle:
            head = handle.read(SNIFF_BYTES)
            data = head + handle.read() if b"\x00" not in head else head
            size = os.fstat(handle.fileno()).st_size
        try:
            if b"\x00" in head:
                raise ValueError("NUL byte")
            return data.decode("utf-8")
        except ValueError:
            raise InvalidInput(f"{path} is a binary file ({size} bytes), not UTF-8 text; "
                               "read_file and edit_file handle text files only") from None

    def _write_atomic(self, path: str, target: Path, data: bytes) -> None:
        if target.is_dir():
            raise InvalidInput(f"{path} is a folder; give a file path")
        self._make_parents(path, target.parent)
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
        # mkstemp opens with O_CREAT | O_EXCL, which never follows a symlink; os.replace renames
        # over the destination itself, so a symlink planted there would be replaced, not followed.
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                os.fchmod(handle.fileno(), mode)
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def _make_parents(self, path: str, folder: Path) -> None:
        """Create the missing folders between the root and ``folder``, refusing symlinks."""
        current = self.root
        for part in folder.relative_to(self.root).parts:
            current = current / part
            try:
                os.mkdir(current)
            except FileExistsError:
                if current.is_symlink() or not current.is_dir():
                    raise InvalidInput(f"{path}: {self._relative(current)} exists and is not a "
                                       "folder") from None


def _cut(line: str) -> str:
    return line if len(line) <= MAX_LINE_CHARS else line[:MAX_LINE_CHARS] + " [... line cut]\n"


def _split_lines(text: str) -> list[str]:
    """Lines with their endings, split at \\n only (str.splitlines also splits at \\f, \\x1c...)."""
    lines = [line + "\n" for line in text.split("\n")]
    lines[-1] = lines[-1][:-1]
    return lines if lines[-1] else lines[:-1]


# -- the tools as the model sees them ------------------------------------------------------------

_PATH = "File path relative to the workspace root, with / between folders, e.g. app/main.py"


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class ListFilesArgs(_Args):
    path: str = Field(".", description="Folder to list, relative to the workspace root; "
                                       "'.' (the default) lists the whole workspace")


class ReadFileArgs(_Args):
    path: str = Field(description=_PATH)
    start_line: int = Field(1, description="First line to return, 1-based", ge=1)
    max_lines: int = Field(400, description="How many lines to return at most", ge=1,
                           le=MAX_READ_LINES)


class WriteFileArgs(_Args):
    path: str = Field(description=_PATH)
    content: str = Field(description="The whole new content of the file")


class EditFileArgs(_Args):
    path: str = Field(description=_PATH)
    old: str = Field(description="Exact text to replace; must occur exactly once in the file")
    new: str = Field(description="Text to put in its place")


class DeleteFileArgs(_Args):
    path: str = Field(description=_PATH)


#: Each tool's name, and the model of its arguments; the description is the method's docstring.
TOOL_ARGS: dict[str, type[_Args]] = {
    "list_files": ListFilesArgs,
    "read_file": ReadFileArgs,
    "write_file": WriteFileArgs,
    "edit_file": EditFileArgs,
    "delete_file": DeleteFileArgs,
}


def _description(name: str) -> str:
    doc = inspect.getdoc(getattr(Workspace, name)) or ""
    return " ".join(doc.split("\n\n")[0].split())


def _parameters(args: type[_Args]) -> dict[str, Any]:
    schema = args.model_json_schema()
    schema.pop("title", None)
    for field in schema["properties"].values():
        field.pop("title", None)
    schema.setdefault("required", [])
    return schema


#: The five tools in OpenAI's function-tool format (``tools=`` of a chat completion).
TOOL_SPECS: list[dict[str, Any]] = [
    {"type": "function",
     "function": {"name": name, "description": _description(name), "parameters": _parameters(args)}}
    for name, args in TOOL_ARGS.items()
]


def call_tool(ws: Workspace, name: str, arguments: str | dict[str, Any]) -> str:
    """Run the model's call of tool ``name`` with ``arguments`` (JSON text or a dict) on ``ws``.

    Returns the tool's result as text; every problem the model caused (bad JSON, an unknown tool,
    wrong arguments, a refused path, a missing file) comes back as ``"error: ..."`` for the model
    to read and retry, never as an exception.
    """
    return run_tool(ws, name, arguments)[1]


def run_tool(ws: Workspace, name: str, arguments: str | dict[str, Any]) -> tuple[bool, str]:
    """:func:`call_tool`, also saying whether the call succeeded: a file whose text starts with
    "error:" is still a file, which the coder frames as data like any other."""
    args_model = TOOL_ARGS.get(name)
    if args_model is None:
        return False, f"error: unknown tool {name!r}; the tools are {', '.join(TOOL_ARGS)}"
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments) if arguments.strip() else {}
        except json.JSONDecodeError as exc:
            return False, (f"error: {name}: the arguments are not valid JSON ({exc}); send a "
                           "JSON object")
    if not isinstance(arguments, dict):
        return False, (f"error: {name}: the arguments must be a JSON object, not "
                       f"{type(arguments).__name__}")
    try:
        args = args_model.model_validate(arguments)
    except ValidationError as exc:
        return False, f"error: {name}: {_explain(exc)}; expected {_signature(args_model)}"
    try:
        result = getattr(ws, name)(**args.model_dump())
    except (AppforgeError, OSError) as exc:
        return False, f"error: {name}: {exc}"
    if isinstance(result, list):
        return True, "\n".join(result) if result else "(no files)"
    return True, result


def _explain(exc: ValidationError) -> str:
    problems = []
    for error in exc.errors():
        field = ".".join(str(p) for p in error["loc"]) or "arguments"
        if error["type"] == "missing":
            problems.append(f"missing argument {field!r}")
        elif error["type"] == "extra_forbidden":
            problems.append(f"unexpected argument {field!r}")
        else:
            problems.append(f"argument {field!r}: {error['msg']}")
    return "; ".join(problems)


def _signature(args: type[_Args]) -> str:
    schema = _parameters(args)
    required = schema["required"]
    return ", ".join(f"{field} ({spec['type']}{', required' if field in required else ''})"
                     for field, spec in schema["properties"].items())

"""The workspace file tools: round trips, confinement to the workspace, limits, and call_tool."""

from __future__ import annotations

import inspect
import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from appforge.errors import InvalidInput, PathOutsideWorkspace
from appforge.tools.workspace import TOOL_SPECS, Workspace, call_tool


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    (tmp_path / "ws").mkdir()
    (tmp_path / "sentinel").mkdir()  # must stay empty whatever the model tries
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_text("top secret\n")
    return Workspace(tmp_path / "ws")


def sentinel(ws: Workspace) -> list[Path]:
    return list((ws.root.parent / "sentinel").iterdir())


# -- round trips ----------------------------------------------------------------------------------

def test_write_then_read_returns_the_same_text(ws: Workspace) -> None:
    content = "import os\n\n\ndef main() -> None:\n    print('héllo')\n"
    assert ws.write_file("app/main.py", content) == \
        f"wrote app/main.py ({len(content.encode())} bytes)"
    assert ws.read_file("app/main.py") == content
    assert (ws.root / "app" / "main.py").read_bytes() == content.encode()


def test_write_creates_parent_folders_overwrites_and_leaves_no_temp_files(ws: Workspace) -> None:
    ws.write_file("a/b/c/deep.txt", "one")
    ws.write_file("a/b/c/deep.txt", "two")
    assert (ws.root / "a/b/c/deep.txt").read_text() == "two"
    assert sorted(p.name for p in (ws.root / "a/b/c").iterdir()) == ["deep.txt"]


def test_write_keeps_an_existing_files_mode_and_makes_new_files_readable(ws: Workspace) -> None:
    ws.write_file("run.sh", "#!/bin/sh\n")
    assert (ws.root / "run.sh").stat().st_mode & 0o777 == 0o644
    os.chmod(ws.root / "run.sh", 0o755)
    ws.write_file("run.sh", "#!/bin/sh\necho hi\n")
    assert (ws.root / "run.sh").stat().st_mode & 0o777 == 0o755


def test_read_file_shows_a_window_and_says_where_to_continue(ws: Workspace) -> None:
    ws.write_file("lines.txt", "".join(f"line {i}\n" for i in range(1, 11)))
    assert ws.read_file("lines.txt", start_line=3, max_lines=2) == \
        "line 3\nline 4\n[... 6 more lines: read again with start_line=5]\n"
    assert ws.read_file("lines.txt", start_line=9) == "line 9\nline 10\n"
    with pytest.raises(InvalidInput, match="has 10 lines; start_line 11 is past its end"):
        ws.read_file("lines.txt", start_line=11)
    with pytest.raises(InvalidInput, match="start_line must be 1 or more"):
        ws.read_file("lines.txt", start_line=0)


def test_read_file_reads_an_empty_file_and_cuts_very_long_lines(ws: Workspace) -> None:
    ws.write_file("empty.txt", "")
    assert ws.read_file("empty.txt") == ""
    ws.write_file("bundle.js", "x" * 5000 + "\n")
    assert ws.read_file("bundle.js") == "x" * 2000 + " [... line cut]\n"


def test_read_file_refuses_binary_files_clearly(ws: Workspace) -> None:
    (ws.root / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (ws.root / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    for name in ("logo.png", "latin1.txt"):
        with pytest.raises(InvalidInput, match=f"{name} is a binary file"):
            ws.read_file(name)
    with pytest.raises(InvalidInput, match="binary file"):
        ws.edit_file("logo.png", "PNG", "JPG")


def test_read_of_a_missing_file_or_a_folder_says_so(ws: Workspace) -> None:
    with pytest.raises(InvalidInput, match="nope.py: no such file"):
        ws.read_file("nope.py")
    ws.write_file("app/x.py", "")
    with pytest.raises(InvalidInput, match="app is a folder"):
        ws.read_file("app")
    with pytest.raises(InvalidInput, match="app/x.py/y.py: no such file"):
        ws.read_file("app/x.py/y.py")
    os.mkfifo(ws.root / "pipe")
    with pytest.raises(InvalidInput, match="pipe is not a regular file"):
        ws.read_file("pipe")  # and does not hang


def test_edit_file_replaces_exactly_one_occurrence(ws: Workspace) -> None:
    ws.write_file("app.py", "a = 1\nb = 2\nc = 3\n")
    summary = ws.edit_file("app.py", "b = 2\n", "b = 20\nbb = 21\n")
    assert summary.startswith("edited app.py (replaced 2 lines with 3;")
    assert ws.read_file("app.py") == "a = 1\nb = 20\nbb = 21\nc = 3\n"


def test_edit_file_refuses_text_that_is_missing(ws: Workspace) -> None:
    ws.write_file("app.py", "a = 1\n")
    with pytest.raises(InvalidInput, match="`old` text not found"):
        ws.edit_file("app.py", "a = 2", "a = 3")
    with pytest.raises(InvalidInput, match="`old` is empty"):
        ws.edit_file("app.py", "", "x")
    assert ws.read_file("app.py") == "a = 1\n"


def test_edit_file_refuses_ambiguous_text_and_says_how_often_it_occurs(ws: Workspace) -> None:
    ws.write_file("app.py", "x = 1\nx = 1\n")
    with pytest.raises(InvalidInput, match="occurs 2 times"):
        ws.edit_file("app.py", "x = 1", "x = 2")
    assert ws.read_file("app.py") == "x = 1\nx = 1\n"


def test_delete_file_removes_a_file_but_not_a_folder(ws: Workspace) -> None:
    ws.write_file("app/old.py", "pass\n")
    assert ws.delete_file("app/old.py") == "deleted app/old.py"
    assert not (ws.root / "app/old.py").exists()
    with pytest.raises(InvalidInput, match="no such file"):
        ws.delete_file("app/old.py")
    with pytest.raises(InvalidInput, match="app is a folder"):
        ws.delete_file("app")


def test_list_files_is_sorted_and_skips_records_caches_and_symlinks(ws: Workspace) -> None:
    for name in ("b.py", "a/z.py", "a/c.py", ".env"):
        ws.write_file(name, "")
    (ws.root / ".appforge").mkdir()
    (ws.root / ".appforge" / "spec.json").write_text("{}")
    (ws.root / "a" / "__pycache__").mkdir()
    (ws.root / "a" / "__pycache__" / "c.cpython-311.pyc").write_bytes(b"\x00")
    (ws.root / "inside-link.py").symlink_to(ws.root / "b.py")
    (ws.root / "etc").symlink_to("/etc")
    assert ws.list_files() == [".env", "a/c.py", "a/z.py", "b.py"]
    assert ws.list_files("a") == ["a/c.py", "a/z.py"]
    assert ws.list_files("b.py") == ["b.py"]
    with pytest.raises(InvalidInput, match="no such file or folder"):
        ws.list_files("missing")


def test_a_workspace_root_reached_through_a_symlink_works(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    ws = Workspace(tmp_path / "alias")
    ws.write_file("app/main.py", "ok\n")
    assert ws.read_file("app/main.py") == "ok\n"
    assert (tmp_path / "real" / "app" / "main.py").exists()


# -- confinement ----------------------------------------------------------------------------------

TOOLS: dict[str, Callable[[Workspace, str], object]] = {
    "list_files": lambda ws, p: ws.list_files(p),
    "read_file": lambda ws, p: ws.read_file(p),
    "write_file": lambda ws, p: ws.write_file(p, "pwned"),
    "edit_file": lambda ws, p: ws.edit_file(p, "root", "pwned"),
    "delete_file": lambda ws, p: ws.delete_file(p),
}
CHANGING = ["write_file", "edit_file", "delete_file"]

ATTACKS = {
    "../x": "'..' is not allowed",
    "../sentinel/x": "'..' is not allowed",
    "/etc/passwd": "absolute paths are not allowed",
    "a/../../x": "'..' is not allowed",
    "": "the path is empty",
    "  ": "the path is empty",
    "a\\..\\b": "backslash",
    "x\x00y": "NUL byte",
}


@pytest.mark.parametrize("attack", list(ATTACKS), ids=repr)
@pytest.mark.parametrize("tool", list(TOOLS))
def test_every_tool_refuses_paths_that_escape(ws: Workspace, tool: str, attack: str) -> None:
    with pytest.raises(PathOutsideWorkspace, match=ATTACKS[attack]) as refused:
        TOOLS[tool](ws, attack)
    assert repr(attack) in str(refused.value)  # names the path
    assert sentinel(ws) == []
    assert call_tool(ws, tool, {"path": attack, **_other_args(tool)}).startswith("error:")


def _other_args(tool: str) -> dict[str, str]:
    return {"write_file": {"content": "pwned"},
            "edit_file": {"old": "root", "new": "pwned"}}.get(tool, {})


@pytest.mark.parametrize("tool", list(TOOLS))
def test_every_tool_refuses_a_symlink_to_etc(ws: Workspace, tool: str) -> None:
    (ws.root / "etc").symlink_to("/etc")
    (ws.root / "passwd").symlink_to("/etc/passwd")
    for path in ("etc/passwd", "passwd", "etc"):
        with pytest.raises(PathOutsideWorkspace, match="symlink"):
            TOOLS[tool](ws, path)
    assert (ws.root / "passwd").is_symlink()


@pytest.mark.parametrize("tool", CHANGING)
def test_changes_are_never_made_through_a_folder_symlinked_outside(ws: Workspace,
                                                                     tool: str) -> None:
    (ws.root / "out").symlink_to(ws.root.parent / "sentinel")
    (ws.root / "deep").mkdir()
    (ws.root / "deep" / "out").symlink_to(ws.root.parent / "sentinel")
    for path in ("out/x.py", "out/new/x.py", "deep/out/x.py"):
        with pytest.raises(PathOutsideWorkspace, match="is a symlink"):
            TOOLS[tool](ws, path)
    assert sentinel(ws) == []


@pytest.mark.parametrize("tool", CHANGING)
def test_changes_are_never_made_through_a_file_symlink(ws: Workspace, tool: str) -> None:
    secret = ws.root.parent / "outside" / "secret.txt"
    (ws.root / "secret.txt").symlink_to(secret)
    (ws.root / "dangling.txt").symlink_to(ws.root.parent / "sentinel" / "planted.txt")
    for path in ("secret.txt", "dangling.txt"):
        with pytest.raises(PathOutsideWorkspace, match="is a symlink"):
            TOOLS[tool](ws, path)
    assert secret.read_text() == "top secret\n"
    assert sentinel(ws) == []


def test_reads_follow_symlinks_only_while_they_stay_inside(ws: Workspace) -> None:
    ws.write_file("real.txt", "inside\n")
    (ws.root / "alias.txt").symlink_to(ws.root / "real.txt")
    (ws.root / "secret.txt").symlink_to(ws.root.parent / "outside" / "secret.txt")
    (ws.root / "up").symlink_to("..")
    assert ws.read_file("alias.txt") == "inside\n"
    with pytest.raises(PathOutsideWorkspace, match="symlink leading outside"):
        ws.read_file("secret.txt")
    with pytest.raises(PathOutsideWorkspace, match="symlink leading outside"):
        ws.read_file("up/outside/secret.txt")
    with pytest.raises(PathOutsideWorkspace, match="is a symlink"):
        ws.write_file("alias.txt", "changed")  # even an inside link is not written through
    assert ws.read_file("real.txt") == "inside\n"


@pytest.mark.parametrize("tool", CHANGING)
@pytest.mark.parametrize("path", [".appforge/spec.json", "./.appforge/new.json",
                                  ".AppForge/spec.json", ".appforge"])
def test_appforge_records_cannot_be_changed(ws: Workspace, tool: str, path: str) -> None:
    (ws.root / ".appforge").mkdir()
    (ws.root / ".appforge" / "spec.json").write_text('{"root": 1}')
    with pytest.raises(PathOutsideWorkspace, match="appforge's own records"):
        TOOLS[tool](ws, path)
    assert (ws.root / ".appforge" / "spec.json").read_text() == '{"root": 1}'
    assert ws.read_file(".appforge/spec.json") == '{"root": 1}'


def test_the_workspace_folder_itself_cannot_be_written(ws: Workspace) -> None:
    for path in (".", "./"):
        with pytest.raises(PathOutsideWorkspace, match="the workspace folder itself"):
            ws.write_file(path, "x")


def test_writing_below_a_file_says_the_parent_is_not_a_folder(ws: Workspace) -> None:
    ws.write_file("app", "a file")
    with pytest.raises(InvalidInput, match="app exists and is not a folder"):
        ws.write_file("app/main.py", "x")


# -- limits ---------------------------------------------------------------------------------------

def test_files_over_the_size_limit_are_refused_on_write_and_edit(tmp_path: Path) -> None:
    ws = Workspace(tmp_path, max_file_bytes=10)
    assert ws.write_file("ok.txt", "0123456789") == "wrote ok.txt (10 bytes)"
    with pytest.raises(InvalidInput, match="11 bytes is over the limit of 10"):
        ws.write_file("big.txt", "0123456789A")
    with pytest.raises(InvalidInput, match="over the limit"):
        ws.write_file("utf8.txt", "é" * 6)  # 12 bytes in UTF-8
    with pytest.raises(InvalidInput, match="over the limit"):
        ws.edit_file("ok.txt", "9", "99")
    assert ws.list_files() == ["ok.txt"]
    assert ws.read_file("ok.txt") == "0123456789"


def test_new_files_stop_at_the_file_count_limit_but_existing_ones_stay_writable(
        tmp_path: Path) -> None:
    ws = Workspace(tmp_path, max_files=2)
    ws.write_file("a.txt", "a")
    ws.write_file("b/b.txt", "b")
    with pytest.raises(InvalidInput, match="already holds 2 files"):
        ws.write_file("c.txt", "c")
    assert ws.write_file("a.txt", "aa") == "wrote a.txt (2 bytes)"
    ws.delete_file("a.txt")
    assert ws.write_file("c.txt", "c") == "wrote c.txt (1 bytes)"


# -- call_tool ------------------------------------------------------------------------------------

def test_call_tool_runs_tools_from_json_or_dict_arguments(ws: Workspace) -> None:
    assert call_tool(ws, "write_file", json.dumps({"path": "a.py", "content": "x = 1\n"})) == \
        "wrote a.py (6 bytes)"
    assert call_tool(ws, "edit_file", {"path": "a.py", "old": "1", "new": "2"}).startswith("edited")
    assert call_tool(ws, "read_file", '{"path": "a.py", "start_line": 1}') == "x = 2\n"
    assert call_tool(ws, "list_files", "") == "a.py"
    assert call_tool(ws, "delete_file", {"path": "a.py"}) == "deleted a.py"
    assert call_tool(ws, "list_files", "{}") == "(no files)"


@pytest.mark.parametrize(("name", "arguments", "expected"), [
    ("read_file", '{"path": "a.py"', "not valid JSON"),
    ("read_file", "[1, 2]", "must be a JSON object"),
    ("run_shell", '{"cmd": "rm -rf /"}', "unknown tool 'run_shell'; the tools are list_files"),
    ("write_file", {"path": "a.py"}, "missing argument 'content'"),
    ("read_file", {"path": "a.py", "encoding": "utf-8"}, "unexpected argument 'encoding'"),
    ("read_file", {"path": "a.py", "start_line": "3"}, "argument 'start_line'"),
    ("read_file", {"path": "a.py", "start_line": True}, "argument 'start_line'"),
    ("read_file", {"path": "a.py", "max_lines": 0}, "argument 'max_lines'"),
    ("write_file", {"path": 3, "content": "x"}, "argument 'path'"),
    ("read_file", {"path": "../../etc/passwd"}, "'..' is not allowed"),
    ("read_file", {"path": "missing.py"}, "no such file"),
])
def test_call_tool_returns_errors_to_the_model_instead_of_raising(
        ws: Workspace, name: str, arguments: str | dict, expected: str) -> None:
    answer = call_tool(ws, name, arguments)
    assert answer.startswith("error:")
    assert expected in answer


def test_call_tool_errors_say_which_arguments_are_expected(ws: Workspace) -> None:
    answer = call_tool(ws, "edit_file", {"path": "a.py"})
    assert "missing argument 'old'; missing argument 'new'" in answer
    assert "expected path (string, required), old (string, required), new (string, required)" \
        in answer


# -- TOOL_SPECS -----------------------------------------------------------------------------------

def test_tool_specs_are_openai_function_tools_matching_the_methods() -> None:
    assert [spec["function"]["name"] for spec in TOOL_SPECS] == \
        ["list_files", "read_file", "write_file", "edit_file", "delete_file"]
    for spec in TOOL_SPECS:
        assert spec["type"] == "function"
        function = spec["function"]
        params = function["parameters"]
        assert params["type"] == "object"
        assert params["additionalProperties"] is False
        assert isinstance(params["required"], list)
        signature = inspect.signature(getattr(Workspace, function["name"]))
        args = [p for p in signature.parameters.values() if p.name != "self"]
        assert list(params["properties"]) == [p.name for p in args]
        assert params["required"] == [p.name for p in args if p.default is p.empty]
        assert all(prop.get("description") for prop in params["properties"].values())
        first_paragraph = inspect.getdoc(getattr(Workspace, function["name"])).split("\n\n")[0]
        assert function["description"] == " ".join(first_paragraph.split())
    json.dumps(TOOL_SPECS)


def test_tool_spec_parameters_are_valid_json_schemas() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    for spec in TOOL_SPECS:
        jsonschema.Draft202012Validator.check_schema(spec["function"]["parameters"])
    read = next(s for s in TOOL_SPECS if s["function"]["name"] == "read_file")
    validator = jsonschema.Draft202012Validator(read["function"]["parameters"])
    assert validator.is_valid({"path": "a.py", "max_lines": 10})
    assert not validator.is_valid({"max_lines": 10})
    assert not validator.is_valid({"path": "a.py", "extra": 1})

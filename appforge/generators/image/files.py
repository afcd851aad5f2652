"""Writing generated media to disk: the whole file or a clear :class:`GenerationError`.

Shared by the image and video backends, so both report a full disk or a missing folder the same
way and neither leaves a half-written asset behind for the web server to serve.
"""

from __future__ import annotations

from pathlib import Path

from appforge.errors import GenerationError


def write_file(data: bytes, out: Path, what: str) -> None:
    """Write ``data`` at ``out`` (making its folder), or raise :class:`GenerationError`."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    except OSError as exc:
        remove_partial(out)
        raise write_error(what, out, exc) from exc


def write_error(what: str, out: Path, exc: BaseException) -> GenerationError:
    """``could not write image to /x/hero.png: No space left on device``."""
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    if isinstance(exc, FileExistsError):  # mkdir met a file where the folder should be
        reason = f"{exc.filename} is a file, not a folder"
    return GenerationError(f"could not write {what} to {out}: {reason}")


def remove_partial(path: Path) -> None:
    """Delete what a failed write left at ``path``; only plain files (never /dev/full)."""
    try:
        if path.is_file():
            path.unlink()
    except OSError:
        pass  # the original error is the one worth reporting

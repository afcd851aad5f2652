"""Uploaded files: streamed to disk chunk by chunk, within the app's quota, and served back safely.

A file arrives as a stream of chunks (a raw request body, or an uploaded form part). Each chunk is
written straight to a partial file in ``$DATA_DIR/uploads/``, on the data volume: never held in
memory whole and never put in /tmp (a small tmpfs in the container). When the last chunk is
written the partial file is renamed to its stored name and only then does the record point at it,
so a failed upload (too large, over the quota, the disk full, the client gone) leaves the record
and its older file as they were and removes what it wrote.

Limits: one request body is at most ``$APP_MAX_BODY_BYTES`` (app/web.py answers 413 above it),
and all uploads together at most ``$APP_UPLOAD_QUOTA_BYTES`` (507 above it, saying how much is
used). A picture must be a JPEG, PNG, GIF or WebP, checked by its first bytes, not by what the
client says it is (415 otherwise). Pictures are served inline with their checked type; every
other file as ``application/octet-stream`` with ``Content-Disposition: attachment``, so an
uploaded HTML page or SVG can never run as a page of the app.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import unicodedata
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.exceptions import HTTPException

from app.fields import FieldDef

#: All uploads together, when ``$APP_UPLOAD_QUOTA_BYTES`` is not set (1 GiB).
DEFAULT_QUOTA_BYTES = 2**30
#: The picture types the app takes and how their files begin.
IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")
#: Enough of a file's beginning to tell its type.
HEAD_BYTES = 16
CHUNK_BYTES = 256 * 1024
_STORED_NAME = re.compile(r"[0-9a-f]{32}")
_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]{0,62}/[a-z0-9][a-z0-9!#$&^_.+-]{0,62}")
WRONG_TYPE = "Choose a picture: a JPEG, PNG, GIF or WebP file."


def quota_bytes() -> int:
    """All uploads together: ``$APP_UPLOAD_QUOTA_BYTES`` (from appforge) or 1 GiB."""
    text = os.environ.get("APP_UPLOAD_QUOTA_BYTES", "").strip()
    if not text:
        return DEFAULT_QUOTA_BYTES
    if not text.isdigit():
        raise ValueError(f"APP_UPLOAD_QUOTA_BYTES must be a whole number of bytes, not {text!r}")
    return int(text)


def size_text(count: int, bytes_word: str = "bytes") -> str:
    """``1536`` -> ``"1.5 KiB"``: a size as people read it (``bytes_word`` for small ones)."""
    value = float(count)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{count} {bytes_word}" if unit == "bytes" else f"{value:.1f} {unit}".replace(
                ".0 ", " "
            )
        value /= 1024
    return f"{count} {bytes_word}"


def image_type(head: bytes) -> str | None:
    """The picture type a file's first bytes name, or None when it is no picture we take."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((kind for magic, kind in IMAGE_SIGNATURES if head.startswith(magic)), None)


def media_type(declared: str | None) -> str:
    """What the client said a file is, if it reads as a media type (kept, never trusted)."""
    kind = (declared or "").split(";", 1)[0].strip().lower()
    return kind if _MEDIA_TYPE.fullmatch(kind) else "application/octet-stream"


def file_name(given: str | None, field: FieldDef, kind: str) -> str:
    """The uploader's name for a file, without folders or control characters."""
    name = re.split(r"[/\\]", given or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip(" .")[:200]
    if name:
        return name
    extension = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
                 "image/webp": ".webp", "application/pdf": ".pdf"}.get(kind, "")
    return field.name + extension


class WrongType(HTTPException):
    def __init__(self) -> None:
        super().__init__(415, WRONG_TYPE)


class OverQuota(HTTPException):
    """The file would take the uploads past the app's quota (answered 507)."""

    def __init__(self, quota: int, used: int) -> None:
        self.quota, self.used = quota, used
        super().__init__(
            507,
            f"Uploads may take {size_text(quota)} in all and {size_text(used)} are used, so "
            "this file does not fit. Delete files you no longer need, or ask the app's owner "
            "for a larger upload quota.",
        )


class Uploads:
    """The uploaded files of one app: a folder on the data volume and a quota for all of it."""

    def __init__(self, folder: Path, quota: int | None = None) -> None:
        self.folder = Path(folder)
        self.quota = quota_bytes() if quota is None else quota

    def path(self, stored: str) -> Path:
        if not _STORED_NAME.fullmatch(stored):
            raise ValueError(f"not a stored file name: {stored!r}")
        return self.folder / stored

    def used(self) -> int:
        """Bytes all files take now, partial ones (uploads in progress) included."""
        try:
            entries = list(os.scandir(self.folder))
        except FileNotFoundError:
            return 0
        total = 0
        for entry in entries:
            try:
                total += entry.stat().st_size
            except FileNotFoundError:
                pass  # an upload that just finished or failed
        return total

    def remove_partial_files(self) -> None:
        """Remove what uploads that never finished wrote (at start, when none is running)."""
        for partial in self.folder.glob(".partial-*"):
            partial.unlink(missing_ok=True)

    def remove(self, stored: str | None) -> None:
        if stored:
            self.path(stored).unlink(missing_ok=True)

    async def receive(
        self,
        chunks: AsyncIterator[bytes],
        field: FieldDef,
        *,
        name: str | None,
        declared_type: str | None,
        replacing: dict[str, Any] | None = None,
        expected_size: int | None = None,
    ) -> dict[str, Any]:
        """Write ``chunks`` to a new stored file; return its metadata for the record.

        The file it replaces (``replacing``) does not count against the quota: it goes once
        the new one is in place. Raises :class:`OverQuota`, :class:`WrongType`, or the
        ``OSError`` of a full disk, each after removing what was written.
        """
        self.folder.mkdir(parents=True, exist_ok=True)
        room = self.quota - self.used() + (replacing or {}).get("size", 0)
        if expected_size is not None and expected_size > room:
            raise OverQuota(self.quota, self.used())
        stored = secrets.token_hex(16)
        partial = self.folder / f".partial-{stored}"
        size, head, kind = 0, b"", None
        try:
            with open(partial, "xb") as out:
                async for chunk in chunks:
                    if not chunk:
                        continue
                    size += len(chunk)
                    if size > room:
                        raise OverQuota(self.quota, self.used() - size + len(chunk))
                    if len(head) < HEAD_BYTES:
                        head += chunk[: HEAD_BYTES - len(head)]
                        if field.type == "image" and len(head) >= HEAD_BYTES:
                            self._check_picture(head)
                    out.write(chunk)
                if field.type == "image":
                    kind = self._check_picture(head)
                out.flush()
                os.fsync(out.fileno())
            os.rename(partial, self.folder / stored)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        return {
            "stored": stored,
            "name": file_name(name, field, kind or media_type(declared_type)),
            "size": size,
            "type": kind or media_type(declared_type),
        }

    @staticmethod
    def _check_picture(head: bytes) -> str:
        kind = image_type(head)
        if kind is None:
            raise WrongType()
        return kind

    def serving(self, field: FieldDef, meta: dict[str, Any]) -> tuple[Path, str, str]:
        """(path, media type, disposition) to serve a stored file with: a picture inline with
        its type checked again from its bytes, anything else as a download of opaque bytes."""
        path = self.path(meta["stored"])
        if field.type == "image":
            with open(path, "rb") as stored:
                kind = image_type(stored.read(HEAD_BYTES))
            if kind is not None:
                return path, kind, "inline"
        return path, "application/octet-stream", "attachment"


def full_disk(exc: BaseException) -> bool:
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)

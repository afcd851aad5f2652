"""Telling a runaway answer from a long one, while it streams.

Small local models loop: the same field, the same line, the same "}," again and again until the
context is full (one request of a 270M model generated 7,824 tokens in 13 minutes). A
:class:`Watch` reads a streamed answer as it grows and names the first sign of a runaway:

- longer than anything valid could be (``max_chars``: a plan has a known largest size);
- the same piece of text repeated back to back at its end (``repeats`` times or more, and at
  least ``span`` characters in all), whitespace differences ignored;
- no progress: only whitespace for ``blank`` characters (a JSON grammar that lets the model emit
  newlines forever).

The caller then closes the stream, which tells the server to stop, and reads what came so far.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_SPACES = re.compile(r"\s+")
#: Characters of the answer's end that are searched for a repeated piece.
_TAIL = 4000
_LONGEST_UNIT = 400


@dataclass
class Watch:
    """Limits for one answer; :meth:`feed` returns why it ran away, or ""."""

    max_chars: int
    repeats: int = 4
    span: int = 240
    blank: int = 400
    #: Search for repetition each time the answer grew by this many characters.
    every: int = 64

    def __post_init__(self) -> None:
        self._parts: list[str] = []
        self._size = 0
        self._checked = 0
        self._blank_run = 0

    @property
    def text(self) -> str:
        return "".join(self._parts)

    def feed(self, piece: str) -> str:
        if not piece:
            return ""
        self._parts.append(piece)
        self._size += len(piece)
        self._blank_run = self._blank_run + len(piece) if not piece.strip() else \
            len(piece) - len(piece.rstrip())
        if self._size > self.max_chars:
            return (f"the answer passed {self.max_chars} characters, longer than any valid "
                    "answer")
        if self._blank_run >= self.blank:
            return f"the answer made no progress (only whitespace for {self._blank_run} " \
                   "characters)"
        if self._size - self._checked >= self.every:
            self._checked = self._size
            unit = repeated_tail(self.text[-_TAIL:], self.repeats, self.span)
            if unit:
                return f"the answer repeats {unit.strip()[:60]!r} over and over"
        return ""


def repeated_tail(text: str, repeats: int, span: int) -> str:
    """The piece that ``text`` ends with ``repeats`` or more times in a row (covering at least
    ``span`` characters), whitespace collapsed; "" when there is none."""
    tail = _SPACES.sub(" ", text)
    size = len(tail)
    for unit in range(2, min(_LONGEST_UNIT, size // max(repeats, 2)) + 1):
        piece = tail[size - unit:]
        count, end = 1, size - unit
        while end - unit >= 0 and tail[end - unit:end] == piece:
            count, end = count + 1, end - unit
        if count >= repeats and count * unit >= span:
            return piece
    return ""

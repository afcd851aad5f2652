"""Filters that put text from an AppSpec safely into each language a blueprint writes.

Spec text (a title, a label, a prompt) is user input. In a Python file it goes in as a literal made
by :func:`py_literal`, so quotes, backslashes or ``{{ }}`` stay data; in Markdown it goes through
:func:`md_inline`; numbers go through :func:`py_number`. HTML needs no filter here: the generated
app's own templates escape at run time, and ``.html.j2`` blueprints are autoescaped.
"""

from __future__ import annotations

import math
import re

from appforge.errors import InvalidInput

_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


def py_literal(value: object) -> str:
    """A Python literal for ``value`` (str, int, float, bool, None, or a list/tuple of them)."""
    if value is None or isinstance(value, (bool, str)):
        return repr(value)
    if isinstance(value, (int, float)):
        return py_number(value)
    if isinstance(value, (list, tuple)):
        inner = ", ".join(py_literal(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    raise TypeError(f"cannot write {type(value).__name__} as a Python literal")


def py_number(value: float | None) -> str:
    """``1.0`` -> ``1``, ``2.5`` -> ``2.5``, ``None`` -> ``None``; refuses inf and nan."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidInput(f"the bound {value!r} is not a finite number")
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
    return repr(value)


def md_inline(value: str) -> str:
    """Text for one line of Markdown: no HTML, no markup, no line breaks."""
    text = " ".join(str(value).split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)

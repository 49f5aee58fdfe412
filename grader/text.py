"""Text people type that others read: an invite's cohort and label end up in pages, CSV cells,
export file names and terminals, where a control character (a newline, an escape) or an invisible
format character (a bidi override, a zero-width space) would break or disguise what is shown.
One check, for the web's request models, the CLI and the store alike; ``UNPRINTABLE_PATTERN``
says the same in JSON Schema, for the OpenAPI document."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls and DEL; the line and paragraph separators; format characters that hide or
# reorder text (soft hyphen, Arabic letter mark, Mongolian vowel separator, zero-width and
# directional marks, bidi embeddings and overrides, invisible operators and isolates, the byte
# order mark, interlinear annotations).
_CLASS = ("\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u061c\\u180e\\u200b-\\u200f\\u2028-\\u202e"
          "\\u2060-\\u206f\\ufeff\\ufff9-\\ufffb")
UNPRINTABLE_PATTERN = f"^[^{_CLASS}]*$"
# Lone surrogates too, which JSON's escapes can carry but no text encoding can store. They stay
# out of the pattern: in a UTF-16 regex engine the range would match every astral character.
_UNPRINTABLE = re.compile(f"[{_CLASS}\\ud800-\\udfff]")
_KINDS = {"Cc": "a control character", "Cf": "an invisible format character",
          "Zl": "a line separator", "Zp": "a paragraph separator",
          "Cn": "an unassigned code point", "Cs": "a lone surrogate"}


class UnprintableText(ValueError):
    """A field holds a control or invisible format character; its message names which."""


def printable(value: str, what: str) -> str:
    """``value`` unless it holds a character of ``UNPRINTABLE_PATTERN``'s class; UnprintableText
    naming the first such character otherwise."""
    found = _UNPRINTABLE.search(value)
    if found is None:
        return value
    char = found.group()
    name = unicodedata.name(char, "")
    raise UnprintableText(
        f"the {what} may not hold control or invisible characters; character "
        f"{found.start() + 1} is U+{ord(char):04X}{f' {name}' if name else ''}, "
        f"{_KINDS[unicodedata.category(char)]}: remove it")

"""Text from a bundle made safe to print or show: no terminal escapes, control or bidi characters, bounded length.

Everything a manifest says (title, domain names, provenance, licence) and every error message that quotes it
goes through here, so a tampered bundle cannot recolour the terminal, move its cursor, reorder what the user
reads, or flood the screen.
"""
from __future__ import annotations

import re
from typing import Any

# ANSI/ECMA-48 sequences as a whole (CSI "ESC [ ... final", OSC "ESC ] ... BEL|ESC \", two-byte "ESC x"), so that
# no "[31m" residue is left once the ESC is gone.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x9b[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[ -~]?")
# C0 and C1 controls, DEL, and the bidirectional formatting characters (embeddings, overrides, isolates, marks).
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_UNSAFE_BUT_LINES = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{_BIDI}]")  # keeps "\t" and "\n"
_LINE_BREAKS = re.compile(r"[\r\n\t\u2028\u2029\x85]+")
ELLIPSIS = "…"


def clean_text(text: str, limit: int, *, multiline: bool = False) -> str:
    """``text`` without escape sequences and control/bidi characters, at most ``limit`` characters (cut with "…").

    One-line text has its line breaks and tabs turned into single spaces; ``multiline`` keeps "\\n" and "\\t".
    """
    text = _ESCAPES.sub("", text)
    if multiline:
        text = _UNSAFE_BUT_LINES.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    else:
        text = _UNSAFE.sub("", _LINE_BREAKS.sub(" ", text))
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def clean_tree(value: Any, limit: int, max_depth: int) -> Any:
    """A copy of parsed JSON with every string (keys included) passed through :func:`clean_text`.

    Raises ``ValueError`` when the value nests deeper than ``max_depth`` containers.
    """
    def walk(v: Any, depth: int) -> Any:
        if isinstance(v, str):
            return clean_text(v, limit)
        if isinstance(v, (dict, list)) and depth >= max_depth:
            raise ValueError(f"nests deeper than {max_depth} levels")
        if isinstance(v, dict):
            return {clean_text(k, limit): walk(item, depth + 1) for k, item in v.items()}
        if isinstance(v, list):
            return [walk(item, depth + 1) for item in v]
        return v

    return walk(value, 0)

"""File names that any file system accepts, and paths that can always be shown."""
from __future__ import annotations

import hashlib
import os

# The longest file name (in bytes) of the common file systems (ext4, XFS, APFS, NTFS counts UTF-16 units).
NAME_MAX = 255


def fit_name(name: str, max_bytes: int = NAME_MAX) -> str:
    """``name`` if its encoded form fits in ``max_bytes``, else its stem cut short with ``~`` and a short
    hash of the whole name before the extension: unique and the same on every run."""
    if len(os.fsencode(name)) <= max_bytes:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or len(os.fsencode(ext)) > 16:
        stem, ext = name, ""
    tail = f"~{hashlib.sha1(os.fsencode(name)).hexdigest()[:10]}" + (f".{ext}" if ext else "")
    budget = max_bytes - len(os.fsencode(tail))
    while len(os.fsencode(stem)) > budget:
        stem = stem[:-1]
    return stem + tail


def printable(text: object) -> str:
    """``text`` safe for any UTF-8 stream or SQLite text: undecodable bytes of a file name become ``\\udcNN``."""
    return str(text).encode("utf-8", "backslashreplace").decode("utf-8")

"""The extraction cache of ``.i2i`` archives: one folder per archive digest, bounded by count and bytes.

An extraction is touched each time it is used; after each new extraction the least recently used ones beyond
:data:`CACHE_KEEP` or :data:`CACHE_BUDGET` bytes are deleted, except those used within :data:`CACHE_GRACE_S`
(another running app may be reading them). Half-written ``.extract-*`` folders of a killed process go too.
"""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from ..paths import cache_dir

CACHE_KEEP = 8  # extractions kept
CACHE_BUDGET = 1024**3  # bytes kept
CACHE_GRACE_S = 3600  # an extraction used this recently is never evicted
TEMP_PREFIX = ".extract-"


def bundles_cache() -> Path:
    """The folder holding one extraction per archive."""
    return cache_dir() / "bundles"


def touch(folder: Path) -> None:
    """Mark an extraction as just used."""
    try:
        os.utime(folder)
    except OSError:
        pass  # a read-only cache still works; it is only evicted sooner


def discard(folder: Path) -> None:
    """Delete an extraction (of a bundle that was refused); folders outside the cache are never touched."""
    if folder.parent == bundles_cache():
        shutil.rmtree(folder, ignore_errors=True)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.iterdir() if p.is_file())


def prune(current: Path) -> None:
    """Evict what exceeds the cache's bounds, least recently used first; ``current`` is always kept."""
    root = bundles_cache()
    now = time.time()
    entries = []
    for entry in root.iterdir():
        try:
            age = now - entry.stat().st_mtime
            if entry.name.startswith(TEMP_PREFIX):
                if age > CACHE_GRACE_S:
                    shutil.rmtree(entry, ignore_errors=True)
            elif entry.is_dir() and entry != current:
                entries.append((age, _folder_bytes(entry), entry))
        except OSError:
            continue  # removed meanwhile by another process
    kept, used = 1, _folder_bytes(current)
    for age, size, entry in sorted(entries, key=lambda e: e[0]):
        if age > CACHE_GRACE_S and (kept >= CACHE_KEEP or used + size > CACHE_BUDGET):
            shutil.rmtree(entry, ignore_errors=True)
        else:
            kept, used = kept + 1, used + size

"""Which files of an input folder a job translates, where each output goes, and shard selection."""
from __future__ import annotations

import hashlib
from pathlib import Path, PurePosixPath

from ..images import IMAGE_EXTENSIONS
from .jobs import JobSpec

# Files that land in photo folders without being photos; never reported, never translated.
STRAY_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "icon\r"})


def is_candidate(path: Path) -> bool:
    """True for a visible file whose extension says image; stray and hidden files are False."""
    name = path.name
    if name.startswith(".") or name.lower() in STRAY_NAMES:
        return False
    return path.suffix.lower() in IMAGE_EXTENSIONS


def list_inputs(input_dir: Path, recursive: bool, exclude: Path | None = None) -> list[str]:
    """Relative POSIX paths of the candidate images, sorted.

    Hidden folders are not entered, nor ``exclude`` (an output folder inside the input folder).
    """
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder not found: {input_dir}")
    walker = input_dir.rglob("*") if recursive else input_dir.iterdir()
    excluded = _parts_inside(exclude, input_dir) if exclude is not None else None
    found = []
    for path in walker:
        rel = path.relative_to(input_dir)
        if any(part.startswith(".") for part in rel.parts[:-1]):
            continue
        if excluded and rel.parts[: len(excluded)] == excluded:
            continue
        if path.is_file() and is_candidate(path):
            found.append(rel.as_posix())
    return sorted(found)


def _parts_inside(folder: Path, root: Path) -> tuple[str, ...] | None:
    """``folder`` as path parts relative to ``root``, or None when it is not inside it."""
    try:
        return folder.resolve().relative_to(root.resolve()).parts
    except ValueError:
        return None


def shard_of(rel_path: str, count: int) -> int:
    """The 1-based shard a file belongs to: a stable hash of its relative path, the same on every machine."""
    digest = hashlib.sha1(rel_path.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(rel_paths: list[str], shard: tuple[int, int]) -> list[str]:
    """The files of shard ``k`` of ``n``; the n shards partition the list exactly."""
    k, n = shard
    return [p for p in rel_paths if shard_of(p, n) == k]


def output_relpath(rel_path: str, spec: JobSpec) -> str:
    """Where the output of ``rel_path`` goes, relative to the output folder."""
    src = PurePosixPath(rel_path)
    name = spec.pattern.format(
        stem=src.stem,
        ext=spec.output_format,
        direction=spec.direction,
        model=Path(spec.model).stem,
        source_ext=src.suffix.lstrip("."),
    )
    parent = src.parent if spec.keep_structure else PurePosixPath(".")
    return (parent / name).as_posix()

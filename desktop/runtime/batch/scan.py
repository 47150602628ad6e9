"""Which files of an input folder a job translates, where each output goes, and shard selection."""
from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Iterable
from pathlib import Path, PurePosixPath

from i2i_common.filenames import fit_name
from i2i_common.images import IMAGE_EXTENSIONS

from .guard import InputGuard, OutputOverInputError
from .jobs import ItemState, JobSpec

# Files that land in photo folders without being photos; never reported, never translated.
STRAY_NAMES = frozenset({"thumbs.db", "desktop.ini", ".ds_store", "ehthumbs.db", "icon\r"})

Entry = tuple[str, str, ItemState, str]  # (rel_path, out_path, state, reason), as the queue records them


def is_candidate(path: Path) -> bool:
    """True for a visible file whose extension says image; stray and hidden files are False."""
    name = path.name
    if name.startswith(".") or name.lower() in STRAY_NAMES:
        return False
    return path.suffix.lower() in IMAGE_EXTENSIONS


def list_inputs(input_dir: Path, recursive: bool, exclude: Path | Iterable[Path] | None = None,
                skip: Collection[str] = ()) -> list[str]:
    """Relative POSIX paths of the candidate images, sorted.

    Hidden folders are not entered, nor the folders in ``exclude`` (output folders inside the input
    folder); files whose absolute path is in ``skip`` (outputs the queue knows it wrote) are left out.
    """
    if not input_dir.is_dir():
        raise FileNotFoundError(f"input folder not found: {input_dir}")
    folders = [exclude] if isinstance(exclude, Path) else list(exclude or ())
    excluded = [parts for parts in (_parts_inside(folder, input_dir) for folder in folders) if parts]
    root = os.path.abspath(input_dir.resolve())
    walker = input_dir.rglob("*") if recursive else input_dir.iterdir()
    found = []
    for path in walker:
        rel = path.relative_to(input_dir)
        if any(part.startswith(".") for part in rel.parts[:-1]):
            continue
        if any(rel.parts[: len(parts)] == parts for parts in excluded):
            continue
        if skip and os.path.join(root, *rel.parts) in skip:
            continue
        if is_candidate(path) and path.is_file():
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
    digest = hashlib.sha1(os.fsencode(rel_path)).digest()
    return int.from_bytes(digest[:8], "big") % count + 1


def select_shard(rel_paths: list[str], shard: tuple[int, int]) -> list[str]:
    """The files of shard ``k`` of ``n``; the n shards partition the list exactly."""
    k, n = shard
    return [p for p in rel_paths if shard_of(p, n) == k]


def output_relpath(rel_path: str, spec: JobSpec) -> str:
    """Where the output of ``rel_path`` goes, relative to the output folder. A name longer than file
    systems allow is shortened, with a short hash of the full name that keeps it unique and stable."""
    src = PurePosixPath(rel_path)
    name = spec.pattern.format(
        stem=src.stem,
        ext=spec.output_format,
        direction=spec.direction,
        model=Path(spec.model).stem,
        source_ext=src.suffix.lstrip("."),
    )
    parent = src.parent if spec.keep_structure else PurePosixPath(".")
    return (parent / fit_name(name)).as_posix()


def plan_items(spec: JobSpec, other_outputs: Iterable[Path] = (), recorded: Collection[str] = ()) -> list[Entry]:
    """The job's file list: shard selection, output names, skip-existing and name collisions.

    Unless ``spec.include_outputs``, the output folders of other jobs (``other_outputs``) and the files
    the queue recorded as outputs (``recorded``, absolute paths) are not inputs. Raises
    :class:`OutputOverInputError` when an output would land on an input: nothing is written then.
    """
    input_dir, output_dir = Path(spec.input_dir), Path(spec.output_dir)
    exclude = [output_dir, *([] if spec.include_outputs else other_outputs)]
    listed = list_inputs(input_dir, spec.recursive, exclude=exclude, skip=() if spec.include_outputs else recorded)
    guard = InputGuard(input_dir, listed)
    claimed: dict[str, str] = {}
    entries: list[Entry] = []
    for rel in select_shard(listed, spec.shard):
        out = output_relpath(rel, spec)
        victim = guard.input_at(output_dir / out)
        if victim is not None:
            raise OutputOverInputError(rel, victim)
        if out.casefold() in claimed:
            reason = f"output name {out} is already used by {claimed[out.casefold()]}"
            entries.append((rel, out, ItemState.FAILED, reason))
            continue
        claimed[out.casefold()] = rel
        if spec.skip_existing and (output_dir / out).exists():
            entries.append((rel, out, ItemState.SKIPPED, "output exists"))
        else:
            entries.append((rel, out, ItemState.PENDING, ""))
    return entries

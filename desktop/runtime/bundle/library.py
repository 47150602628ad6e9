"""The model library: the model folders, listing every bundle in them, and finding one by name or path.

A shipped model is never hidden: a user bundle with the same name (installed by an older version) is listed
as well, under ``NAME@user`` (:data:`USER_ALIAS`), and resolvable by that name or by its path. A distilled
student names its teacher (``student_of``); :func:`student_for` finds it.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

from .. import paths
from .loader import load_bundle
from .model import ARCHIVE_SUFFIX, Bundle, BundleError

USER_ALIAS = "{name}@user"  # the listed name of a user bundle whose name a shipped one has


class BundleScan(NamedTuple):
    """What :func:`find_bundles` found: usable bundles, and one error message per broken path."""

    bundles: list[Bundle]
    errors: dict[Path, str]


def model_dirs() -> list[Path]:
    """Folders searched for bundles: the shipped models first, then the user's."""
    return [paths.shipped_models_dir(), paths.user_models_dir()]


def bundle_entries(folder: Path) -> list[Path]:
    """The folders and ``.i2i`` files directly inside ``folder`` that may be bundles (hidden ones skipped)."""
    if not folder.is_dir():
        return []
    return [entry for entry in sorted(folder.iterdir()) if not entry.name.startswith(".")
            and (entry.is_dir() or (entry.suffix.lower() == ARCHIVE_SUFFIX and entry.is_file()))]


def find_bundles(dirs: Iterable[Path] | None = None) -> BundleScan:
    """Every bundle (folder or ``.i2i``) directly inside the model folders (default :func:`model_dirs`).

    Names stay unique and nothing is dropped: a bundle whose name an earlier folder's bundle has is listed
    as ``NAME@user``; one whose name is taken in its own folder as well is reported in ``errors``. A broken
    bundle is an entry in ``errors`` and never stops the scan.
    """
    by_name: dict[str, Bundle] = {}
    folder_of: dict[str, int] = {}  # name -> index of the folder that listed it
    errors: dict[Path, str] = {}
    for index, folder in enumerate(model_dirs() if dirs is None else dirs):
        for entry in bundle_entries(folder):
            try:
                bundle = load_bundle(entry)
            except BundleError as exc:
                errors[entry] = str(exc)
                continue
            if folder_of.get(bundle.name, index) < index:
                bundle.name = USER_ALIAS.format(name=bundle.name)
            if bundle.name in by_name:
                errors[entry] = (f"{entry}: a model named {bundle.name!r} is already listed "
                                 f"({by_name[bundle.name].source}); install it under another name")
                continue
            by_name[bundle.name], folder_of[bundle.name] = bundle, index
    return BundleScan(sorted(by_name.values(), key=lambda b: b.name), errors)


def resolve_bundle(name_or_path: str | os.PathLike) -> Bundle:
    """A bundle given by path (folder or ``.i2i``) or by name among :func:`find_bundles`."""
    path = Path(name_or_path)
    if path.exists():
        return load_bundle(path)
    scan = find_bundles()
    for bundle in scan.bundles:
        if bundle.name == str(name_or_path):
            return bundle
    known = ", ".join(b.name for b in scan.bundles) or "none installed"
    raise BundleError(f"no model named {str(name_or_path)!r} (available: {known})")


def student_for(teacher_name: str, bundles: Iterable[Bundle]) -> Bundle | None:
    """The student of the bundle named ``teacher_name`` among ``bundles`` (e.g. :func:`find_bundles`' list): one
    whose ``student_of`` is that name and, when the teacher is among ``bundles``, of its family with its
    directions (so it can stand in for it). Trained students before untrained ones, then by name; None if none."""
    listed = list(bundles)
    teacher = next((b for b in listed if b.name == teacher_name), None)
    students = [b for b in listed if b.student_of == teacher_name and b.name != teacher_name and (
        teacher is None or (b.family == teacher.family
                            and [d.id for d in b.directions] == [d.id for d in teacher.directions]))]
    return min(students, key=lambda b: (b.untrained, b.name), default=None)

"""Installing a bundle into the user's models folder, without ever hiding a shipped model or losing one.

The copy is built in a hidden ``.install-*`` folder beside the target and moved into place; a model being
replaced is first moved into a hidden ``.old-*`` folder and put back if the swap fails. Leftovers of a killed
install are handled by the next one: a model found only in an ``.old-*`` folder is put back, the rest deleted.
"""
from __future__ import annotations

import json
import os
import secrets
import shutil
import time
from pathlib import Path

from .. import paths
from .library import bundle_entries, find_bundles
from .loader import load_bundle
from .manifest import check_model_name
from .model import MANIFEST, Bundle, BundleError

INSTALL_PREFIX, OLD_PREFIX = ".install-", ".old-"
LEFTOVER_GRACE_S = 600  # a half-built copy younger than this may belong to an install still running


class BundleNameClash(BundleError):
    """Installing would take the name of an existing model: ``shipped`` is True when that is a shipped model
    (never replaced, not even with ``overwrite``), False when it is one the user installed."""

    def __init__(self, name: str, shipped: bool, where: Path | None = None) -> None:
        owner = "ships with the app and is never replaced" if shipped else \
            f"is already installed{f' at {where}' if where else ''}"
        super().__init__(f"a model named {name!r} {owner}")
        self.name, self.shipped = name, shipped

    def __reduce__(self):  # keeps the attributes across pickling (worker processes)
        return type(self), (self.name, self.shipped)


def _names_in(folder: Path) -> dict[str, Path]:
    """Model names taken in ``folder`` -> the entry taking it: each bundle's name and each entry's own name."""
    taken = {entry.name: entry for entry in bundle_entries(folder)}
    for bundle in find_bundles([folder]).bundles:
        taken.setdefault(bundle.manifest.get("name", bundle.name), bundle.source)
    return taken


def suggest_free_name(name: str) -> str:
    """``name-2``, ``name-3``, ...: the first name that neither a shipped nor an installed model has."""
    taken = set(_names_in(paths.shipped_models_dir())) | set(_names_in(paths.user_models_dir()))
    n = 2
    while f"{name}-{n}" in taken:
        n += 1
    return f"{name}-{n}"


def clean_leftovers(models: Path) -> None:
    """Finish what a killed install left: put back a model found only in an ``.old-*`` folder, delete the rest."""
    now = time.time()
    for entry in list(models.iterdir()) if models.is_dir() else []:
        if entry.name.startswith(OLD_PREFIX) and entry.is_dir():
            for kept in entry.iterdir():
                if not (models / kept.name).exists():
                    os.replace(kept, models / kept.name)
            shutil.rmtree(entry, ignore_errors=True)
        elif entry.name.startswith(INSTALL_PREFIX) and now - entry.stat().st_mtime > LEFTOVER_GRACE_S:
            shutil.rmtree(entry, ignore_errors=True)


def _check_name_free(name: str, overwrite: bool, models: Path) -> None:
    if name in _names_in(paths.shipped_models_dir()):
        raise BundleNameClash(name, shipped=True)
    holder = _names_in(models).get(name)
    if holder is not None and not (overwrite and holder == models / name):
        raise BundleNameClash(name, shipped=False, where=holder)


def _hidden_folder(models: Path, prefix: str) -> Path:
    """A new hidden folder (mode from the umask, unlike ``tempfile.mkdtemp``'s 0700)."""
    folder = models / f"{prefix}{secrets.token_hex(4)}"
    folder.mkdir()
    return folder


def install_bundle(src: str | os.PathLike, *, overwrite: bool = False, rename_to: str | None = None) -> Bundle:
    """Validate a bundle (graphs included) and copy it, as a folder, into :func:`user_models_dir`.

    Installed under its manifest's name, or ``rename_to`` (the installed manifest says so). A name that a
    shipped model has raises :class:`BundleNameClash` always; one that an installed model has raises it unless
    ``overwrite``. A failed install leaves the models folder as it was.
    """
    bundle = load_bundle(src, check_graphs=True)
    name = check_model_name(rename_to if rename_to is not None else bundle.name)
    models = paths.user_models_dir()
    try:
        models.mkdir(parents=True, exist_ok=True)
        clean_leftovers(models)
    except OSError as exc:
        raise BundleError(f"cannot prepare the models folder {models} ({exc.strerror or exc})") from None
    _check_name_free(name, overwrite, models)
    target = models / name
    try:
        tmp = _hidden_folder(models, INSTALL_PREFIX)
        try:
            for file in [*(g.file for g in bundle.graphs), *(a.file for a in bundle.arrays)]:
                shutil.copyfile(bundle.path / file, tmp / file)
            if name == bundle.name:
                shutil.copyfile(bundle.path / MANIFEST, tmp / MANIFEST)
            else:
                renamed = dict(bundle.manifest, name=name)
                (tmp / MANIFEST).write_text(json.dumps(renamed, indent=2, ensure_ascii=False) + "\n",
                                            encoding="utf-8")
            _swap_into_place(tmp, target, models)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except OSError as exc:
        raise BundleError(f"cannot install {name} into {models} ({exc.strerror or exc}); nothing changed") from None
    return load_bundle(target)


def _swap_into_place(built: Path, target: Path, models: Path) -> None:
    """Move ``built`` to ``target``; a model already there is moved aside first and put back on failure."""
    if not target.exists():
        os.replace(built, target)
        return
    old = _hidden_folder(models, OLD_PREFIX)
    os.replace(target, old / target.name)
    try:
        os.replace(built, target)
    except OSError:
        os.replace(old / target.name, target)  # if even this fails, the next install puts it back
        old.rmdir()
        raise
    shutil.rmtree(old, ignore_errors=True)

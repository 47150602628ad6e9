"""Atomic file writes: a hidden temporary file in the target's folder, fsync, then a rename onto the target.

Readers see the old file or the new one, never half of one; on any failure the temporary file is removed
and the target is untouched. The temporary file is created with mode ``0o666`` and the kernel applies the
process's umask, so published files get the usual permissions (0644 under umask 022), not ``mkstemp``'s
0600. Temporary names follow :data:`TEMP_NAME` so that ones left by a killed process can be recognised and
removed (:func:`remove_stale_temps`).
"""
from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .filenames import NAME_MAX, fit_name

# ".<target name>.<12 hex digits>.tmp<target suffix>": the suffix keeps writers that pick a format from the
# file name (video encoders) working on the temporary file.
TEMP_NAME = re.compile(r"^\.(?P<target>.+)\.[0-9a-f]{12}\.tmp(\.[^.]*)?$")


def _temp_part(name: str) -> str:
    """The target name as it appears in its temporary names: shortened (stably) where the whole temporary
    name would be longer than file systems allow."""
    overhead = len(".") + len(".0123456789ab.tmp") + len(os.fsencode(os.path.splitext(name)[1]))
    return fit_name(name, NAME_MAX - overhead)


def temp_name(target: Path) -> str:
    """A fresh temporary name for ``target``'s folder (see :data:`TEMP_NAME`)."""
    return f".{_temp_part(target.name)}.{secrets.token_hex(6)}.tmp{target.suffix}"


class AtomicTarget:
    """A reserved temporary file beside ``path`` that becomes ``path`` on :meth:`commit`.

    Use it directly for writers that live longer than one call (a video recorder), or through
    :func:`atomic_path` / :func:`atomic_open`. ``overwrite=False`` refuses to replace an existing ``path``
    (``FileExistsError``), atomically where the file system supports hard links.
    """

    def __init__(self, path: str | os.PathLike, overwrite: bool = True) -> None:
        self.path = Path(path)
        self.overwrite = overwrite
        if not overwrite and os.path.lexists(self.path):
            raise FileExistsError(errno.EEXIST, "already exists", str(self.path))
        while True:
            self.tmp = self.path.with_name(temp_name(self.path))
            try:
                os.close(os.open(self.tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
                break
            except FileExistsError:
                continue
        self._open = True

    def commit(self) -> Path:
        """Flush the temporary file to disk and rename it onto the target; returns the target."""
        try:
            fd = os.open(self.tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            self._publish()
        except BaseException:
            self.discard()
            raise
        self._open = False
        return self.path

    def _publish(self) -> None:
        if self.overwrite:
            os.replace(self.tmp, self.path)
            return
        try:
            os.link(self.tmp, self.path)  # fails if the target appeared meanwhile: no race
        except FileExistsError:
            raise
        except OSError:  # no hard links here (FAT, some network shares): check, then rename
            if os.path.lexists(self.path):
                raise FileExistsError(errno.EEXIST, "already exists", str(self.path)) from None
            os.replace(self.tmp, self.path)
            return
        os.unlink(self.tmp)

    def discard(self) -> None:
        """Remove the temporary file (the target is left as it was)."""
        self._open = False
        try:
            os.unlink(self.tmp)
        except FileNotFoundError:
            pass

    def __enter__(self) -> Path:
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def atomic_path(path: str | os.PathLike, overwrite: bool = True) -> AtomicTarget:
    """``with atomic_path(target) as tmp:`` write the file ``tmp`` yourself (PIL, a video encoder); on
    success it replaces ``target``, on an error it is removed."""
    return AtomicTarget(path, overwrite=overwrite)


@contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb", overwrite: bool = True, **kwargs) -> Iterator[IO]:
    """``with atomic_open(target, "w", encoding="utf-8") as handle:`` write through ``handle``; on success
    the data replaces ``target``, on any error ``target`` is untouched and nothing is left behind."""
    if not mode.startswith("w"):
        raise ValueError(f"atomic_open writes a new file: mode must start with 'w', not {mode!r}")
    with AtomicTarget(path, overwrite=overwrite) as tmp, open(tmp, mode, **kwargs) as handle:
        yield handle


def write_bytes(path: str | os.PathLike, data: bytes, overwrite: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically, creating its folder; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_open(path, "wb", overwrite=overwrite) as handle:
        handle.write(data)
    return path


def remove_stale_temps(folder: Path, targets: Iterable[str], older_than: float) -> int:
    """Delete this module's temporary files in ``folder`` left by a killed writer: only names matching
    :data:`TEMP_NAME` for one of ``targets`` (file names), only those last modified before ``older_than``
    (a ``time.time()``). Returns how many were removed."""
    wanted = {_temp_part(name) for name in targets}
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        match = TEMP_NAME.match(entry.name)
        if match is None or match["target"] not in wanted:
            continue
        try:
            if entry.is_file(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_mtime < older_than:
                os.unlink(entry.path)
                removed += 1
        except OSError:
            continue
    return removed

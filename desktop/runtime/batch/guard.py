"""No job writes onto one of its inputs: outputs are compared with the inputs by resolved path and by
file identity (device and inode), which also catches hard links, symlinked folders and the other
spelling of a name on a case-insensitive file system."""
from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from i2i_common.filenames import printable


class OutputOverInputError(ValueError):
    """A job's naming would write an output onto one of its inputs; the job is refused."""

    def __init__(self, source: str, victim: str) -> None:
        super().__init__(printable(
            f"refused: the output of {source} would overwrite the input {victim}; "
            "choose another output folder or naming pattern"))


class InputGuard:
    """The identities of a job's input files (relative paths under ``input_dir``)."""

    def __init__(self, input_dir: Path, rel_paths: Iterable[str]) -> None:
        root = Path(os.path.abspath(input_dir.resolve()))
        self._by_path: dict[str, str] = {}
        self._by_inode: dict[tuple[int, int], str] = {}
        for rel in rel_paths:
            path = root / rel
            self._by_path[os.path.normcase(str(path))] = rel
            try:
                info = path.stat()
            except OSError:
                continue
            self._by_inode[(info.st_dev, info.st_ino)] = rel

    def input_at(self, target: Path) -> str | None:
        """The input (relative path) that writing ``target`` would overwrite, or None."""
        try:
            resolved = target.resolve()
        except (OSError, RuntimeError):
            resolved = Path(os.path.abspath(target))
        hit = self._by_path.get(os.path.normcase(str(resolved)))
        if hit is not None:
            return hit
        try:
            info = target.stat()
        except OSError:
            return None
        return self._by_inode.get((info.st_dev, info.st_ino))

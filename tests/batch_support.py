"""Helpers shared by the batch tests of several wings: a folder of real photos with stray files, tree hashes,
and a translator that counts its calls."""
from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

GOOD = ["cat_01.jpg", "cat_02.jpg", "sub/cat_03.jpg", "sub/deeper/cat_04.jpg", "chat_été_猫.jpg"]
STRAY = ["Thumbs.db", ".DS_Store", "desktop.ini", "notes.txt", ".hidden.jpg", "sub/readme.md"]


def make_photo_folder(root: Path, shared_data: Path) -> Path:
    """Real cat photos (one with a unicode name, some in sub-folders), a corrupt JPEG and stray files."""
    cats = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))
    folder = root / "in"
    for rel, src in zip(GOOD, cats):
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, folder / rel)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    for rel in STRAY:
        (folder / rel).write_bytes(b"stray")
    return folder


def tree_hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


class CountingTranslator:
    """A real translator that remembers which image sizes it was asked to translate, and how often."""

    def __init__(self, inner):
        self._inner = inner
        self.calls = 0

    def translate(self, *args, **kwargs):
        self.calls += 1
        return self._inner.translate(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self._inner, name)

"""Find the domains of a dataset folder in the layouts users have.

- ``trainA/ trainB/ [testA/ testB/]`` (CycleGAN, U-GAT-IT): domains A and B; a folder named ``x2y``
  names them ``x`` and ``y``.
- AFHQ ``train/<class>/`` and ``val/<class>/`` (or ``test/<class>/``): two classes picked by name
  (``data.domain_names``), or the only two there are.
- one unlabeled folder: a single domain holding every image below it.

Images are found recursively, by extension, case-insensitively; hidden folders and stray files are skipped.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from i2i_common.images import IMAGE_EXTENSIONS


class DatasetError(ValueError):
    """The dataset folder cannot be used as asked (missing, empty domain, ambiguous classes)."""


@dataclass(frozen=True)
class ImageDomain:
    """One image domain: its display name and its train/test image files (sorted)."""

    name: str
    train: tuple[Path, ...]
    test: tuple[Path, ...]


@dataclass(frozen=True)
class DatasetLayout:
    """What was found in a dataset folder."""

    root: Path
    kind: str  # "ab", "afhq" or "unlabeled"
    domains: tuple[ImageDomain, ...]

    @property
    def name(self) -> str:
        return self.root.name


def find_images(folder: Path) -> tuple[Path, ...]:
    """Image files below ``folder``, recursively, sorted; hidden files/folders are skipped."""
    if not folder.is_dir():
        return ()
    found = []
    for path in folder.rglob("*"):
        rel = path.relative_to(folder)
        if any(part.startswith(".") for part in rel.parts):
            continue
        if path.suffix.lower() in IMAGE_EXTENSIONS and path.is_file():
            found.append(path)
    return tuple(sorted(found))


def _names_from_folder(root: Path) -> tuple[str, str]:
    left, sep, right = root.name.partition("2")
    return (left, right) if sep and left and right else ("A", "B")


def _ab_layout(root: Path, names: Sequence[str]) -> DatasetLayout:
    labels = tuple(names) if names else _names_from_folder(root)
    domains = tuple(ImageDomain(label, find_images(root / f"train{letter}"), find_images(root / f"test{letter}"))
                    for label, letter in zip(labels, "AB"))
    return DatasetLayout(root, "ab", domains)


def class_dirs(folder: Path) -> list[str]:
    """The class folder names in an AFHQ split folder (``train/``), sorted; hidden folders skipped."""
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def _afhq_layout(root: Path, names: Sequence[str]) -> DatasetLayout:
    classes = class_dirs(root / "train")
    if not names:
        if len(classes) != 2:
            raise DatasetError(f"{root / 'train'} has {len(classes)} classes ({', '.join(classes)}); "
                               "pick two with data.domain_names=[\"cat\", \"dog\"]")
        names = classes
    missing = [n for n in names if n not in classes]
    if missing:
        raise DatasetError(f"class folder(s) {', '.join(missing)} not found in {root / 'train'} "
                           f"(classes there: {', '.join(classes) or 'none'})")
    test_root = root / "val" if (root / "val").is_dir() else root / "test"
    domains = tuple(ImageDomain(n, find_images(root / "train" / n), find_images(test_root / n)) for n in names)
    return DatasetLayout(root, "afhq", domains)


def find_layout(root: str | Path, domain_names: Sequence[str] = ()) -> DatasetLayout:
    """Recognise the layout of ``root``; ``domain_names`` names (AB) or picks (AFHQ) the domains."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"dataset folder not found: {root}")
    if (root / "trainA").is_dir() or (root / "trainB").is_dir():
        layout = _ab_layout(root, domain_names)
    elif (root / "train").is_dir() and class_dirs(root / "train"):
        layout = _afhq_layout(root, domain_names)
    else:
        name = domain_names[0] if domain_names else root.name
        layout = DatasetLayout(root, "unlabeled", (ImageDomain(name, find_images(root), ()),))
    return layout


def require_domains(layout: DatasetLayout, count: int) -> None:
    """Raise :class:`DatasetError` unless ``layout`` has ``count`` domains, each with training images."""
    if len(layout.domains) != count:
        raise DatasetError(f"{layout.root}: this model needs {count} domain(s), the {layout.kind} layout "
                           f"gives {len(layout.domains)} (use trainA/trainB or AFHQ train/<class>/ folders)")
    for domain, letter in zip(layout.domains, "AB"):
        if not domain.train:
            where = {"ab": f"train{letter}", "afhq": f"train/{domain.name}"}.get(layout.kind, "")
            raise DatasetError(f"domain {domain.name!r} has no training images"
                               f" (looked in {layout.root / where})")

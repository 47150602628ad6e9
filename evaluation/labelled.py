"""Labelled classes for evaluating a model that discovered its own domains (TUNIT's clusters).

Each ``--data`` folder gives its domains as classes: ``trainA``/``trainB`` + ``testA``/``testB`` (named
by the folder, ``cat2dog`` gives "cat" and "dog", else "<dataset>/testA"), or every AFHQ class
``train/<class>/`` + ``val/<class>/`` (named by the class). Test images are what is evaluated; training
images train the N-class judge (:class:`evaluation.classifier.TrainingClasses`).
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from evaluation.classifier import TrainingClasses
from evaluation.data import DomainFolders, EvalDataError
from i2i_common.datasets import DatasetError, class_dirs, find_layout

# the names the trainA/trainB layout gives when the folder name does not say them (not "x2y")
_PLACEHOLDER_NAMES = ("A", "B")
_SPLIT_DEPTH = {"ab": 1, "afhq": 2}  # testA/... vs val/<class>/...


@dataclass(frozen=True)
class LabelledClass:
    """One class: its name, and its dataset's files under ``train_split`` and ``test_split``."""

    name: str
    data: DomainFolders  # files: {train_split: [...], test_split: [...]}
    train_split: str     # "trainA", "train/cat"
    test_split: str      # "testA", "val/cat"

    @property
    def dataset(self) -> str:
        return self.data.root.name


def _split(root: Path, files: Sequence[Path], depth: int) -> str:
    """The folder (relative to the dataset) holding ``files``: testA, or val/cat."""
    return "/".join(files[0].relative_to(root).parts[:depth])


def _classes_of(root: Path) -> list[LabelledClass]:
    afhq = not ((root / "trainA").is_dir() or (root / "trainB").is_dir()) and (root / "train").is_dir()
    try:
        layout = find_layout(root, class_dirs(root / "train") if afhq else ())
    except DatasetError as exc:
        raise EvalDataError(str(exc)) from None
    if layout.kind not in _SPLIT_DEPTH:
        raise EvalDataError(f"{layout.root}: no trainA/trainB/testA/testB or AFHQ train/<class>/ and "
                            "val/<class>/ folders (labelled classes are needed to score clusters)")
    classes = []
    for index, domain in enumerate(layout.domains):
        expected = (f"train{'AB'[index]}", f"test{'AB'[index]}") if layout.kind == "ab" else \
            (f"train/{domain.name}", f"val/{domain.name}")
        for files, where in zip((domain.train, domain.test), expected):
            if not files:
                raise EvalDataError(f"{layout.root}: no images in {where}")
        train_split, test_split = (_split(layout.root, files, _SPLIT_DEPTH[layout.kind])
                                   for files in (domain.train, domain.test))
        name = f"{layout.name}/{test_split}" if layout.kind == "ab" and domain.name in _PLACEHOLDER_NAMES \
            else domain.name
        data = DomainFolders(layout.root, layout.kind, {train_split: list(domain.train), test_split: list(domain.test)})
        classes.append(LabelledClass(name, data, train_split, test_split))
    return classes


def open_labelled(roots: Sequence[str | Path]) -> list[LabelledClass]:
    """The labelled classes of the datasets at ``roots``, in order. A class name found in more than one
    dataset is qualified with its dataset ("afhq/cat"); the same dataset twice is refused."""
    seen: set[Path] = set()
    classes: list[LabelledClass] = []
    for root in map(Path, roots):
        if root.resolve() in seen:
            raise EvalDataError(f"{root}: the same dataset is given twice")
        seen.add(root.resolve())
        classes += _classes_of(root)
    counts = Counter(c.name for c in classes)
    classes = [c if counts[c.name] == 1 else LabelledClass(f"{c.dataset}/{c.name}", c.data, c.train_split, c.test_split)
               for c in classes]
    if len({c.name for c in classes}) != len(classes):
        raise EvalDataError(f"two datasets share a folder name and classes ({', '.join(c.name for c in classes)}); "
                            "rename one folder")
    return classes


def training_classes(classes: Sequence[LabelledClass]) -> TrainingClasses:
    """The classes' training images, for the N-class judge; the fingerprint covers names, paths and sizes."""
    parts = [[c.name, c.data.fingerprint((c.train_split,))] for c in classes]
    fingerprint = hashlib.sha256(json.dumps(parts).encode("utf-8")).hexdigest()
    return TrainingClasses(tuple(c.name for c in classes), tuple(c.data.files[c.train_split] for c in classes),
                           tuple(str(c.data.root / c.train_split) for c in classes), fingerprint)

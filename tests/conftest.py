"""Shared pytest set-up: offscreen Qt, paths to the real data in ../shared/data."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real training/test images beside the checkout (see ../shared/data/README.md)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


# ---- model bundles (devkit/bundle_factory.py builds tiny real ONNX bundles for every family)


@pytest.fixture(autouse=True)
def isolated_user_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty i2i Studio data folder (models, cache), never the real one."""
    home = tmp_path_factory.mktemp("i2i-home")
    monkeypatch.setenv("I2I_STUDIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory) -> dict[str, Path]:
    """family -> folder of a tiny, untrained but real bundle (munit also has int8 and fp16 variants). Read-only:
    copy it (shutil.copytree) before changing anything."""
    from devkit.bundle_factory import FAMILIES, build_bundle

    root = tmp_path_factory.mktemp("tiny_bundles")
    return {family: build_bundle(family, root / f"tiny-{family}", int8=family == "munit",
                                 fp16=family == "munit").path
            for family in FAMILIES}


@pytest.fixture(scope="session")
def tiny_archives(tmp_path_factory, tiny_bundles) -> dict[str, Path]:
    """family -> the same tiny bundles as single ``.i2i`` archives."""
    import json

    from export.bundle_writer import write_bundle

    root = tmp_path_factory.mktemp("tiny_archives")
    archives = {}
    with pytest.MonkeyPatch.context() as mp:  # the writer's check extracts the archive into a cache
        mp.setenv("I2I_STUDIO_HOME", str(root / "home"))
        for family, folder in tiny_bundles.items():
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            files = {p.name: p for p in folder.iterdir() if p.name != "manifest.json"}
            archives[family] = write_bundle(root / f"tiny-{family}.i2i", manifest, files, archive=True).source
    return archives


# ---- training data (trainer tests)


@pytest.fixture
def tiny_cat2dog(tmp_path, shared_data) -> Path:
    """A small copy of cat2dog in the trainA/trainB/testA/testB layout: 4 train and 2 test images per domain."""
    import shutil

    root = tmp_path / "cat2dog"
    for split, count in (("train", 4), ("test", 2)):
        for letter in "AB":
            source = sorted((shared_data / "cat2dog" / f"{split}{letter}").glob("*.jpg"))[:count]
            target = root / f"{split}{letter}"
            target.mkdir(parents=True)
            for path in source:
                shutil.copy(path, target / path.name)
    return root

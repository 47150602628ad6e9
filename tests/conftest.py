"""Shared pytest set-up: offscreen Qt, paths to the real data in ../shared/data."""
from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from repo_paths import FIXTURE_BUNDLES, SHARED_DATA, TINY_FAMILIES

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")



@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The real training/test images beside the checkout (see ../shared/data/README.md)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"real test data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(params=[0o022, 0o077, 0o002])
def umask(request) -> Iterator[int]:
    """Run the test under each of three umasks (files written must follow it)."""
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


# ---- model bundles: the committed tiny bundles of every family (tests/repo_paths.py)


@pytest.fixture(autouse=True)
def isolated_user_home(tmp_path_factory, monkeypatch) -> Path:
    """Every test gets its own empty i2i Studio data folder (models, cache), never the real one."""
    home = tmp_path_factory.mktemp("i2i-home")
    monkeypatch.setenv("I2I_STUDIO_HOME", str(home))
    return home


@pytest.fixture(scope="session")
def tiny_bundles(tmp_path_factory) -> dict[str, Path]:
    """family -> folder of a tiny, untrained but real bundle (munit also has int8 and fp16 variants): a session-wide
    copy of the committed fixture. Read-only: copy it (shutil.copytree) before changing anything."""
    root = tmp_path_factory.mktemp("tiny_bundles")
    return {family: Path(shutil.copytree(FIXTURE_BUNDLES / f"tiny-{family}", root / f"tiny-{family}"))
            for family in TINY_FAMILIES}


@pytest.fixture(scope="session")
def tiny_archives(tmp_path_factory) -> dict[str, Path]:
    """family -> the same tiny bundles as single ``.i2i`` archives (session-wide copies of the committed ones)."""
    root = tmp_path_factory.mktemp("tiny_archives")
    return {family: Path(shutil.copy(FIXTURE_BUNDLES / f"tiny-{family}.i2i", root / f"tiny-{family}.i2i"))
            for family in TINY_FAMILIES}


# ---- training data (trainer tests)


@pytest.fixture
def tiny_cat2dog(tmp_path, shared_data) -> Path:
    """A small copy of cat2dog in the trainA/trainB/testA/testB layout: 4 train and 2 test images per domain."""
    root = tmp_path / "cat2dog"
    for split, count in (("train", 4), ("test", 2)):
        for letter in "AB":
            source = sorted((shared_data / "cat2dog" / f"{split}{letter}").glob("*.jpg"))[:count]
            target = root / f"{split}{letter}"
            target.mkdir(parents=True)
            for path in source:
                shutil.copy(path, target / path.name)
    return root

"""Shared set-up of the trainer tests."""
from __future__ import annotations

import shutil

import pytest
import torch


@pytest.fixture(autouse=True)
def one_torch_thread():
    """Tiny models on a shared 2-core machine: one thread avoids oversubscription (and is much faster)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def one_folder(tiny_cat2dog, tmp_path):
    """Eight pet photos in one folder, no labels (the unlabeled layout)."""
    folder = tmp_path / "pets"
    folder.mkdir()
    for path in sorted(tiny_cat2dog.glob("train?/*.jpg")):
        shutil.copy(path, folder / f"{path.parent.name}_{path.name}")
    return folder

"""Dataset layouts: trainA/trainB, AFHQ train/<class>/, one unlabeled folder; recursive, case-insensitive scan."""
from __future__ import annotations

import shutil

import pytest

from i2i_common.datasets import DatasetError, find_layout, require_domains


def _copy(shared_data, split: str, count: int, target):
    target.mkdir(parents=True, exist_ok=True)
    files = sorted((shared_data / "cat2dog" / split).glob("*.jpg"))[:count]
    for path in files:
        shutil.copy(path, target / path.name)
    return files


def test_ab_layout_names_domains_from_folder_name(tiny_cat2dog):
    layout = find_layout(tiny_cat2dog)
    assert layout.kind == "ab"
    assert [d.name for d in layout.domains] == ["cat", "dog"]
    assert [len(d.train) for d in layout.domains] == [4, 4]
    assert [len(d.test) for d in layout.domains] == [2, 2]
    require_domains(layout, 2)


def test_ab_layout_explicit_names_and_plain_folder_name(tiny_cat2dog, tmp_path):
    plain = tmp_path / "mydata"
    shutil.copytree(tiny_cat2dog, plain)
    assert [d.name for d in find_layout(plain).domains] == ["A", "B"]
    assert [d.name for d in find_layout(plain, ["x", "y"]).domains] == ["x", "y"]


def test_scan_is_recursive_case_insensitive_and_skips_stray_files(tiny_cat2dog):
    nested = tiny_cat2dog / "trainA" / "more" / "deeper"
    nested.mkdir(parents=True)
    source = next((tiny_cat2dog / "trainA").glob("*.jpg"))
    shutil.copy(source, nested / "UPPER.JPG")
    shutil.copy(source, nested / "mixed.JpEg")
    (tiny_cat2dog / "trainA" / "Thumbs.db").write_bytes(b"\0" * 10)
    (tiny_cat2dog / "trainA" / "notes.txt").write_text("not an image")
    hidden = tiny_cat2dog / "trainA" / ".cache"
    hidden.mkdir()
    shutil.copy(source, hidden / "hidden.jpg")
    names = sorted(p.name for p in find_layout(tiny_cat2dog).domains[0].train)
    assert len(names) == 6
    assert "UPPER.JPG" in names and "mixed.JpEg" in names and "hidden.jpg" not in names


def test_afhq_layout_picks_two_classes(shared_data, tmp_path):
    root = tmp_path / "afhq"
    _copy(shared_data, "trainA", 3, root / "train" / "cat")
    _copy(shared_data, "trainB", 2, root / "train" / "dog")
    _copy(shared_data, "trainB", 1, root / "train" / "wild")
    _copy(shared_data, "testA", 1, root / "val" / "cat")
    _copy(shared_data, "testB", 1, root / "val" / "dog")
    with pytest.raises(DatasetError, match="3 classes"):
        find_layout(root)
    layout = find_layout(root, ["dog", "cat"])
    assert layout.kind == "afhq"
    assert [(d.name, len(d.train), len(d.test)) for d in layout.domains] == [("dog", 2, 1), ("cat", 3, 1)]
    with pytest.raises(DatasetError, match="tiger"):
        find_layout(root, ["cat", "tiger"])


def test_unlabeled_folder_is_one_domain(shared_data, tmp_path):
    root = tmp_path / "faces"
    _copy(shared_data, "trainA", 2, root / "part1")
    _copy(shared_data, "trainB", 2, root / "part2")
    layout = find_layout(root)
    assert layout.kind == "unlabeled" and len(layout.domains) == 1 and len(layout.domains[0].train) == 4
    with pytest.raises(DatasetError, match="needs 2 domain"):
        require_domains(layout, 2)


def test_empty_domain_is_a_clear_error(tiny_cat2dog):
    for path in (tiny_cat2dog / "trainB").iterdir():
        path.unlink()
    (tiny_cat2dog / "trainB" / "readme.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="'dog' has no training images.*trainB"):
        require_domains(find_layout(tiny_cat2dog), 2)


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="not found"):
        find_layout(tmp_path / "nope")

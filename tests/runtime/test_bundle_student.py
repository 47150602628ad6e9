"""A distilled student's bundle names its teacher (``student_of``): read and checked like any name a bundle
gives, exposed as ``Bundle.student_of`` (None otherwise), and found by ``student_for``."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from desktop.runtime.bundle import MANIFEST, BundleError, find_bundles, load_bundle, student_for


def variant(source: Path, folder: Path, **fields) -> Path:
    """A copy of the bundle folder ``source`` in ``folder``, its manifest changed by ``fields`` (None deletes)."""
    target = folder / str(fields.get("name", source.name))
    shutil.copytree(source, target)
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    manifest.update(fields)
    (target / MANIFEST).write_text(json.dumps({k: v for k, v in manifest.items() if v is not None}), encoding="utf-8")
    return target


def test_student_of_is_the_teachers_name_or_none(tiny_bundles, tmp_path):
    assert load_bundle(tiny_bundles["munit"]).student_of is None
    student = variant(tiny_bundles["munit"], tmp_path, name="fast", student_of="cat2dog-munit")
    assert load_bundle(student, check_graphs=True).student_of == "cat2dog-munit"
    painted = variant(tiny_bundles["munit"], tmp_path, name="painted", student_of="\x1b[31mcat2dog-munit\u202e")
    assert load_bundle(painted).student_of == "cat2dog-munit"  # escape and bidi characters removed when read


@pytest.mark.parametrize("value, message", [
    (5, "manifest field manifest.student_of has the wrong type"),
    (True, "manifest field manifest.student_of has the wrong type"),
    ("", "student_of: name '' may only use letters"),
    ("../teacher", "student_of: name '../teacher' may only use letters"),
    ("a b", "student_of: name 'a b' may only use letters"),
    ("x" * 65, "may only use letters, digits"),
    ("nul.i2i", "student_of: name 'nul.i2i' is reserved for a device on Windows"),
])
def test_a_bad_student_of_is_refused_in_one_line(tiny_bundles, tmp_path, value, message):
    bundle = variant(tiny_bundles["munit"], tmp_path, name="bad", student_of=value)
    with pytest.raises(BundleError, match="bad") as info:
        load_bundle(bundle)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_student_for_finds_a_students_that_can_stand_in_for_its_teacher(tiny_bundles, tmp_path):
    folder = tmp_path / "models"
    shutil.copytree(tiny_bundles["munit"], folder / "tiny-munit")
    variant(tiny_bundles["munit"], folder, name="b-untrained", student_of="tiny-munit")
    variant(tiny_bundles["munit"], folder, name="c-trained", student_of="tiny-munit", untrained=False)
    variant(tiny_bundles["munit"], folder, name="a-other", student_of="another-teacher", untrained=False)
    variant(tiny_bundles["ugatit"], folder, name="a-ugatit", student_of="tiny-munit", untrained=False)
    scan = find_bundles([folder])
    assert not scan.errors and len(scan.bundles) == 5
    assert student_for("tiny-munit", scan.bundles).name == "c-trained"  # trained first; the U-GAT-IT cannot stand in
    without_teacher = [b for b in scan.bundles if b.name != "tiny-munit"]
    assert student_for("tiny-munit", without_teacher).name == "a-ugatit"  # no teacher listed to compare with
    untrained_only = [b for b in scan.bundles if b.name in ("tiny-munit", "b-untrained")]
    assert student_for("tiny-munit", untrained_only).name == "b-untrained"
    assert student_for("a-other", scan.bundles) is None and student_for("tiny-munit", []) is None

"""The shipped sample images and how the app picks the ones that fit a direction."""
from __future__ import annotations

from desktop.runtime.samples import sample_images, samples_of
from i2i_common.images import read_image


def test_shipped_samples_cover_both_default_models_and_are_readable():
    names = [p.name for p in sample_images()]
    assert names == sorted(names) and "CREDITS.md" not in names
    for domain in ("cat", "dog", "selfie", "anime"):
        assert samples_of(domain), domain
    for path in sample_images():
        assert read_image(path).ndim == 3


def test_samples_of_matches_the_domain_prefix_only(tmp_path):
    for name in ("Dog_1.JPG", "dog_2.png", "dogfish_1.jpg", "cat_1.jpg", "dog_notes.txt"):
        (tmp_path / name).write_bytes(b"x")
    samples = sample_images(tmp_path)
    assert [p.name for p in samples] == ["Dog_1.JPG", "cat_1.jpg", "dog_2.png", "dogfish_1.jpg"]
    assert [p.name for p in samples_of("dog", samples)] == ["Dog_1.JPG", "dog_2.png"]
    assert samples_of("", samples) == [] and samples_of("zebra", samples) == []
    assert sample_images(tmp_path / "missing") == []

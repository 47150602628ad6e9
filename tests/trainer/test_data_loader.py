"""Transforms, the exactly-resumable unpaired dataset, rank sharding, and corrupt files."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import torch

from trainer.data import (
    DatasetError,
    ShortSideCrop,
    SkipReport,
    StreamPosition,
    UnpairedDataset,
    eval_transform,
    find_layout,
    fixed_images,
    load_rgb,
    to_tensor,
    to_uint8,
    train_transform,
    unpaired_data,
)
from trainer.data.stream import ShardedInfiniteSampler


def test_transforms_shapes_range_and_determinism(tiny_cat2dog):
    image = load_rgb(find_layout(tiny_cat2dog).domains[0].train[0])
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    x = eval_transform(image, 72, 64)
    assert x.shape == (3, 64, 64) and x.dtype == torch.float32
    assert -1.0 <= x.min() and x.max() <= 1.0
    torch.testing.assert_close(x, eval_transform(image, 72, 64))
    np.testing.assert_array_equal(to_uint8(to_tensor(image)), image)  # [-1, 1] and back is lossless
    a = train_transform(image, 72, 64, True, np.random.default_rng(3))
    b = train_transform(image, 72, 64, True, np.random.default_rng(3))
    torch.testing.assert_close(a, b)
    crops = {tuple(train_transform(image, 96, 64, True, np.random.default_rng(s))[0, :2, :2].flatten().tolist())
             for s in range(8)}
    assert len(crops) > 1  # random crops/flips differ between seeds


def test_non_square_image_resizes_short_side(tmp_path):
    rgb = np.zeros((50, 100, 3), np.uint8)
    rgb[:, 50:] = 255  # right half white
    x = eval_transform(rgb, 40, 40)  # -> 40x80, centre 40x40 crop straddles the edge
    assert x.shape == (3, 40, 40)
    assert x[:, :, :10].max() < -0.9 and x[:, :, -10:].min() > 0.9


def test_dataset_order_depends_only_on_position(tiny_cat2dog):
    domains = find_layout(tiny_cat2dog).domains
    ds = UnpairedDataset(domains, ShortSideCrop(36, 32, True), seed=5)
    first = ds[7]["images"]
    again = UnpairedDataset(domains, ShortSideCrop(36, 32, True), seed=5)[7]["images"]
    for x, y in zip(first, again, strict=True):
        torch.testing.assert_close(x, y)
    other_seed = UnpairedDataset(domains, ShortSideCrop(36, 32, True), seed=6)[7]["images"]
    assert not all(torch.equal(x, y) for x, y in zip(first, other_seed, strict=True))


def test_each_epoch_visits_every_image(tiny_cat2dog):
    domains = find_layout(tiny_cat2dog).domains
    ds = UnpairedDataset(domains, ShortSideCrop(32, 32, False), seed=1)
    for epoch in range(2):
        seen = {tuple(ds[p]["images"][0][:, 16, 16].tolist()) for p in range(4 * epoch, 4 * epoch + 4)}
        assert len(seen) == 4


def test_sampler_shards_positions_by_rank():
    take = lambda s: list(itertools.islice(iter(s), 6))  # noqa: E731
    rank0, rank1 = take(ShardedInfiniteSampler(0, 0, 2)), take(ShardedInfiniteSampler(0, 1, 2))
    assert rank0 == [0, 2, 4, 6, 8, 10] and rank1 == [1, 3, 5, 7, 9, 11]
    assert take(ShardedInfiniteSampler(3, 1, 2))[0] == 7  # resumed after 3 samples


def test_unpaired_recipe_batches_with_a_worker(tiny_cat2dog):
    layout = find_layout(tiny_cat2dog)
    config = {"data": {"load_size": 36, "size": 32, "flip": True, "workers": 1}, "train": {"sample_rows": 3}}
    data = unpaired_data(layout, config, StreamPosition(batch_size=3, seed=1), domains=2)
    batch = next(iter(data.batches))
    assert [tuple(x.shape) for x in batch["images"]] == [(3, 3, 32, 32), (3, 3, 32, 32)]
    direct = UnpairedDataset(layout.domains, ShortSideCrop(36, 32, True), seed=1)[0]["images"][1]
    torch.testing.assert_close(batch["images"][1][0], direct)  # workers do not change the data
    # fixed samples: the test images (2 per domain here), centre-cropped as the exporter's calibration images
    assert [tuple(x.shape) for x in data.fixed] == [(2, 3, 32, 32), (2, 3, 32, 32)]
    torch.testing.assert_close(data.fixed[1], fixed_images(layout.domains[1].test, 3, 36, 32))
    assert data.record == {"dataset": "cat2dog", "layout": "ab", "images": {"a": 4, "b": 4},
                           "domains": {"a": "cat", "b": "dog"}}
    resumed = unpaired_data(layout, config, StreamPosition(batch_size=3, seed=1, start=3), domains=2)
    torch.testing.assert_close(next(iter(resumed.batches))["images"][0][0],
                               UnpairedDataset(layout.domains, ShortSideCrop(36, 32, True), seed=1)[3]["images"][0])


def test_unpaired_recipe_checks_the_domain_count(tiny_cat2dog):
    config = {"data": {"load_size": 36, "size": 32, "flip": True, "workers": 0}, "train": {"sample_rows": 1}}
    with pytest.raises(DatasetError, match="needs 3 domain"):
        unpaired_data(find_layout(tiny_cat2dog), config, StreamPosition(batch_size=1, seed=1), domains=3)


def test_corrupt_file_is_skipped_named_and_counted(tiny_cat2dog):
    bad = tiny_cat2dog / "trainA" / "broken.jpg"
    good = next((tiny_cat2dog / "trainA").glob("flickr*.jpg"))
    bad.write_bytes(good.read_bytes()[:3000])  # truncated JPEG
    (tiny_cat2dog / "trainA" / "zzz_garbage.png").write_bytes(b"this is not a png")
    ds = UnpairedDataset(find_layout(tiny_cat2dog).domains, ShortSideCrop(36, 32, True), seed=1)
    skipped = sorted({p for pos in range(len(ds)) for p in ds[pos]["skipped"]})
    assert [Path(p).name for p in skipped] == ["broken.jpg", "zzz_garbage.png"]
    report = SkipReport()
    with pytest.warns(RuntimeWarning) as caught:
        report.add(skipped)
        report.add(skipped)  # a second sighting does not warn again
    assert sorted(Path(str(w.message).split(": ", 1)[1]).name for w in caught) == ["broken.jpg", "zzz_garbage.png"]
    assert report.summary().startswith("2 unreadable training image(s) skipped")


def test_all_files_corrupt_is_an_error(tmp_path, tiny_cat2dog):
    for path in (tiny_cat2dog / "trainB").iterdir():
        path.write_bytes(b"garbage")
    ds = UnpairedDataset(find_layout(tiny_cat2dog).domains, ShortSideCrop(36, 32, True), seed=1)
    with pytest.raises(DatasetError, match="no readable image"):
        ds[0]


def test_fixed_images_skip_unreadable(tiny_cat2dog):
    files = sorted((tiny_cat2dog / "testA").iterdir())
    (tiny_cat2dog / "testA" / "0bad.jpg").write_bytes(b"bad")
    batch = fixed_images([tiny_cat2dog / "testA" / "0bad.jpg", *files], 5, 36, 32)
    assert batch.shape == (2, 3, 32, 32)

"""The uint8 dataset cache: the same batches as the JPEG loader, built once, rebuilt when the dataset changes or
the cache is damaged, on the device or memory-mapped, and exact resume of a training run that uses it."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

from i2i_common.images import write_image
from trainer.config import load_config
from trainer.data import (
    StreamPosition,
    cached_unpaired_data,
    crop_flip_batch,
    domain_cache,
    find_layout,
    to_tensor,
    unpaired_data,
)
from trainer.data import cache as cache_module
from trainer.loop import train
from trainer.metrics import read_metrics

from tiny_munit import TINY_MUNIT

TINY = [*TINY_MUNIT, "train.sample_every=100"]



def data_config(tmp_path: Path, on_device: bool = False) -> dict:
    return {"data": {"load_size": 36, "size": 32, "flip": True, "workers": 0, "cache_dir": str(tmp_path / "cache"),
                     "on_device": on_device}, "train": {"sample_rows": 2}}


def first_batches(data, count: int) -> list[dict]:
    batches = iter(data.batches)
    return [next(batches) for _ in range(count)]


@pytest.mark.parametrize("on_device", [False, True])
def test_cached_batches_equal_the_jpeg_loaders_bit_for_bit(tiny_cat2dog, tmp_path, on_device):
    layout, config = find_layout(tiny_cat2dog), data_config(tmp_path, on_device)
    for position in (StreamPosition(3, seed=4), StreamPosition(3, seed=4, start=5),
                     StreamPosition(2, seed=4, start=1, rank=1, world_size=2)):
        cached = first_batches(cached_unpaired_data(layout, config, position, 2), 3)
        jpeg = first_batches(unpaired_data(layout, config, position, 2), 3)
        for a, b in zip(cached, jpeg, strict=True):
            for x, y in zip(a["images"], b["images"], strict=True):
                assert x.dtype == torch.float32 and torch.equal(x, y)
    data = cached_unpaired_data(layout, config, StreamPosition(1, seed=4), 2)
    reference = unpaired_data(layout, config, StreamPosition(1, seed=4), 2)
    assert data.record == reference.record and all(torch.equal(x, y) for x, y in zip(data.fixed, reference.fixed))


def test_crop_flip_batch_matches_slicing():
    images = torch.randint(0, 256, (3, 10, 10, 3), dtype=torch.uint8)
    tops, lefts, flips = torch.tensor([0, 2, 5]), torch.tensor([4, 0, 1]), torch.tensor([True, False, True])
    out = crop_flip_batch(images, tops, lefts, flips, 5)
    for i in range(3):
        crop = images[i, tops[i]:tops[i] + 5, lefts[i]:lefts[i] + 5].numpy()
        expected = to_tensor(crop[:, ::-1] if flips[i] else crop)
        assert torch.equal(out[i], expected)


def test_cache_is_built_once_and_rebuilt_for_a_changed_dataset(tiny_cat2dog, tmp_path, monkeypatch):
    decoded = []
    real = cache_module.cached_image
    monkeypatch.setattr(cache_module, "cached_image", lambda path, size: decoded.append(path) or real(path, size))
    files = list(find_layout(tiny_cat2dog).domains[0].train)
    first = domain_cache(files, 36, tmp_path)
    assert first.images.shape == (4, 36, 36, 3) and isinstance(first.images, np.memmap) and len(decoded) == 4
    again = domain_cache(files, 36, tmp_path)
    assert len(decoded) == 4 and np.array_equal(again.images, first.images)  # opened, not decoded again
    domain_cache(files, 40, tmp_path)  # another load_size: another cache
    files[0].write_bytes(files[1].read_bytes())  # an edited file (another size): rebuilt
    changed = domain_cache(files, 36, tmp_path)
    assert len(decoded) == 12 and np.array_equal(changed.images[0], changed.images[1])
    assert not any(".tmp" in p.name for p in tmp_path.iterdir())


@pytest.mark.parametrize("damage", ["truncate", "flip_byte", "no_manifest"])
def test_partial_or_corrupt_cache_is_rebuilt(tiny_cat2dog, tmp_path, damage):
    files = find_layout(tiny_cat2dog).domains[0].train
    good = np.array(domain_cache(files, 36, tmp_path).images)
    npy, = tmp_path.glob("*.npy")
    if damage == "truncate":
        os.truncate(npy, npy.stat().st_size // 2)
    elif damage == "flip_byte":
        raw = bytearray(npy.read_bytes())
        raw[-100] ^= 0xFF
        npy.write_bytes(bytes(raw))
    else:
        npy.with_suffix(".json").unlink()
    assert np.array_equal(domain_cache(files, 36, tmp_path).images, good)


def test_non_square_images_are_centre_cropped_and_unreadable_ones_reported(tiny_cat2dog, tmp_path):
    wide = np.zeros((50, 100, 3), np.uint8)
    wide[:, :25] = 255  # the left quarter white: outside the centre square
    write_image(tiny_cat2dog / "trainA" / "wide.png", wide)
    (tiny_cat2dog / "trainA" / "broken.jpg").write_bytes(b"not a jpeg")
    layout = find_layout(tiny_cat2dog)
    cache = domain_cache(layout.domains[0].train, 36, tmp_path)
    assert len(cache.files) == 5 and [Path(p).name for p in cache.skipped] == ["broken.jpg"]
    assert cache.images[cache.files.index(str(tiny_cat2dog / "trainA" / "wide.png"))].max() == 0
    data = cached_unpaired_data(layout, data_config(tmp_path), StreamPosition(2, seed=1), 2)
    batches = first_batches(data, 2)
    assert [Path(p).name for p in batches[0]["skipped"]] == ["broken.jpg"] and batches[1]["skipped"] == []


def tiny_config(*overrides: str) -> dict:
    return load_config("munit_cpu", [*TINY, "data.cache=true", *overrides])


def losses_of(run: Path) -> list[dict[str, float]]:
    return [{k: v for k, v in row.items() if k != "it_per_s"} for row in read_metrics(run / "metrics.csv")]


def test_training_on_the_cache_resumes_exactly(tiny_cat2dog, tmp_path):
    config = ("train.iterations=6", "train.checkpoint_every=3", "train.batch_size=2")
    full, part = tmp_path / "full", tmp_path / "part"
    train(tiny_config(*config), tiny_cat2dog, full, device="cpu", progress=False)
    assert len(list((full / "data_cache").glob("*.npy"))) == 2  # one per domain, in the run folder
    train(tiny_config(*config, "train.iterations=3"), tiny_cat2dog, part, device="cpu", progress=False)
    torch.manual_seed(999)
    assert train(tiny_config(*config), tiny_cat2dog, part, device="cpu", resume=True, progress=False).iteration == 6
    assert losses_of(part) == losses_of(full)
    jpeg = tmp_path / "jpeg"  # square images: the cache trains exactly as the JPEG loader
    train(tiny_config(*config, "data.cache=false"), tiny_cat2dog, jpeg, device="cpu", progress=False)
    assert losses_of(jpeg) == losses_of(full)


def test_tiny_config_trains_with_the_dataset_on_the_device(tiny_cat2dog, tmp_path):
    result = train(tiny_config("train.iterations=3", "data.on_device=true", f"data.cache_dir='{tmp_path / 'c'}'"),
                   tiny_cat2dog, tmp_path / "run", device="cpu", progress=False)
    assert result.iteration == 3 and all(np.isfinite(v) for v in result.last_losses.values())
    assert list((tmp_path / "c").glob("*.npy")) and not (tmp_path / "run" / "data_cache").exists()



def test_data_share_benchmark_measures_both_loaders(tiny_cat2dog, tmp_path):
    from benchmarks.train_data_share import measure  # the helper train_throughput.py reports from

    row = measure("munit_cpu", "cpu", 2, "none", data=tiny_cat2dog, seconds=0.0, warmup=1,
                  cache_dir=tmp_path / "cache")
    assert (row["config"], row["device"], row["batch_size"], row["amp"]) == ("munit_cpu", "cpu", 2, "none")
    for loader in ("jpeg", "cache"):
        m = row[loader]
        assert 0.0 <= m["data_share"] < 1.0 and m["timed_steps"] >= 1 and m["step_s"] > m["wait_s_per_step"] >= 0
        assert m["batch_cost_s"] > 0 and m["images_per_s"] > 0
    assert list((tmp_path / "cache").glob("*.npy"))

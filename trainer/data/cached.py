"""The unpaired recipe over the uint8 cache: batches gathered from memory-mapped arrays (or from uint8 tensors
already on the training device) and augmented as tensor ops on the whole batch, in the main process.

The order and the augmentation are the JPEG loader's (:class:`UnpairedDataset`): sample ``p`` of domain ``d``
is row ``p mod n`` of the epoch's permutation, cropped and flipped by :func:`crop_draw` with a generator
seeded by (seed, d, p). For square images (every image of the shipped datasets) a batch is therefore the
same, bit for bit, as the JPEG loader's; sharding by rank and exact resume work alike.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from i2i_common.datasets import DatasetError, DatasetLayout, require_domains

from .cache import DomainCache, domain_cache
from .stream import StreamPosition, TrainingData
from .transforms import ShortSideCrop, crop_draw
from .unpaired import permutation, unpaired_data, unpaired_samples


def crop_flip_batch(images: torch.Tensor, tops: torch.Tensor, lefts: torch.Tensor, flips: torch.Tensor,
                    size: int) -> torch.Tensor:
    """uint8 ``B x L x L x 3`` -> float32 ``B x 3 x size x size`` in [-1, 1]: per sample the ``size`` window at
    (``tops[i]``, ``lefts[i]``), mirrored where ``flips[i]``; one gather on whatever device ``images`` is."""
    steps = torch.arange(size, device=images.device)
    rows = tops[:, None] + steps  # B x size
    cols = lefts[:, None] + torch.where(flips[:, None], size - 1 - steps, steps)
    batch = torch.arange(images.shape[0], device=images.device)[:, None, None]
    crops = images[batch, rows[:, :, None], cols[:, None, :]]  # B x size x size x 3
    return crops.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0).contiguous()


class CachedUnpairedBatches:
    """Endless batches ``{"images": [B x 3 x size x size per domain], "skipped": [...]}`` for this rank, from
    ``position.start`` on, augmented on ``position.device``: each batch's uint8 rows are gathered from the
    memory map and moved there, or, with ``on_device``, the whole arrays are copied there once and gathered
    there. The files left out of the caches are reported with the first batch."""

    def __init__(self, caches: Sequence[DomainCache], transform: ShortSideCrop, position: StreamPosition,
                 on_device: bool):
        for cache in caches:
            if not cache.files:
                raise DatasetError(f"no readable training image among {len(cache.skipped)} files")
        self.caches, self.transform, self.position = caches, transform, position
        self.resident = ([torch.from_numpy(np.array(c.images)).to(position.device) for c in caches]
                         if on_device else None)

    def _indices(self, d: int, positions: Sequence[int]) -> tuple[np.ndarray, list[tuple[int, int, bool]]]:
        n, seed, t = len(self.caches[d].files), self.position.seed, self.transform
        rows, draws = [], []
        for p in positions:
            epoch, offset = divmod(p, n)
            rows.append(int(permutation(seed, d, epoch, n)[offset]))
            draws.append(crop_draw(np.random.default_rng([seed, d, p]), t.load_size, t.load_size, t.size, t.flip))
        return np.asarray(rows), draws

    def _domain_batch(self, d: int, positions: Sequence[int]) -> torch.Tensor:
        rows, draws = self._indices(d, positions)
        if self.resident is not None:
            images = self.resident[d][torch.from_numpy(rows).to(self.position.device)]
        else:
            images = torch.from_numpy(self.caches[d].images[rows])  # a copy: fancy indexing of the memmap
            if self.position.pin_memory:
                images = images.pin_memory()
            images = images.to(self.position.device, non_blocking=True)  # uint8 moves; the crop runs there
        tops, lefts, flips = (torch.tensor(v, device=images.device) for v in zip(*draws, strict=True))
        return crop_flip_batch(images, tops, lefts, flips, self.transform.size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        pos, batch = self.position, self.position.batch_size
        skipped = [p for c in self.caches for p in c.skipped]
        k = pos.start
        while True:
            positions = [(k + j) * pos.world_size + pos.rank for j in range(batch)]
            k += batch
            yield {"images": [self._domain_batch(d, positions) for d in range(len(self.caches))],
                   "skipped": skipped}
            skipped = []


def cache_folder(data_cfg: Mapping[str, Any], position: StreamPosition) -> Path:
    """``data.cache_dir`` when set, else ``data_cache`` in the run folder."""
    if data_cfg["cache_dir"]:
        return Path(data_cfg["cache_dir"]).expanduser()
    if position.run_dir is None:
        raise DatasetError("data.cache needs data.cache_dir or a run folder")
    return Path(position.run_dir) / "data_cache"


def cached_unpaired_data(layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition,
                         domains: int) -> TrainingData:
    """:func:`unpaired_data` with the uint8 cache (``data.cache``): the same fixed samples and record, the
    batches from :class:`CachedUnpairedBatches` (on the device with ``data.on_device``)."""
    data_cfg = config["data"]
    require_domains(layout, domains)
    transform = ShortSideCrop.from_config(data_cfg)
    folder = cache_folder(data_cfg, position)
    threads = max(1, int(data_cfg["workers"]))
    caches = [domain_cache(d.train, transform.load_size, folder, threads) for d in layout.domains]
    fixed, record = unpaired_samples(layout, config, transform)
    batches = CachedUnpairedBatches(caches, transform, position, bool(data_cfg["on_device"]))
    return TrainingData(batches, fixed, record)


def unpaired_recipe(layout: DatasetLayout, config: Mapping[str, Any], position: StreamPosition,
                    domains: int) -> TrainingData:
    """The unpaired recipe the config asks for: :func:`cached_unpaired_data` with ``data.cache``, else
    :func:`unpaired_data` (the JPEG files through the loader's workers)."""
    recipe = cached_unpaired_data if config["data"]["cache"] else unpaired_data
    return recipe(layout, config, position, domains)

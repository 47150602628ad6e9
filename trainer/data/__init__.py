"""Training data: transforms, the stream contract between a family's recipe and the loop, and the recipes
(:func:`unpaired_data`: one image per domain per sample, MUNIT's; :func:`cached_unpaired_data`: the same
from the uint8 cache)."""
from i2i_common.datasets import DatasetError, DatasetLayout, ImageDomain, find_layout, require_domains

from .cache import DomainCache, domain_cache
from .cached import CachedUnpairedBatches, cached_unpaired_data, crop_flip_batch, unpaired_recipe
from .stream import SkipReport, StreamPosition, TrainingData, endless_loader, first_readable
from .transforms import ImageTransform, ShortSideCrop, eval_transform, load_rgb, to_tensor, to_uint8, train_transform
from .unpaired import UnpairedDataset, fixed_images, unpaired_data

__all__ = ["CachedUnpairedBatches", "DatasetError", "DatasetLayout", "DomainCache", "ImageDomain", "ImageTransform",
           "ShortSideCrop", "SkipReport", "StreamPosition", "TrainingData", "UnpairedDataset",
           "cached_unpaired_data", "crop_flip_batch", "domain_cache", "endless_loader", "eval_transform",
           "find_layout", "first_readable", "fixed_images", "load_rgb", "require_domains", "to_tensor", "to_uint8",
           "train_transform", "unpaired_data", "unpaired_recipe"]

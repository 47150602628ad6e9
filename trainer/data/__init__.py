"""Training data: dataset layouts, OpenCV/numpy transforms, an exactly-resumable unpaired loader."""
from .dataset import SkipReport, UnpairedDataset, fixed_images, train_loader
from i2i_common.datasets import DatasetError, DatasetLayout, ImageDomain, find_layout, require_domains
from .transforms import eval_transform, load_rgb, to_tensor, to_uint8, train_transform

__all__ = ["DatasetError", "DatasetLayout", "ImageDomain", "SkipReport", "UnpairedDataset", "eval_transform",
           "find_layout", "fixed_images", "load_rgb", "require_domains", "to_tensor", "to_uint8",
           "train_loader", "train_transform"]

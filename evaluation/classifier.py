"""A small domain classifier for evaluating translations, trained once per set of classes and cached.

Two-domain bundles use two classes (a dataset's trainA vs trainB); the clustering evaluation of TUNIT
bundles uses N classes (several datasets' training folders, :class:`TrainingClasses`). Its verdict on
translated images ("does a translated cat look like a dog?") and its penultimate features (for KID/FID)
give a quick, dataset-specific quality signal that needs no downloaded weights. The trained weights are
cached as a plain ``state_dict`` under the user's cache folder, keyed by the fingerprint of the training
files (dataset paths, file names and sizes, class names) and the classifier config, and loaded with
``weights_only=True``.
"""
from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import logging
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from desktop.runtime.paths import cache_dir
from evaluation.data import DomainFolders, EvalDataError, load_stack, resize_square
from i2i_common.atomic import write_bytes

log = logging.getLogger(__name__)

TRAIN_SPLITS = ("trainA", "trainB")
CACHE_SUBDIR = "eval-classifiers"


@dataclass(frozen=True)
class TrainingClasses:
    """What a classifier learns to tell apart: per class a name, its training files and where they are
    (for messages), and one fingerprint of them all (part of the cache key)."""

    names: tuple[str, ...]
    files: tuple[Sequence[Path], ...]
    folders: tuple[str, ...]
    fingerprint: str


def domain_classes(data: DomainFolders) -> TrainingClasses:
    """The two-domain classes: trainA (label 0, "a") vs trainB (label 1, "b")."""
    return TrainingClasses(("a", "b"), tuple(data.files[split] for split in TRAIN_SPLITS),
                           tuple(f"{data.root} ({split})" for split in TRAIN_SPLITS), data.fingerprint(TRAIN_SPLITS))


def _classes(source: DomainFolders | TrainingClasses) -> TrainingClasses:
    return domain_classes(source) if isinstance(source, DomainFolders) else source


@dataclass(frozen=True)
class ClassifierConfig:
    """What the classifier is and how it is trained; every field is part of the cache key."""

    size: int = 64            # input side in pixels (images are centre-cropped and resized)
    width: int = 32           # channels of the first conv layer, doubled by each later one
    epochs: int = 5
    batch_size: int = 64
    lr: float = 2e-3
    max_per_domain: int = 2000  # training images per domain or class (the first N by name)
    blur_probability: float = 0.5  # share of training images blurred (downscaled and upscaled back) ...
    max_blur: float = 4.0          # ... by a factor up to this, in both domains, so sharpness is no cue
    seed: int = 0


class DomainClassifier(nn.Module):
    """Four stride-2 conv blocks, global average pool, linear layer to one logit per class (2: A, B).

    The pooled vector, standardised per dimension with the statistics of the training images (stored
    as buffers, so they are part of the cached state_dict), is the feature vector for KID/FID: the
    polynomial kernel of KID is scale dependent, and unit-variance features put the classifier's KID
    on a scale comparable across datasets and classifier trainings.
    """

    def __init__(self, width: int = 32, classes: int = 2) -> None:
        super().__init__()
        channels = [3, width, 2 * width, 4 * width, 4 * width]
        self.blocks = nn.Sequential(*[
            nn.Sequential(nn.Conv2d(cin, cout, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(cout),
                          nn.ReLU(inplace=True))
            for cin, cout in zip(channels[:-1], channels[1:])
        ])
        self.head = nn.Linear(channels[-1], classes)
        self.feature_dim = channels[-1]
        self.register_buffer("feature_mean", torch.zeros(self.feature_dim))
        self.register_buffer("feature_std", torch.ones(self.feature_dim))

    def pooled(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations [B, feature_dim] of images [B, 3, H, W] in [-1, 1]."""
        return self.blocks(x).mean(dim=(2, 3))

    def standardise(self, pooled: torch.Tensor) -> torch.Tensor:
        return (pooled - self.feature_mean) / self.feature_std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pooled(x))


@dataclass
class TrainedClassifier:
    """A ready classifier, where it is cached and whether this call trained it."""

    model: DomainClassifier
    config: ClassifierConfig
    path: Path
    trained_now: bool
    info: dict

    @torch.no_grad()
    def predict(self, images: Sequence[np.ndarray], batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """(features [N, D], class probabilities [N, classes]) for uint8 RGB images of any sizes."""
        self.model.eval()
        feats, probs = [], []
        for start in range(0, len(images), batch_size):
            pooled = self.model.pooled(to_input(images[start:start + batch_size], self.config.size))
            feats.append(self.model.standardise(pooled).numpy())
            probs.append(F.softmax(self.model.head(pooled), dim=1).numpy())
        if not feats:
            return (np.zeros((0, self.model.feature_dim), np.float32),
                    np.zeros((0, self.model.head.out_features), np.float32))
        return np.concatenate(feats), np.concatenate(probs)

    def summary(self) -> dict:
        """Where it is cached, whether this run trained it, its config and training summary, its feature size."""
        return {"cache": str(self.path), "trained_now": self.trained_now, "config": self.info["config"],
                "training": {k: v for k, v in self.info.items() if k != "config"},
                "feature_dim": self.model.feature_dim}

    def embed(self, images: Sequence[np.ndarray], batch_size: int = 128) -> tuple[np.ndarray, np.ndarray]:
        """(features [N, D], P(domain B) [N]) for uint8 RGB images of any sizes (two-domain classifier)."""
        feats, probs = self.predict(images, batch_size)
        return feats, probs[:, 1]


def to_input(images: Sequence[np.ndarray], size: int) -> torch.Tensor:
    """uint8 RGB images (any sizes; centre-cropped and resized where needed) -> float
    [N, 3, size, size] in [-1, 1]."""
    batch = np.stack([im if im.shape[:2] == (size, size) else resize_square(im, size) for im in images])
    x = torch.from_numpy(batch).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


def cache_key(data: DomainFolders | TrainingClasses, config: ClassifierConfig) -> str:
    """Hash of the training files' fingerprint (for a two-domain dataset: its path + trainA/trainB files)
    and the classifier config."""
    payload = json.dumps({"data": _classes(data).fingerprint, "config": dataclasses.asdict(config)}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def get_classifier(data: DomainFolders | TrainingClasses, config: ClassifierConfig = ClassifierConfig(),
                   cache: Path | None = None) -> TrainedClassifier:
    """The cached classifier for ``data`` (a two-domain dataset, or N training classes) and ``config``,
    training (and caching) it if there is none."""
    classes = _classes(data)
    folder = (cache or cache_dir()) / CACHE_SUBDIR
    key = cache_key(classes, config)
    weights, info_path = folder / f"{key}.pt", folder / f"{key}.json"
    if weights.is_file() and info_path.is_file():
        try:
            model = DomainClassifier(config.width, len(classes.names))
            model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
            info = json.loads(info_path.read_text(encoding="utf-8"))
            log.info("using cached domain classifier %s", weights)
            return TrainedClassifier(model.eval(), config, weights, False, info)
        except (RuntimeError, OSError, ValueError, KeyError, pickle.UnpicklingError) as exc:
            log.warning("cached classifier %s unusable (%s); retraining", weights, exc)
    model, info = train(classes, config)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    write_bytes(weights, buffer.getvalue())
    write_bytes(info_path, json.dumps(info, indent=2).encode("utf-8"))
    return TrainedClassifier(model.eval(), config, weights, True, info)


def train(classes: TrainingClasses, config: ClassifierConfig) -> tuple[DomainClassifier, dict]:
    """A classifier trained on the classes (label i for ``classes.names[i]``; two-domain: trainA vs trainB)
    with flips, small shifts and blur, and a summary (image counts per class, final training accuracy,
    seconds). The same data and config give the same weights: initialisation and augmentation are seeded
    from ``config.seed``, without touching the global random state."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        model = DomainClassifier(config.width, len(classes.names))
        return model, _fit(model, classes, config)


def _fit(model: DomainClassifier, classes: TrainingClasses, config: ClassifierConfig) -> dict:
    start = time.perf_counter()
    rng = np.random.default_rng(config.seed)
    pad = config.size // 16
    stacks = [load_stack(list(files[:config.max_per_domain]), config.size + 2 * pad) for files in classes.files]
    for stack, folder in zip(stacks, classes.folders):
        if len(stack) == 0:
            raise EvalDataError(f"no readable training images in {folder}")
    images = np.concatenate(stacks)
    labels = np.concatenate([np.full(len(s), i, np.int64) for i, s in enumerate(stacks)])
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    steps = config.epochs * -(-len(images) // config.batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=steps)
    model.train()
    correct = seen = 0
    for epoch in range(config.epochs):
        correct = seen = 0
        order = rng.permutation(len(images))
        for first in range(0, len(order), config.batch_size):
            batch = order[first:first + config.batch_size]
            x = _augment(images[batch], config.size, rng, config)
            y = torch.from_numpy(labels[batch])
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            correct += int((logits.argmax(1) == y).sum())
            seen += len(batch)
        log.info("classifier epoch %d/%d: train accuracy %.3f", epoch + 1, config.epochs, correct / seen)
    _fit_feature_statistics(model, images, config.size, pad)
    return {"images": {name: int(len(stack)) for name, stack in zip(classes.names, stacks)},
            "train_accuracy": correct / seen, "train_seconds": round(time.perf_counter() - start, 1),
            "config": dataclasses.asdict(config)}


@torch.no_grad()
def _fit_feature_statistics(model: DomainClassifier, images: np.ndarray, size: int, pad: int,
                            batch_size: int = 256) -> None:
    """Set the model's feature mean/std buffers from the (centre-cropped) training images."""
    model.eval()
    centre = images[:, pad:pad + size, pad:pad + size]
    pooled = torch.cat([model.pooled(to_input(centre[i:i + batch_size], size))
                        for i in range(0, len(centre), batch_size)])
    model.feature_mean.copy_(pooled.mean(dim=0))
    model.feature_std.copy_(pooled.std(dim=0).clamp_min(1e-6))


def _augment(images: np.ndarray, size: int, rng: np.random.Generator, config: ClassifierConfig) -> torch.Tensor:
    """Random crop of ``size`` from the padded images, a random horizontal flip, and random blur.

    The blur matters: when one domain's photos are sharper than the other's (AFHQ cats vs DogFaceNet
    dogs), a classifier learns sharpness, and then calls every blurry translation a dog."""
    top, left = rng.integers(0, images.shape[1] - size + 1, size=2)
    crop = images[:, top:top + size, left:left + size]
    if rng.random() < 0.5:
        crop = crop[:, :, ::-1]
    return to_input(training_blur(crop, config, rng), size)


def training_blur(images: Sequence[np.ndarray], config: ClassifierConfig, rng: np.random.Generator
                  ) -> list[np.ndarray]:
    """``images`` with each blurred (:func:`blur`, factor up to ``max_blur``) with ``blur_probability``, as the
    classifier's training images are: the judge's real images get the same treatment."""
    return [blur(image, rng.uniform(1.0, config.max_blur)) if rng.random() < config.blur_probability else image
            for image in images]


def blur(image: np.ndarray, factor: float) -> np.ndarray:
    """Downscale by ``factor`` (area) and upscale back (bilinear): the softness of a low-resolution photo."""
    size = image.shape[0]
    small = max(2, round(size / factor))
    low = cv2.resize(np.ascontiguousarray(image), (small, small), interpolation=cv2.INTER_AREA)
    return cv2.resize(low, (size, size), interpolation=cv2.INTER_LINEAR)

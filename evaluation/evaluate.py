"""Evaluate a bundle, direction by direction, on the held-out test images of a dataset.

Translation goes through the app's own runtime (onnxruntime, ``desktop.runtime``), so the numbers are
those of the bundle the user ships; torch is only used for the classifier and the Inception features.
"""
from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np
from tqdm import tqdm

from desktop.runtime.attention import overlay
from desktop.runtime.bundle import Bundle, Direction
from desktop.runtime.style import RandomStyle, StyleSource
from desktop.runtime.translators import Translator
from evaluation.classifier import TrainedClassifier
from evaluation.data import DomainFolders, read_rgb
from evaluation.diversity import mean_pairwise
from evaluation.inception import InceptionFeatures
from evaluation.metrics import fid, kid

log = logging.getLogger(__name__)

TEST_SPLITS = ("testA", "testB")


class EvalSetupError(Exception):
    """The bundle and the data cannot be evaluated together; the message says why."""


@dataclass(frozen=True)
class EvalOptions:
    max_images: int | None = None  # test images per domain (all when None)
    styles: int = 4                # styles per input for diversity and the grid (multimodal families)
    diversity_inputs: int = 8
    grid_inputs: int = 4
    kid_subsets: int = 100
    kid_subset_size: int = 1000


@dataclass
class DirectionResult:
    """Every number measured for one direction (None where not measured)."""

    direction: str
    source: str
    target: str
    images: int
    target_rate: float
    classifier_accuracy_on_real_target: float
    classifier_kid_x100: float
    classifier_kid_x100_std: float | None
    classifier_fid: float
    classifier_kid_x100_untranslated: float  # baseline: the source images themselves against the target
    inception_kid_x100: float | None = None
    inception_kid_x100_std: float | None = None
    inception_fid: float | None = None
    diversity: dict | None = None
    grid_rows: list = field(default_factory=list, repr=False)

    def as_dict(self) -> dict:
        data = asdict(self)
        data.pop("grid_rows")
        return data


def split_of_domains(bundle: Bundle, swap: bool = False) -> dict[str, str]:
    """domain id -> test split: the bundle's first domain is A and its second B (the trainer's
    convention), or the other way round with ``swap``."""
    if len(bundle.domains) != 2 or any(d.source == "*" for d in bundle.directions):
        raise EvalSetupError(f"{bundle.name}: i2i-eval needs a two-domain bundle with source/target directions "
                             f"(this {bundle.family} bundle has {len(bundle.domains)} domains)")
    splits = TEST_SPLITS[::-1] if swap else TEST_SPLITS
    return {domain.id: split for domain, split in zip(bundle.domains, splits, strict=True)}


def load_test_images(data: DomainFolders, split: str, max_images: int | None) -> list[np.ndarray]:
    """The readable test images of ``split`` at full size (the first ``max_images`` files by name)."""
    images = [im for im in map(read_rgb, data.files[split][:max_images]) if im is not None]
    if len(images) < 2:
        raise EvalSetupError(f"{data.root / split}: fewer than 2 readable images")
    return images


def evaluate_direction(translator: Translator, direction: Direction, splits: dict[str, str],
                       tests: dict[str, list[np.ndarray]], classifier: TrainedClassifier,
                       inception: InceptionFeatures | None, options: EvalOptions) -> DirectionResult:
    """Translate the source test images (seeded random style per image, ignored by models without style),
    then measure everything."""
    bundle = translator.bundle
    source_split, target_split = splits[direction.source], splits[direction.target]
    sources = tests[source_split]
    translated = [
        _outputs(translator, image, direction.id, [RandomStyle(seed=i)])[0]
        for i, image in enumerate(tqdm(sources, desc=f"translate {direction.id}", unit="img", leave=False))
    ]
    real = tests[target_split]
    fake_feats, fake_prob_b = classifier.embed(translated)
    real_feats, real_prob_b = classifier.embed(real)
    target_is_b = target_split == TEST_SPLITS[1]
    kid_cls = kid(fake_feats, real_feats, options.kid_subsets, options.kid_subset_size)
    result = DirectionResult(
        direction=direction.id,
        source=bundle.domain(direction.source).name,
        target=bundle.domain(direction.target).name,
        images=len(sources),
        target_rate=float(np.mean((fake_prob_b >= 0.5) == target_is_b)),
        classifier_accuracy_on_real_target=float(np.mean((real_prob_b >= 0.5) == target_is_b)),
        classifier_kid_x100=kid_cls.x100[0],
        classifier_kid_x100_std=kid_cls.x100[1],
        classifier_fid=fid(fake_feats, real_feats),
        classifier_kid_x100_untranslated=kid(classifier.embed(sources)[0], real_feats, options.kid_subsets,
                                             options.kid_subset_size).x100[0],
    )
    if inception is not None:
        fake_inc, real_inc = inception.embed(translated), inception.embed(real)
        kid_inc = kid(fake_inc, real_inc, options.kid_subsets, options.kid_subset_size)
        result.inception_kid_x100, result.inception_kid_x100_std = kid_inc.x100
        result.inception_fid = fid(fake_inc, real_inc)
    if translator.capabilities.random_styles and options.styles >= 2:
        seeds = [RandomStyle(seed=k) for k in range(options.styles)]
        groups = [_outputs(translator, image, direction.id, seeds)
                  for image in sources[:max(options.diversity_inputs, options.grid_inputs)]]
        diversity = mean_pairwise([classifier.embed(g)[0] for g in groups[:options.diversity_inputs]],
                                  groups[:options.diversity_inputs])
        result.diversity = asdict(diversity)
        result.grid_rows = [[image, *group]
                            for image, group in zip(sources, groups[:options.grid_inputs], strict=False)]
    elif translator.capabilities.attention_map:  # the translation and where the model looked
        result.grid_rows = [[image, res.image[:, :, :3], overlay(res.image, res.heatmap)]
                            for image in sources[:options.grid_inputs]
                            for res in [translator.translate(image, direction.id)]]
    else:
        result.grid_rows = [[image, out] for image, out in zip(sources[:options.grid_inputs], translated, strict=False)]
    return result


def _outputs(translator: Translator, image: np.ndarray, direction: str, styles: list[StyleSource]) -> np.ndarray:
    """The RGB translations of ``image`` under ``styles`` (one runtime call, the input encoded once), [K, H, W, 3]."""
    return np.stack([r.image[:, :, :3] for r in translator.translate_many(image, direction, styles)])


def held_out_images(data: DomainFolders, options: EvalOptions) -> dict[str, list[np.ndarray]]:
    """split -> its readable test images."""
    return {split: load_test_images(data, split, options.max_images) for split in TEST_SPLITS}


def bundle_summary(bundle: Bundle) -> dict:
    return {"name": bundle.name, "title": bundle.title, "family": bundle.family, "untrained": bundle.untrained,
            "path": str(bundle.source), "domains": {d.id: d.name for d in bundle.domains},
            "train_size": bundle.image.train_size, "iterations": bundle.provenance.get("iterations")}


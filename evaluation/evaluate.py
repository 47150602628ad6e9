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
from desktop.runtime.style import StyleSource
from desktop.runtime.translators import Translator
from evaluation.content import content_score
from evaluation.data import DomainFolders, read_rgb
from evaluation.diversity import mean_pairwise
from evaluation.inception import InceptionFeatures
from evaluation.judge import Judge, Judgement
from evaluation.metrics import fid, kid
from evaluation.modes import ModePlan, grid_title, pick_references, plans_for

log = logging.getLogger(__name__)

TEST_SPLITS = ("testA", "testB")


class EvalSetupError(Exception):
    """The bundle and the data cannot be evaluated together; the message says why."""


@dataclass(frozen=True)
class EvalOptions:
    max_images: int | None = None  # test images per domain (all when None)
    styles: int = 4                # random styles per input (multimodal families), see evaluation.modes
    references: int = 3            # real target test images whose styles are the reference (and mix) modes
    grid_inputs: int = 4
    kid_subsets: int = 100
    kid_subset_size: int = 1000


@dataclass
class DirectionResult:
    """Every number measured for one direction (None where not measured). The top-level figures are those
    of the headline mode (``primary_mode``: random, or fixed for models without style); ``modes`` has
    the figures of every mode."""

    direction: str
    source: str
    target: str
    images: int
    primary_mode: str
    target_rate: float
    reject_rate: float
    classifier_accuracy_on_real_target: float
    real_target: dict  # the judge's rates on the real target test images: the ceiling of the rates above
    classifier_kid_x100: float
    classifier_kid_x100_std: float | None
    classifier_fid: float
    classifier_kid_x100_untranslated: float  # baseline: the source images themselves against the target
    content: dict
    modes: dict[str, dict]
    inception_kid_x100: float | None = None
    inception_kid_x100_std: float | None = None
    inception_fid: float | None = None
    diversity: dict | None = None
    grid_rows: list = field(default_factory=list, repr=False)
    grid_title: str = field(default="", repr=False)

    def as_dict(self) -> dict:
        data = asdict(self)
        for name in ("grid_rows", "grid_title"):
            data.pop(name)
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
                       tests: dict[str, list[np.ndarray]], judge: Judge, inception: InceptionFeatures | None,
                       options: EvalOptions) -> DirectionResult:
    """Translate the source test images in every style mode the bundle has (:mod:`evaluation.modes`; one
    runtime call per input, encoded once), then judge and measure each mode against the real target images."""
    bundle = translator.bundle
    sources, real = tests[splits[direction.source]], tests[splits[direction.target]]
    plans = plans_for(translator.capabilities, options.styles, pick_references(real, options.references))
    outputs = [_outputs(translator, image, direction.id, [s for plan in plans for s in plan.styles_for(i)])
               for i, image in enumerate(tqdm(sources, desc=f"translate {direction.id}", unit="img", leave=False))]
    by_mode = _split_by_mode(outputs, plans)
    target_is_b = splits[direction.target] == TEST_SPLITS[1]
    reals = _Measured(judge.judge(real), inception.embed(real) if inception else None)
    measured = [_measure_mode(groups, sources, judge, inception, reals, target_is_b, options) for groups in by_mode]
    modes = {plan.name: m.figures for plan, m in zip(plans, measured, strict=True)}
    head, fake = plans[0], measured[0]
    headline = fake.figures
    result = DirectionResult(
        direction=direction.id, source=bundle.domain(direction.source).name,
        target=bundle.domain(direction.target).name, images=len(sources), primary_mode=head.name,
        target_rate=headline["target_rate"], reject_rate=headline["reject_rate"],
        classifier_accuracy_on_real_target=reals.judged.rates(target_is_b)["target_rate_two_class"],
        real_target=reals.judged.rates(target_is_b),
        classifier_kid_x100=headline["kid_x100"], classifier_kid_x100_std=headline["kid_x100_std"],
        classifier_fid=fid(fake.judged.features, reals.judged.features),
        classifier_kid_x100_untranslated=kid(judge.classifier.embed(sources)[0], reals.judged.features,
                                             options.kid_subsets, options.kid_subset_size).x100[0],
        content=headline["content"], modes=modes,
        inception_kid_x100=headline["inception_kid_x100"], inception_kid_x100_std=headline["inception_kid_x100_std"],
    )
    if fake.inception is not None and reals.inception is not None:
        result.inception_fid = fid(fake.inception, reals.inception)
    if head.name == "random" and head.count >= 2:
        per_input = head.count
        result.diversity = asdict(mean_pairwise(
            [fake.judged.features[i * per_input:(i + 1) * per_input] for i in range(len(sources))], by_mode[0]))
    result.grid_rows = _grid_rows(translator, direction.id, sources[:options.grid_inputs], by_mode, plans)
    result.grid_title = grid_title(result.source, result.target, plans, translator.capabilities.attention_map)
    return result


@dataclass(frozen=True)
class _Measured:
    """A set of images as the measures see them (and, for a mode's outputs, the mode's figures)."""

    judged: Judgement
    inception: np.ndarray | None
    figures: dict = field(default_factory=dict)


def _measure_mode(groups: list[np.ndarray], sources: list[np.ndarray], judge: Judge,
                  inception: InceptionFeatures | None, reals: _Measured, target_is_b: bool,
                  options: EvalOptions) -> _Measured:
    """One mode's outputs measured: ``groups[i]`` are input i's outputs in it, [K, H, W, 3]."""
    images = [image for group in groups for image in group]
    owners = [i for i, group in enumerate(groups) for _ in group]
    judged = judge.judge(images)
    kid_cls = kid(judged.features, reals.judged.features, options.kid_subsets, options.kid_subset_size)
    figures = {"styles_per_input": len(groups[0]), "outputs": len(images), **judged.rates(target_is_b),
               "kid_x100": kid_cls.x100[0], "kid_x100_std": kid_cls.x100[1],
               "content": asdict(content_score(sources, images, owners)),
               "inception_kid_x100": None, "inception_kid_x100_std": None}
    features = inception.embed(images) if inception is not None else None
    if features is not None and reals.inception is not None:
        kid_inc = kid(features, reals.inception, options.kid_subsets, options.kid_subset_size)
        figures["inception_kid_x100"], figures["inception_kid_x100_std"] = kid_inc.x100
    return _Measured(judged, features, figures)


def _split_by_mode(outputs: list[np.ndarray], plans: list[ModePlan]) -> list[list[np.ndarray]]:
    """Per plan, per input: that input's outputs in the plan's mode (``outputs[i]`` holds all modes in turn)."""
    ends = np.cumsum([plan.count for plan in plans])
    return [[group[end - plan.count:end] for group in outputs] for plan, end in zip(plans, ends, strict=True)]


def _grid_rows(translator: Translator, direction: str, inputs: list[np.ndarray], by_mode: list[list[np.ndarray]],
               plans: list[ModePlan]) -> list[list[np.ndarray]]:
    """Per input: the input, then the first outputs of each mode (or, for models with an attention map,
    its translation and where the model looked)."""
    if translator.capabilities.attention_map:
        return [[image, res.image[:, :, :3], overlay(res.image, res.heatmap)]
                for image in inputs for res in [translator.translate(image, direction)]]
    return [[image, *[im for plan, groups in zip(plans, by_mode, strict=True) for im in groups[i][:plan.grid_columns]]]
            for i, image in enumerate(inputs)]


def _outputs(translator: Translator, image: np.ndarray, direction: str,
             styles: list[StyleSource | None]) -> np.ndarray:
    """The RGB translations of ``image`` under ``styles`` (one runtime call, the input encoded once), [K, H, W, 3]."""
    return np.stack([r.image[:, :, :3] for r in translator.translate_many(image, direction, styles)])


def held_out_images(data: DomainFolders, options: EvalOptions) -> dict[str, list[np.ndarray]]:
    """split -> its readable test images."""
    return {split: load_test_images(data, split, options.max_images) for split in TEST_SPLITS}


def bundle_summary(bundle: Bundle) -> dict:
    return {"name": bundle.name, "title": bundle.title, "family": bundle.family, "untrained": bundle.untrained,
            "path": str(bundle.source), "domains": {d.id: d.name for d in bundle.domains},
            "train_size": bundle.image.train_size, "iterations": bundle.provenance.get("iterations")}


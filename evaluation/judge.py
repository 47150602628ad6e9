"""The judge: the domain classifier's A/B verdict, with a third answer, "neither".

A two-class classifier has to call every image A or B, so a blurred, ghosted or noisy output counts
as whichever domain it resembles more. The judge adds a reject class on top of the trained classifier
without changing it: a logistic regression on the classifier's (frozen, standardised) features, trained
to tell the real training images of both domains (half of them blurred as the classifier's own
training blurs them, so softness alone is no reason to reject) from images of neither domain
(:mod:`evaluation.nodomain`). An image is rejected when that head gives it P(neither) >= ``reject_at``;
otherwise its verdict is the classifier's A or B. docs/evaluation.md says why a reject class rather than a
confidence threshold.

The head is cached beside the classifier (a JSON file of weights, no pickle), keyed by the classifier's
own cache key and the judge config, so either changing retrains it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from evaluation.classifier import TRAIN_SPLITS, TrainedClassifier, training_blur
from evaluation.data import DomainFolders, EvalDataError, load_stack
from evaluation.nodomain import no_domain_images
from i2i_common.atomic import write_bytes

log = logging.getLogger(__name__)

NEITHER = -1  # the verdict of a rejected image (A is 0, B is 1)


@dataclass(frozen=True)
class JudgeConfig:
    """How the reject head is trained; every field is part of its cache key."""

    no_domain_per_real: float = 1.0   # no-domain training images per real training image
    no_domain_blur: tuple[float, float] = (6.0, 16.0)  # downscale factors of the blurred no-domain images
    l2: float = 1e-3                  # weight decay of the logistic regression (per training image)
    reject_at: float = 0.5            # P(neither) from which an image is rejected
    seed: int = 0


@dataclass(frozen=True)
class Judgement:
    """The judge's view of a set of images."""

    features: np.ndarray  # [N, D] standardised classifier features (for KID/FID)
    prob_b: np.ndarray    # [N] the classifier's P(domain B)
    neither: np.ndarray   # [N] the head's P(neither domain)
    verdict: np.ndarray   # [N] 0 (A), 1 (B) or NEITHER

    def rates(self, target_is_b: bool) -> dict[str, float]:
        """target_rate (confident target verdicts), reject_rate, and the classifier's plain two-class rate."""
        target = int(target_is_b)
        return {"target_rate": float(np.mean(self.verdict == target)),
                "reject_rate": float(np.mean(self.verdict == NEITHER)),
                "target_rate_two_class": float(np.mean((self.prob_b >= 0.5) == target_is_b))}


@dataclass
class Judge:
    """A classifier with its reject head."""

    classifier: TrainedClassifier
    weight: np.ndarray  # [D]
    bias: float
    config: JudgeConfig
    path: Path
    trained_now: bool
    info: dict

    def judge(self, images: Sequence[np.ndarray]) -> Judgement:
        """Features, probabilities and verdicts for uint8 RGB images of any sizes."""
        features, prob_b = self.classifier.embed(images)
        neither = _sigmoid(features.astype(np.float64) @ self.weight + self.bias)
        verdict = np.where(neither >= self.config.reject_at, NEITHER, (prob_b >= 0.5).astype(int))
        return Judgement(features, prob_b, neither, verdict)


def judge_key(classifier: TrainedClassifier, config: JudgeConfig) -> str:
    """Hash of the classifier's cache key (its file name) and the judge config."""
    payload = json.dumps({"classifier": classifier.path.stem, "config": dataclasses.asdict(config)}, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:24]


def get_judge(classifier: TrainedClassifier, data: DomainFolders, config: JudgeConfig = JudgeConfig()) -> Judge:
    """The cached judge for ``classifier`` and ``config`` (beside the classifier's file), trained if there is none."""
    path = classifier.path.with_name(f"{classifier.path.stem}-judge-{judge_key(classifier, config)}.json")
    if path.is_file():
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
            weight = np.asarray(stored["weight"], np.float64)
            if weight.shape != (classifier.model.feature_dim,) or not np.isfinite(weight).all():
                raise ValueError(f"weights of shape {weight.shape}")
            log.info("using cached judge %s", path)
            return Judge(classifier, weight, float(stored["bias"]), config, path, False, stored["info"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("cached judge %s unusable (%s); retraining", path, exc)
    weight, bias, info = train_head(classifier, data, config)
    payload = {"weight": weight.tolist(), "bias": bias, "info": info}
    write_bytes(path, json.dumps(payload, indent=1).encode("utf-8"))
    return Judge(classifier, weight, bias, config, path, True, info)


def train_head(classifier: TrainedClassifier, data: DomainFolders,
               config: JudgeConfig) -> tuple[np.ndarray, float, dict]:
    """Fit the reject head: real training images (label 0) against no-domain images (label 1), on the
    classifier's features; L-BFGS on the L2-regularised logistic loss from zero, so it is deterministic."""
    start = time.perf_counter()
    size, cls = classifier.config.size, classifier.config
    rng = np.random.default_rng(config.seed)
    stacks = [load_stack(data.files[split][:cls.max_per_domain], size) for split in TRAIN_SPLITS]
    if min(len(s) for s in stacks) == 0:
        raise EvalDataError(f"{data.root}: no readable training images in trainA or trainB")
    real = np.concatenate(stacks)
    real = np.stack(training_blur(real, cls, rng))
    fake = no_domain_images(*stacks, count=max(2, round(config.no_domain_per_real * len(real))), rng=rng,
                            blur=config.no_domain_blur)
    x = np.concatenate([classifier.embed(real)[0], classifier.embed(fake)[0]]).astype(np.float64)
    y = np.concatenate([np.zeros(len(real)), np.ones(len(fake))])
    sample_weight = np.where(y == 1, len(real) / len(fake), 1.0)  # both sides count alike

    def loss(params: np.ndarray) -> tuple[float, np.ndarray]:
        w, b = params[:-1], params[-1]
        z = x @ w + b
        p = _sigmoid(z)
        value = np.sum(sample_weight * (np.logaddexp(0.0, z) - y * z)) / len(x) + 0.5 * config.l2 * w @ w
        residual = sample_weight * (p - y) / len(x)
        return float(value), np.append(x.T @ residual + config.l2 * w, residual.sum())

    fit = minimize(loss, np.zeros(x.shape[1] + 1), jac=True, method="L-BFGS-B")
    weight, bias = fit.x[:-1], float(fit.x[-1])
    rejected = _sigmoid(x @ weight + bias) >= config.reject_at
    info = {"images": {"real": int(len(real)), "no_domain": int(len(fake))},
            "train_reject_rate": {"real": float(rejected[y == 0].mean()), "no_domain": float(rejected[y == 1].mean())},
            "train_seconds": round(time.perf_counter() - start, 1), "config": dataclasses.asdict(config)}
    log.info("judge: rejects %.1f%% of real and %.1f%% of no-domain training images",
             100 * info["train_reject_rate"]["real"], 100 * info["train_reject_rate"]["no_domain"])
    return weight, bias, info


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))

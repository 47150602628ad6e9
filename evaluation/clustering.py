"""Evaluate a bundle whose domains are clusters it discovered (TUNIT) on labelled test images.

Every test image of every labelled class is put in the cluster the model rates most likely
(``classify``); the contingency table of classes x clusters gives the clustering accuracy (majority and
one-to-one Hungarian mapping) and the NMI. Then every test image is translated towards every cluster,
with the cluster's typical style and with the style of real test images of the cluster's majority
class, and the N-class judge says whether the output is of that class. Translation goes through the
app's runtime (onnxruntime), as for two-domain bundles.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np
from tqdm import tqdm

from desktop.runtime.bundle import Bundle
from desktop.runtime.style import ExplicitStyle, ReferenceStyle, StyleSource, TypicalStyle
from desktop.runtime.translators import TranslationResult
from evaluation.classifier import TrainedClassifier
from evaluation.cluster_metrics import contingency, hungarian_mapping, majority_mapping, nmi
from evaluation.labelled import LabelledClass

MODES = ("typical", "reference")  # where the style of a translation towards a cluster comes from


@dataclass(frozen=True)
class ClusterOptions:
    max_images: int | None = None  # test images per class (all when None)
    references: int = 2            # real test images of the majority class whose styles are used per cluster
    members: int = 8               # most typical test members shown per cluster in clusters.png
    grid_inputs: int = 2           # inputs per class in translations.png


@runtime_checkable
class ClusteringTranslator(Protocol):
    """What the evaluation needs from the translator of a bundle with discovered clusters."""

    bundle: Bundle

    def classify(self, image: np.ndarray) -> np.ndarray: ...

    def style_code(self, source: StyleSource, direction: str) -> np.ndarray: ...

    def translate_many(self, image: np.ndarray, direction: str, styles: Sequence[StyleSource | None],
                       mode: str = "fit") -> list[TranslationResult]: ...


@dataclass
class ClusterEvaluation:
    """The figures (for results.json), the judge's accuracy per class on the real test images, and the
    pictures (grid sections) of one evaluation."""

    figures: dict
    judge_accuracy: dict[str, float]
    members_grid: list = field(repr=False)       # (title, rows) sections for evaluation.grid
    translations_grid: list = field(repr=False)


def _rate(hits: int, total: int) -> float | None:
    return hits / total if total else None


def _directions(bundle: Bundle) -> list[str]:
    """Per cluster (domain order) the direction translating towards it."""
    towards = {d.target: d.id for d in bundle.directions}
    return [towards[d.id] for d in bundle.domains]


def evaluate_clusters(translator: ClusteringTranslator, classes: Sequence[LabelledClass],
                      tests: Sequence[Sequence[np.ndarray]], classifier: TrainedClassifier,
                      options: ClusterOptions) -> ClusterEvaluation:
    """Cluster, score and translate the test images ``tests[c]`` of each labelled class ``classes[c]``."""
    bundle = translator.bundle
    clusters = [d.id for d in bundle.domains]
    names = [c.name for c in classes]
    probs = [np.stack([translator.classify(im) for im in tqdm(images, desc=f"cluster {c.name}", leave=False)])
             for c, images in zip(classes, tests)]
    labels = np.concatenate([np.full(len(p), c) for c, p in enumerate(probs)])
    assigned = np.concatenate([p.argmax(axis=1) for p in probs])
    table = contingency(labels, assigned, len(classes), len(clusters))
    majority, hungarian = majority_mapping(table), hungarian_mapping(table)

    def name_of(c: int | None) -> str | None:
        return None if c is None else names[c]

    figures = {
        "classes": [{"name": c.name, "dataset": c.dataset, "test_split": c.test_split, "images": len(images)}
                    for c, images in zip(classes, tests)],
        "contingency": {"classes": names, "clusters": clusters, "counts": table.tolist()},
        "accuracy": {"majority": majority.accuracy, "hungarian": hungarian.accuracy if hungarian else None},
        "nmi": nmi(table),
        "clusters": [{"id": d.id, "name": d.name, "size": int(table[:, k].sum()),
                      "majority_class": name_of(majority.class_of_cluster[k]),
                      "majority_share": _rate(int(table[:, k].max()), int(table[:, k].sum())),
                      "hungarian_class": name_of(hungarian.class_of_cluster[k]) if hungarian else None}
                     for k, d in enumerate(bundle.domains)],
        "target_rates": _target_rates(translator, tests, probs, majority.class_of_cluster, classifier, names,
                                      options),
    }
    judge_accuracy = {name: float(np.mean(classifier.predict(images)[1].argmax(axis=1) == c))
                      for c, (name, images) in enumerate(zip(names, tests))}
    return ClusterEvaluation(figures, judge_accuracy, _members_grid(tests, probs, figures["clusters"], options),
                             _translations_grid(translator, classes, tests, figures["clusters"], options))


def _references(translator: ClusteringTranslator, images: Sequence[np.ndarray], probs: np.ndarray, cluster: int,
                direction: str, count: int) -> list[tuple[int, np.ndarray]]:
    """(index, style code) of the ``count + 1`` images the model rates most typical of ``cluster``: each
    input uses the first ``count`` that are not the input itself."""
    order = np.argsort(-probs[:, cluster], kind="stable")[:count + 1]
    return [(int(j), translator.style_code(ReferenceStyle(images[j]), direction)) for j in order]


def _target_rates(translator: ClusteringTranslator, tests: Sequence[Sequence[np.ndarray]],
                  probs: Sequence[np.ndarray], majority: Sequence[int | None], classifier: TrainedClassifier,
                  names: Sequence[str], options: ClusterOptions) -> dict:
    """Per mode: the share of translations towards each cluster the judge calls the cluster's majority
    class, per (source class, cluster) and per cluster (all inputs, and inputs of the other classes)."""
    clusters = [d.id for d in translator.bundle.domains]
    rates: dict = {mode: {"per_pair": {n: dict.fromkeys(clusters) for n in names}, "per_cluster": {}}
                   for mode in MODES}
    for k, (cluster, direction) in enumerate(zip(clusters, _directions(translator.bundle))):
        target = majority[k]
        if target is None:  # no test image falls in the cluster: no class to aim at
            for mode in MODES:
                rates[mode]["per_cluster"][cluster] = None
            continue
        references = _references(translator, tests[target], probs[target], k, direction, options.references)
        counts = {mode: np.zeros((len(names), len(names)), np.int64) for mode in MODES}  # [source, judged]
        for c, images in enumerate(tests):
            outputs: dict[str, list[np.ndarray]] = {mode: [] for mode in MODES}
            for i, image in enumerate(tqdm(images, desc=f"{names[c]} -> {cluster}", leave=False)):
                codes = [code for j, code in references if (c, j) != (target, i)][:options.references]
                results = translator.translate_many(image, direction,
                                                    [TypicalStyle(), *(ExplicitStyle(code) for code in codes)])
                outputs["typical"].append(results[0].image[:, :, :3])
                outputs["reference"] += [r.image[:, :, :3] for r in results[1:]]
            for mode in MODES:
                judged = classifier.predict(outputs[mode])[1].argmax(axis=1)
                counts[mode][c] = np.bincount(judged, minlength=len(names))
                rates[mode]["per_pair"][names[c]][cluster] = _rate(int(counts[mode][c, target]), len(judged))
        for mode in MODES:
            table = counts[mode]
            others = np.delete(table, target, axis=0)
            rates[mode]["per_cluster"][cluster] = {
                "target_class": names[target],
                "outputs": int(table.sum()),
                "rate": _rate(int(table[:, target].sum()), int(table.sum())),
                "rate_other_classes": _rate(int(others[:, target].sum()), int(others.sum())),
                "judged_as": {n: _rate(int(v), int(table.sum())) for n, v in zip(names, table.sum(axis=0))},
            }
    return rates


def _members_grid(tests: Sequence[Sequence[np.ndarray]], probs: Sequence[np.ndarray], clusters: list[dict],
                  options: ClusterOptions) -> list:
    """Per cluster: its most typical test members (highest probability among the images put in it)."""
    images = [image for class_images in tests for image in class_images]
    scores = np.concatenate(probs)
    assigned = scores.argmax(axis=1)
    sections = []
    for k, info in enumerate(clusters):
        inside = np.flatnonzero(assigned == k)
        inside = inside[np.argsort(-scores[inside, k], kind="stable")][:options.members]
        majority = f", majority {info['majority_class']} ({info['majority_share']:.0%})" if len(inside) else ""
        sections.append((f"{info['name']} ({info['id']}): {info['size']} test images{majority}",
                         [[images[i] for i in inside]] if len(inside) else []))
    return sections


def _translations_grid(translator: ClusteringTranslator, classes: Sequence[LabelledClass],
                       tests: Sequence[Sequence[np.ndarray]], clusters: list[dict], options: ClusterOptions) -> list:
    """Per class: a few inputs, each followed by its translation towards every cluster (typical style)."""
    towards = " ".join(f"{info['id']}={info['majority_class'] or '-'}" for info in clusters)
    return [(f"{c.name}: input, then towards {towards}",
             [[image, *(translator.translate_many(image, direction, [TypicalStyle()])[0].image[:, :, :3]
                        for direction in _directions(translator.bundle))]
              for image in images[:options.grid_inputs]])
            for c, images in zip(classes, tests)]

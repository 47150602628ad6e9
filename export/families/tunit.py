"""TUNIT: two bundle-wide graphs, the guiding network (image -> style code, cluster logits) and the generator
(image, style) -> image, and the arrays ``cluster_styles`` [K, D], ``cluster_sizes`` [K] and
``cluster_exemplars`` [K, E, S, S, 3].

The bundle's domains are the K clusters the guiding network discovered (``c0``... in logit order) and its
directions ``to_cK`` take any image (source ``"*"``). The sizes and exemplars (each cluster's most typical training
images) are for the app's cluster browser. The exported weights are the checkpoint's ``gen`` and
``guide`` (its EMA copies when it has them).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from desktop.runtime.bundle import Direction, Domain
from desktop.runtime.clusters import EXEMPLARS, SIZES

from ..data import DATASET_IDS, DatasetImages
from ..family_exporter import (
    IMAGE,
    ExportGraph,
    ExportKey,
    FamilyExporter,
    Feeds,
    ImageSizes,
    Runner,
    VerificationOutput,
    load_weights,
)
from ..manifest import NORMALIZATION
from ..onnx_export import ExportError, TensorIO

OUTPUT = TensorIO("output", ("batch", 3, "height", "width"))
ANY_SOURCE = "*"
CLUSTER = "c"  # cluster k's domain id is CLUSTER + str(k)
EXEMPLARS_PER_CLUSTER = 6  # training images shown per cluster in the app's cluster browser
EXEMPLAR_SIDE = 48  # px: 41 KB per cluster, so even the loader's 256 clusters stay under its per-array limit
POOL = DATASET_IDS[0]  # the dataset domain whose images drive the graphs (an unlabeled folder has only this one)

log = logging.getLogger(__name__)


class TunitExporter(FamilyExporter):
    """The EMA generator and guiding network of a TUNIT run -> ``generator`` and ``guiding`` graphs."""

    verification_outputs = (VerificationOutput("reference"),)

    def build(self, config: Mapping[str, Any], weights: Mapping[str, Mapping[str, torch.Tensor]] | None
              ) -> dict[str, nn.Module]:
        from trainer.models.tunit import build_generator, build_guiding_network

        model = {"gen": build_generator(dict(config["model"])), "guide": build_guiding_network(dict(config["model"]))}
        for key, module in model.items():
            if weights is not None:
                load_weights(module, weights, key)
            module.eval()
        return model

    def checkpoint_modules(self, model: dict[str, nn.Module]) -> dict[str, nn.Module]:
        return dict(model)

    def graphs(self, model: dict[str, nn.Module]) -> list[ExportGraph]:
        style = TensorIO("style", ("batch", _style_dim(model)))
        logits = TensorIO("logits", ("batch", _clusters(model)))
        return [ExportGraph("guiding", "bundle", None, model["guide"], (IMAGE,), (style, logits)),
                ExportGraph("generator", "bundle", None, model["gen"], (IMAGE, style), (OUTPUT,))]

    def domains(self, model: dict[str, nn.Module], data: DatasetImages) -> list[Domain]:
        """The K clusters, whatever the dataset's layout (a labelled one is pooled, as in training)."""
        return [Domain(f"{CLUSTER}{k}", f"cluster {k}") for k in range(_clusters(model))]

    def directions(self, domains: list[Domain]) -> list[Direction]:
        return [Direction(f"to_{d.id}", ANY_SOURCE, d.id) for d in domains]

    def feed_images(self, graph: ExportGraph) -> str:
        return POOL

    def feeds(self, model: dict[str, nn.Module], graph: ExportGraph, images: np.ndarray,
              rng: np.random.Generator) -> Feeds:
        """The images; the generator also gets the style codes of the same images in another order."""
        if graph.role == "guiding":
            return {"image": images}
        with torch.no_grad():
            styles = model["guide"].style(torch.from_numpy(images)).numpy()
        return {"image": images, "style": styles[rng.permutation(len(images))]}

    def translate(self, run: Runner, graphs: Mapping[ExportKey, ExportGraph], direction: Direction,
                  images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The images under the style of the one among them the guiding graph rates most typical of the
        direction's cluster."""
        source = images[POOL]
        styles, logits = run(graphs[("guiding", None)], {"image": source})
        typical = styles[int(np.argmax(logits[:, int(direction.target.removeprefix(CLUSTER))]))]
        style = np.repeat(typical[None], len(source), axis=0)
        return {"reference": run(graphs[("generator", None)], {"image": source, "style": style})[0]}

    def arrays(self, model: dict[str, nn.Module], train_images: Mapping[str, Iterable[np.ndarray]]
               ) -> dict[ExportKey, np.ndarray]:
        """What the guiding network makes of the training images (every dataset domain pooled), each assigned to
        its most probable cluster: ``cluster_styles`` [K, D], the mean style code of each cluster's images (the
        overall mean for a cluster none falls in); ``cluster_sizes`` [K] int64, how many fall in each; and
        ``cluster_exemplars`` [K, E, S, S, 3] uint8, the E of each cluster's images the network gives the highest
        probability of it, most typical first (blank slots where fewer than E fall in)."""
        codes, probabilities, thumbs = _rate(model["guide"], train_images)
        assigned = probabilities.argmax(axis=1)
        clusters = _clusters(model)
        exemplars = np.zeros((clusters, EXEMPLARS_PER_CLUSTER, EXEMPLAR_SIDE, EXEMPLAR_SIDE, 3), np.uint8)
        for k in range(clusters):
            members = np.flatnonzero(assigned == k)
            best = members[np.argsort(-probabilities[members, k], kind="stable")][:EXEMPLARS_PER_CLUSTER]
            exemplars[k, :len(best)] = thumbs[best]
        return {("cluster_styles", None): _typical_styles(codes, assigned, clusters),
                (SIZES, None): np.bincount(assigned, minlength=clusters).astype(np.int64),
                (EXEMPLARS, None): exemplars}

    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        from trainer.models.tunit import content_downsamplings, model_settings

        return ImageSizes(multiple=2 ** content_downsamplings(int(model_settings(config["model"])["img_size"])))

    def manifest_fields(self, model: dict[str, nn.Module]) -> dict[str, Any]:
        return {"style": {"dim": _style_dim(model), "prior": "empirical"}}


def _rate(guide: nn.Module, train_images: Mapping[str, Iterable[np.ndarray]]
          ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(style codes float64 [N, D], cluster probabilities float64 [N, K], thumbnails uint8 [N, S, S, 3]) of every
    training image, in order."""
    styles, logits, thumbs = [], [], []
    with torch.no_grad():
        for batches in train_images.values():
            for batch in batches:
                images = torch.from_numpy(batch)
                style, logit = guide(images)
                styles.append(style.numpy().astype(np.float64))
                logits.append(logit.numpy().astype(np.float64))
                thumbs.append(thumbnails(images))
    if not styles:
        raise ExportError("need training images to compute the clusters' typical styles")
    scores = np.concatenate(logits)
    e = np.exp(scores - scores.max(axis=1, keepdims=True))
    return np.concatenate(styles), e / e.sum(axis=1, keepdims=True), np.concatenate(thumbs)


def _typical_styles(codes: np.ndarray, assigned: np.ndarray, clusters: int) -> np.ndarray:
    """float32 [K, D]: the mean code of each cluster's images; the mean of all for a cluster none falls in."""
    means = np.repeat(codes.mean(axis=0, keepdims=True), clusters, axis=0)
    empty = []
    for k in range(clusters):
        if (assigned == k).any():
            means[k] = codes[assigned == k].mean(axis=0)
        else:
            empty.append(f"{CLUSTER}{k}")
    if empty:
        log.warning("no training image falls in cluster(s) %s: their typical style is the mean of all %d",
                    ", ".join(empty), len(codes))
    return means.astype(np.float32)


def thumbnails(images: torch.Tensor, side: int = EXEMPLAR_SIDE) -> np.ndarray:
    """Normalised square NCHW images (the bundle's normalisation) -> uint8 RGB [N, side, side, 3], area-averaged."""
    mean = torch.tensor(NORMALIZATION["mean"], dtype=images.dtype).view(1, 3, 1, 1)
    std = torch.tensor(NORMALIZATION["std"], dtype=images.dtype).view(1, 3, 1, 1)
    small = F.interpolate((images * std + mean).clamp(0, 1), size=(side, side), mode="area")
    return (small * 255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()


def _style_dim(model: dict[str, nn.Module]) -> int:
    return int(model["guide"].cont.out_features)


def _clusters(model: dict[str, nn.Module]) -> int:
    return int(model["guide"].disc.out_features)

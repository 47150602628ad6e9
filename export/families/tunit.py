"""TUNIT: two bundle-wide graphs, the guiding network (image -> style code, cluster logits) and the generator
(image, style) -> image, and the array ``cluster_styles`` [K, D].

The bundle's domains are the K clusters the guiding network discovered (``c0``... in logit order) and its
directions ``to_cK`` take any image (source ``"*"``). The exported weights are the checkpoint's ``gen`` and
``guide`` (its EMA copies when it has them).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from desktop.runtime.bundle import Direction, Domain

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
from ..onnx_export import ExportError, TensorIO

OUTPUT = TensorIO("output", ("batch", 3, "height", "width"))
ANY_SOURCE = "*"
CLUSTER = "c"  # cluster k's domain id is CLUSTER + str(k)
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
        """``cluster_styles`` [K, D]: per cluster the mean style code of the training images (every dataset
        domain pooled) the guiding network assigns to it; the overall mean for a cluster none falls in."""
        styles, clusters = [], []
        with torch.no_grad():
            for batches in train_images.values():
                for batch in batches:
                    style, logits = model["guide"](torch.from_numpy(batch))
                    styles.append(style.numpy().astype(np.float64))
                    clusters.append(logits.argmax(1).numpy())
        if not styles:
            raise ExportError("need training images to compute the clusters' typical styles")
        codes, assigned = np.concatenate(styles), np.concatenate(clusters)
        means = np.repeat(codes.mean(axis=0, keepdims=True), _clusters(model), axis=0)
        empty = []
        for k in range(len(means)):
            if (assigned == k).any():
                means[k] = codes[assigned == k].mean(axis=0)
            else:
                empty.append(f"{CLUSTER}{k}")
        if empty:
            log.warning("no training image falls in cluster(s) %s: their typical style is the mean of all %d",
                        ", ".join(empty), len(codes))
        return {("cluster_styles", None): means.astype(np.float32)}

    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        from trainer.models.tunit import content_downsamplings, model_settings

        return ImageSizes(multiple=2 ** content_downsamplings(int(model_settings(config["model"])["img_size"])))

    def manifest_fields(self, model: dict[str, nn.Module]) -> dict[str, Any]:
        return {"style": {"dim": _style_dim(model), "prior": "empirical"}}


def _style_dim(model: dict[str, nn.Module]) -> int:
    return int(model["guide"].cont.out_features)


def _clusters(model: dict[str, nn.Module]) -> int:
    return int(model["guide"].disc.out_features)

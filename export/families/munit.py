"""MUNIT: per domain a content encoder, a style encoder and a decoder(content, style) with the MLP inside."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch

from desktop.runtime.bundle import Direction, Domain

from ..data import DatasetImages
from ..family_exporter import (
    IMAGE,
    PAIR,
    ExportGraph,
    ExportKey,
    FamilyExporter,
    Feeds,
    ImageSizes,
    Runner,
    VerificationOutput,
    load_weights,
    two_domains,
)
from ..onnx_export import ExportError, TensorIO
from ..style_presets import PRESETS, style_presets

PRESETS_NOTE = {"max": PRESETS, "selection": "k-medoids of the training images' style codes (Mahalanobis distance)",
                "order": "nearest the domain's mean code first"}


def _other(domain: str) -> str:
    return PAIR[1 - PAIR.index(domain)]


class MunitExporter(FamilyExporter):
    """Two MUNIT generators (``gen_a``, ``gen_b``) -> six domain-scoped graphs and per-domain style statistics.

    The bundle's domains are the dataset's two domains, with the same ids.
    """

    verification_outputs = (VerificationOutput("prior"), VerificationOutput("reference"))

    def build(self, config: Mapping[str, Any], weights: Mapping[str, Mapping[str, torch.Tensor]] | None
              ) -> dict[str, torch.nn.Module]:
        from trainer.models.munit import build_generator

        gens = {}
        for domain in PAIR:
            gen = build_generator(dict(config["model"]))
            if weights is not None:
                load_weights(gen, weights, f"gen_{domain}")
            gens[domain] = gen.eval()
        return gens

    def checkpoint_modules(self, model: dict[str, torch.nn.Module]) -> dict[str, torch.nn.Module]:
        return {f"gen_{domain}": gen for domain, gen in model.items()}

    def graphs(self, model: dict[str, torch.nn.Module]) -> list[ExportGraph]:
        channels, style_dim = _code_shapes(model["a"])
        content = TensorIO("content", ("batch", channels, "h4", "w4"))
        style = TensorIO("style", ("batch", style_dim))
        graphs = []
        for domain, gen in model.items():
            graphs += [
                ExportGraph("content_encoder", "domain", domain, gen.content_encoder, (IMAGE,), (content,)),
                ExportGraph("style_encoder", "domain", domain, gen.style_encoder, (IMAGE,), (style,)),
                ExportGraph("decoder", "domain", domain, gen.decoder, (content, style), (IMAGE,)),
            ]
        return graphs

    def domains(self, model: dict[str, torch.nn.Module], data: DatasetImages) -> list[Domain]:
        return two_domains("MUNIT", data)

    def directions(self, domains: list[Domain]) -> list[Direction]:
        return [Direction(f"{s.id}2{t.id}", s.id, t.id) for s in domains for t in domains if s != t]

    def feed_images(self, graph: ExportGraph) -> str:
        """Its own domain's images for the encoders, the other domain's (the source) for a decoder."""
        domain = str(graph.scope_id)  # every MUNIT graph is domain-scoped
        return _other(domain) if graph.role == "decoder" else domain

    def feeds(self, model: dict[str, torch.nn.Module], graph: ExportGraph, images: np.ndarray,
              rng: np.random.Generator) -> Feeds:
        if graph.role != "decoder":
            return {"image": images}
        with torch.no_grad():
            content = model[self.feed_images(graph)].content_encoder(torch.from_numpy(images)).numpy()
        style_dim = graph.inputs[1].shape[1]
        return {"content": content, "style": rng.standard_normal((len(images), style_dim)).astype(np.float32)}

    def translate(self, run: Runner, graphs: Mapping[ExportKey, ExportGraph], direction: Direction,
                  images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """The source images under random prior styles, then under the styles of the target's images."""
        source, target = images[direction.source], images[direction.target]
        content = run(graphs[("content_encoder", direction.source)], {"image": source})[0]
        decoder = graphs[("decoder", direction.target)]
        prior = rng.standard_normal((len(source), decoder.inputs[1].shape[1])).astype(np.float32)
        reference = run(graphs[("style_encoder", direction.target)], {"image": target[:len(source)]})[0]
        return {"prior": run(decoder, {"content": content, "style": prior})[0],
                "reference": run(decoder, {"content": content, "style": reference})[0]}

    def arrays(self, model: dict[str, torch.nn.Module], train_images: Mapping[str, Iterable[np.ndarray]]
               ) -> dict[ExportKey, np.ndarray]:
        """``style_mean`` [D] and ``style_cov`` [D, D] of each domain's training images' style codes, and
        ``style_presets`` [P, D]: P of those codes, the domain's most representative real styles
        (:func:`export.style_presets.style_presets`, the most typical first)."""
        out: dict[ExportKey, np.ndarray] = {}
        for domain, batches in train_images.items():
            with torch.no_grad():
                codes = np.concatenate([model[domain].style_encoder(torch.from_numpy(b)).numpy()
                                        for b in batches])
            if len(codes) < 2:
                raise ExportError(f"need at least 2 training images of domain {domain} for style statistics")
            wide = codes.astype(np.float64)
            out[("style_mean", domain)] = wide.mean(axis=0).astype(np.float32)
            out[("style_cov", domain)] = np.cov(wide, rowvar=False).astype(np.float32)
            out[("style_presets", domain)] = style_presets(codes)
        return out

    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        from trainer.models.munit import model_settings

        return ImageSizes(multiple=2 ** int(model_settings(config["model"])["n_downsample"]))

    def manifest_fields(self, model: dict[str, torch.nn.Module]) -> dict[str, Any]:
        """The style section; ``presets`` says how the ``style_presets`` arrays were chosen (no image is named)."""
        return {"style": {"dim": _code_shapes(model["a"])[1], "prior": "normal", "presets": PRESETS_NOTE}}


def _code_shapes(gen: torch.nn.Module) -> tuple[int, int]:
    """(content channels, style dim), read off a probe image."""
    with torch.no_grad():
        probe = torch.zeros(1, 3, 32, 32)
        return int(gen.content_encoder(probe).shape[1]), int(gen.style_encoder(probe).shape[1])

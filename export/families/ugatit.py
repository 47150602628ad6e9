"""U-GAT-IT: per direction one generator graph, image -> (translated image, CAM attention heatmap).

The heatmap (the channel sum of the attended features, H/4 x W/4) is exported normalised to [0, 1] per image,
which is how the app shows it; the light generator takes any multiple of 4, the full one only its training size.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from desktop.runtime.bundle import Direction, Domain

from ..data import DatasetImages
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
    two_domains,
)
from ..onnx_export import TensorIO

DIRECTIONS = {"a2b": ("a", "b"), "b2a": ("b", "a")}  # direction id -> (source, target)
OUTPUT = TensorIO("output", ("batch", 3, "height", "width"))
HEATMAP = TensorIO("heatmap", ("batch", 1, "h4", "w4"))


class AttentionGenerator(nn.Module):
    """The exported graph: the generator's image and its heatmap scaled to [0, 1] per image (the CAM
    logits are a training signal only)."""

    def __init__(self, generator: nn.Module):
        super().__init__()
        self.generator = generator

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output, _, heatmap = self.generator(image)
        low = heatmap.amin(dim=(2, 3), keepdim=True)
        high = heatmap.amax(dim=(2, 3), keepdim=True)
        return output, (heatmap - low) / (high - low).clamp_min(1e-5)  # a flat map is all 0


class UgatitExporter(FamilyExporter):
    """Two U-GAT-IT generators (``gen_a2b``, ``gen_b2a``) -> two direction-scoped graphs; no arrays, no style."""

    verification_outputs = (VerificationOutput("output"), VerificationOutput("attention", "map"))

    def build(self, config: Mapping[str, Any], weights: Mapping[str, Mapping[str, torch.Tensor]] | None
              ) -> dict[str, AttentionGenerator]:
        from trainer.models.ugatit import build_generator

        model = {}
        for direction in DIRECTIONS:
            gen = build_generator(dict(config["model"]))
            if weights is not None:
                load_weights(gen, weights, f"gen_{direction}")
            model[direction] = AttentionGenerator(gen).eval()
        return model

    def checkpoint_modules(self, model: dict[str, AttentionGenerator]) -> dict[str, torch.nn.Module]:
        return {f"gen_{direction}": wrapper.generator for direction, wrapper in model.items()}

    def graphs(self, model: dict[str, AttentionGenerator]) -> list[ExportGraph]:
        gen = model["a2b"].generator
        sizes = _sizes(gen.light, gen.img_size)
        image, output, heatmap = (io if sizes.fixed is None else _fixed(io, sizes.fixed)
                                  for io in (IMAGE, OUTPUT, HEATMAP))
        return [ExportGraph("generator", "direction", d, module, (image,), (output, heatmap))
                for d, module in model.items()]

    def domains(self, model: dict[str, AttentionGenerator], data: DatasetImages) -> list[Domain]:
        return two_domains("U-GAT-IT", data)

    def directions(self, domains: list[Domain]) -> list[Direction]:
        return [Direction(d, source, target) for d, (source, target) in DIRECTIONS.items()]

    def feed_images(self, graph: ExportGraph) -> str:
        """The direction's source domain."""
        return DIRECTIONS[str(graph.scope_id)][0]

    def feeds(self, model: dict[str, AttentionGenerator], graph: ExportGraph, images: np.ndarray,
              rng: np.random.Generator) -> Feeds:
        return {"image": images}

    def translate(self, run: Runner, graphs: Mapping[ExportKey, ExportGraph], direction: Direction,
                  images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        output, attention = run(graphs[("generator", direction.id)], {"image": images[direction.source]})
        return {"output": output, "attention": attention}

    def arrays(self, model: dict[str, AttentionGenerator], train_images: Mapping[str, Iterable[np.ndarray]]
               ) -> dict[ExportKey, np.ndarray]:
        return {}

    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        from trainer.models.ugatit import model_settings

        settings = model_settings(config["model"])
        return _sizes(bool(settings["light"]), int(settings["img_size"]))

    def manifest_fields(self, model: dict[str, AttentionGenerator]) -> dict[str, Any]:
        gen = model["a2b"].generator
        return {"style": None, "variant": "light" if gen.light else "full"}


def _sizes(light: bool, img_size: int) -> ImageSizes:
    """Any multiple of the downsampling for the light generator; the full one's flatten-Linear fixes its size."""
    from trainer.models.ugatit import N_DOWNSAMPLING

    return ImageSizes(multiple=2 ** N_DOWNSAMPLING) if light else ImageSizes(fixed=(img_size, img_size))


def _fixed(io: TensorIO, size: tuple[int, int]) -> TensorIO:
    """``io`` with its spatial dimensions fixed to ``size`` (or a quarter of it, for the heatmap)."""
    scale = 4 if io is HEATMAP else 1
    return TensorIO(io.name, (io.shape[0], io.shape[1], size[0] // scale, size[1] // scale))

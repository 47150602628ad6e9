"""What the generic export pipeline needs to know about one model family (no family is named here).

A family's exporter (``export/families/NAME.py``, registered in ``export/registry.py``) knows its
generators: which modules become which bundle graphs and what each graph is per (a domain, a direction
or the whole bundle), the bundle's domains and directions, what to feed each graph for parity checks and
calibration, how one verification translation runs through the graphs and what it produces (used to
measure the fidelity and speed of the fp16/int8 variants), and which arrays the bundle carries.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from desktop.runtime.bundle import Direction, Domain

from .data import DATASET_IDS, DatasetImages
from .onnx_export import ExportError, TensorIO

GraphScope = Literal["domain", "direction", "bundle"]
OutputKind = Literal["image", "map"]
# (role, domain or direction id, None for a bundle-wide graph or array): how graphs and arrays are looked up
ExportKey = tuple[str, str | None]
MIN_SIDE, MAX_SIDE = 32, 1024  # what a fully convolutional bundle promises to take
IMAGE = TensorIO("image", ("batch", 3, "height", "width"))  # a batch of normalised RGB images, any size
PAIR = tuple(DATASET_IDS[:2])  # the dataset domains of a two-domain family, in layout order


@dataclass(frozen=True)
class ImageSizes:
    """The input sizes a bundle's graphs accept: sides that are multiples of ``multiple`` (fully
    convolutional), or exactly ``fixed`` = (height, width)."""

    multiple: int = 1
    fixed: tuple[int, int] | None = None

    def manifest(self) -> dict[str, Any]:
        """The manifest's ``image.sizes`` entry."""
        if self.fixed is not None:
            return {"kind": "fixed", "height": self.fixed[0], "width": self.fixed[1]}
        return {"kind": "multiple", "multiple": self.multiple, "min": MIN_SIDE, "max": MAX_SIDE}

    def parity_sizes(self, train_size: int) -> list[tuple[int, int]]:
        """(height, width) pairs the parity check runs at: the fixed size, or the training size and a
        non-square one (both sides multiples of :attr:`multiple`)."""
        if self.fixed is not None:
            return [self.fixed]

        def rounded(v: float) -> int:
            return max(MIN_SIDE, int(round(v / self.multiple)) * self.multiple)

        return [(train_size, train_size), (rounded(train_size * 3 / 4), rounded(train_size * 5 / 4))]


@dataclass(frozen=True)
class ExportGraph:
    """One graph of the bundle: its role, what it is per (``scope``, and the id it is for), the torch
    module and its I/O. ``scope_id`` is a domain id, a direction id, or None for ``"bundle"``."""

    role: str
    scope: GraphScope
    scope_id: str | None
    module: torch.nn.Module
    inputs: tuple[TensorIO, ...]
    outputs: tuple[TensorIO, ...]

    def __post_init__(self) -> None:
        if (self.scope == "bundle") != (self.scope_id is None):
            raise ExportError(f"graph {self.role!r}: a {self.scope}-scoped graph "
                              f"{'has no id' if self.scope == 'bundle' else 'needs the id it is for'}")

    @property
    def key(self) -> ExportKey:
        """``(role, scope_id)``: how graphs are looked up."""
        return (self.role, self.scope_id)

    def manifest_scope(self) -> dict[str, str]:
        """The graph entry's scope field: ``{"domain": id}``, ``{"direction": id}`` or nothing."""
        return {} if self.scope_id is None else {self.scope: self.scope_id}

    def file_name(self, precision: str) -> str:
        """The bundle file name, e.g. ``a_decoder.onnx``, ``a2b_generator.int8.onnx`` or ``guiding.onnx``."""
        stem = f"{self.scope_id}_{self.role}" if self.scope_id else self.role
        return f"{stem}.onnx" if precision == "fp32" else f"{stem}.{precision}.onnx"


@dataclass(frozen=True)
class VerificationOutput:
    """One output of a verification translation: ``image`` (normalised to [-1, 1]; counts towards
    ms per image, PSNR at a data range of 2) or ``map`` (e.g. an attention map; PSNR at its own range)."""

    name: str
    kind: OutputKind = "image"


def load_weights(module: torch.nn.Module, weights: Mapping[str, Mapping[str, torch.Tensor]], key: str) -> None:
    """Load the checkpoint entry ``key`` of ``weights`` into ``module``; :class:`ExportError` when it is missing
    or does not fit."""
    if key not in weights:
        raise ExportError(f"checkpoint has no weights for {key} (has: {', '.join(sorted(weights))})")
    try:
        module.load_state_dict(weights[key])
    except RuntimeError as exc:
        raise ExportError(f"checkpoint weights for {key} do not fit the config's model: {exc}") from exc


def two_domains(family: str, data: DatasetImages) -> list[Domain]:
    """The bundle domains of a two-domain family (``a``, ``b`` with the dataset's names); :class:`ExportError`
    naming ``family`` when the dataset has another number of domains."""
    if data.domains != list(PAIR):
        raise ExportError(f"{data.layout.root}: {family} needs 2 domains, found {len(data.domains)} "
                          f"({data.layout.kind} layout)")
    return [Domain(d, data.domain_names[d]) for d in PAIR]


Feeds = dict[str, np.ndarray]
# Runs one graph (torch module or onnxruntime session, whichever the caller wraps) on named inputs.
Runner = Callable[[ExportGraph, Feeds], list[np.ndarray]]


class FamilyExporter(ABC):
    """One family's side of the export: generators, graphs, domains, feeds, translation, arrays."""

    # What one verification translation (:meth:`translate`) returns, by name, in order.
    verification_outputs: tuple[VerificationOutput, ...]

    @abstractmethod
    def build(self, config: Mapping[str, Any], weights: Mapping[str, Mapping[str, torch.Tensor]] | None
              ) -> Any:
        """Build the generators from ``config`` and load ``weights`` (None: keep the random init)."""

    def checkpoint_modules(self, model: Any) -> dict[str, torch.nn.Module]:
        """The modules :meth:`build` loads, by their checkpoint key (the inverse of ``build``'s ``weights``);
        a family that does not say cannot be recovered from its bundles (``export.recover``)."""
        raise ExportError(f"{type(self).__name__} names no checkpoint modules: its bundles cannot be recovered")

    @abstractmethod
    def graphs(self, model: Any) -> list[ExportGraph]:
        """The graphs to export, fp32, in bundle order."""

    @abstractmethod
    def domains(self, model: Any, data: DatasetImages) -> list[Domain]:
        """The bundle's domains (refuse, with :class:`ExportError`, a dataset the family cannot use)."""

    @abstractmethod
    def directions(self, domains: list[Domain]) -> list[Direction]:
        """The bundle's directions between ``domains``."""

    @abstractmethod
    def feed_images(self, graph: ExportGraph) -> str:
        """The dataset domain (:attr:`DatasetImages.domains`) whose images drive ``graph``."""

    @abstractmethod
    def feeds(self, model: Any, graph: ExportGraph, images: np.ndarray, rng: np.random.Generator) -> Feeds:
        """Inputs for ``graph`` derived from a batch of normalised images of :meth:`feed_images`."""

    @abstractmethod
    def translate(self, run: Runner, graphs: Mapping[ExportKey, ExportGraph], direction: Direction,
                  images: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Translate along ``direction`` through ``run``, from ``images`` (normalised test images per
        dataset domain, the same count in each); returns :attr:`verification_outputs` by name."""

    @abstractmethod
    def arrays(self, model: Any, train_images: Mapping[str, Iterable[np.ndarray]]) -> dict[ExportKey, np.ndarray]:
        """Arrays to ship, keyed by ``(role, domain or None)``, from batches of each dataset domain's
        training images."""

    @abstractmethod
    def image_sizes(self, config: Mapping[str, Any]) -> ImageSizes:
        """The input sizes the graphs accept (the manifest's ``image.sizes``)."""

    @abstractmethod
    def manifest_fields(self, model: Any) -> dict[str, Any]:
        """Family-specific manifest fields (e.g. ``style``)."""

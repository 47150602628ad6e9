"""One exporter per model family, registered by family name (the family a checkpoint names).

An exporter knows its family's generators: which modules become which bundle roles, what to feed
each graph for parity checks and calibration, how a translation runs through the graphs (used to
measure the fidelity of the fp16/int8 variants), and which arrays (style statistics) the bundle carries.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, TypeVar

import numpy as np
import torch

from .onnx_export import ExportError, TensorIO


@dataclass(frozen=True)
class RoleGraph:
    """One graph of the bundle: its role, the domain it serves, the torch module and its I/O."""

    role: str
    domain: str | None
    module: torch.nn.Module
    inputs: tuple[TensorIO, ...]
    outputs: tuple[TensorIO, ...]

    @property
    def key(self) -> tuple[str, str | None]:
        """``(role, domain)``: how graphs are looked up."""
        return (self.role, self.domain)

    def file_name(self, precision: str) -> str:
        """The bundle file name, e.g. ``a_decoder.onnx`` or ``a_decoder.int8.onnx``."""
        stem = f"{self.domain}_{self.role}" if self.domain else self.role
        return f"{stem}.onnx" if precision == "fp32" else f"{stem}.{precision}.onnx"


Feeds = dict[str, np.ndarray]
# Runs one graph (torch module or onnxruntime session, whichever the caller wraps) on named inputs.
Runner = Callable[[RoleGraph, Feeds], list[np.ndarray]]


class FamilyExporter(ABC):
    """What the generic export pipeline needs to know about one family."""

    family: str

    @abstractmethod
    def build(self, config: Mapping[str, Any], weights: Mapping[str, Mapping[str, torch.Tensor]] | None
              ) -> Any:
        """Build the generators from ``config`` and load ``weights`` (None: keep the random init)."""

    @abstractmethod
    def graphs(self, model: Any) -> list[RoleGraph]:
        """The graphs to export, fp32, in bundle order."""

    @abstractmethod
    def feed_domain(self, graph: RoleGraph) -> str:
        """The domain whose images drive ``graph`` (its own for encoders, the source for a decoder)."""

    @abstractmethod
    def feeds(self, model: Any, graph: RoleGraph, images: np.ndarray, rng: np.random.Generator) -> Feeds:
        """Inputs for ``graph`` derived from a batch of normalised images of :meth:`feed_domain`."""

    @abstractmethod
    def translate(self, run: Runner, graphs: Mapping[tuple[str, str | None], RoleGraph],
                  images: np.ndarray, references: np.ndarray, source: str, target: str,
                  rng: np.random.Generator) -> np.ndarray:
        """Translate normalised ``images`` from ``source`` to ``target`` through ``run``; ``references``
        are images of ``target`` for families with example-guided style. Used to compare precisions."""

    @abstractmethod
    def arrays(self, model: Any, train_images: Mapping[str, Iterable[np.ndarray]]
               ) -> dict[tuple[str, str | None], np.ndarray]:
        """Arrays to ship, keyed by ``(role, domain)``, from batches of each domain's training images."""

    @abstractmethod
    def size_multiple(self, config: Mapping[str, Any]) -> int:
        """Image sides the graphs accept are multiples of this."""

    @abstractmethod
    def manifest_fields(self, model: Any) -> dict[str, Any]:
        """Family-specific manifest fields (e.g. ``style``)."""


EXPORTERS: dict[str, FamilyExporter] = {}

E = TypeVar("E", bound=type)


def register_exporter(cls: E) -> E:
    """Class decorator: register an instance of ``cls`` under its ``family``."""
    EXPORTERS[cls.family] = cls()
    return cls


def exporter_for(family: str) -> FamilyExporter:
    """The exporter of ``family``; a clear error naming the known families otherwise."""
    from . import families  # noqa: F401  (registers the exporters)

    if family not in EXPORTERS:
        known = ", ".join(sorted(EXPORTERS)) or "none"
        raise ExportError(f"no exporter for model family {family!r} (known: {known})")
    return EXPORTERS[family]

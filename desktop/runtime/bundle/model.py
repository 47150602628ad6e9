"""What a validated bundle is: the error type, constants and the dataclasses :func:`parse_manifest` fills."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..families import RUNTIME_FAMILIES, FamilySpec, RoleSpec
from .text import clean_text

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ARCHIVE_SUFFIX = ".i2i"
PRECISIONS = ("fp32", "fp16", "int8")
MESSAGE_LIMIT = 1000  # characters of one error message


class BundleError(Exception):
    """A bundle cannot be used; the message says which bundle and why, in one line (control characters and
    escape sequences removed, length bounded: it may quote a tampered bundle)."""

    def __init__(self, message: str = "") -> None:
        super().__init__(clean_text(str(message), MESSAGE_LIMIT))


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: name, shape (ints fixed, strings symbolic) and numpy dtype name."""

    name: str
    shape: tuple[int | str, ...]
    dtype: str


@dataclass(frozen=True)
class GraphSpec:
    """One ONNX file of the bundle and what it does."""

    role: str
    file: str
    sha256: str
    precision: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    domain: str | None = None
    direction: str | None = None


@dataclass(frozen=True)
class ArraySpec:
    """One ``.npy`` file of the bundle (style statistics, cluster styles)."""

    role: str
    file: str
    sha256: str
    shape: tuple[int, ...]
    dtype: str
    domain: str | None = None


@dataclass(frozen=True)
class Domain:
    id: str
    name: str


@dataclass(frozen=True)
class Direction:
    """A translation the bundle offers; ``source`` is ``"*"`` when any image is accepted (TUNIT)."""

    id: str
    source: str
    target: str


@dataclass(frozen=True)
class SizeSpec:
    """The input sizes the graphs accept: ``kind`` "multiple" (fully convolutional) or "fixed"."""

    kind: str
    multiple: int = 1
    min: int = 1
    max: int = 1 << 16
    height: int | None = None
    width: int | None = None


@dataclass(frozen=True)
class ImageSpec:
    train_size: int
    sizes: SizeSpec
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    channel_order: str = "RGB"


@dataclass(frozen=True)
class StyleSpec:
    dim: int
    prior: str  # "normal" or "empirical"


@dataclass
class Bundle:
    """A validated bundle. ``path`` is the folder holding the files (an extraction cache for a
    ``.i2i`` archive); ``source`` is what the user pointed at (the folder or the archive). ``student_of`` is the
    name of the bundle this one is a faster, distilled student of (None for an ordinary model)."""

    path: Path
    source: Path
    name: str
    title: str
    family: str
    untrained: bool
    domains: list[Domain]
    directions: list[Direction]
    image: ImageSpec
    style: StyleSpec | None
    graphs: list[GraphSpec]
    arrays: list[ArraySpec]
    manifest: dict[str, Any] = field(repr=False)
    student_of: str | None = None

    @property
    def family_spec(self) -> FamilySpec:
        return RUNTIME_FAMILIES[self.family]

    @property
    def provenance(self) -> dict[str, Any]:
        return self.manifest.get("provenance") or {}

    @property
    def license(self) -> str:
        return self.manifest.get("license") or ""

    @property
    def verification(self) -> dict[str, Any]:
        return self.manifest.get("verification") or {}

    def domain(self, domain_id: str) -> Domain:
        for d in self.domains:
            if d.id == domain_id:
                return d
        raise BundleError(f"{self.name}: no domain {domain_id!r}")

    def direction(self, direction_id: str) -> Direction:
        for d in self.directions:
            if d.id == direction_id:
                return d
        known = ", ".join(d.id for d in self.directions)
        raise BundleError(f"{self.name}: no direction {direction_id!r} (offers {known})")

    def precisions(self) -> list[str]:
        """Precisions available for every role (fp32 always)."""
        return [p for p in PRECISIONS if _has_all_roles(self, p)]

    def graph(self, role: str, *, domain: str | None = None, direction: str | None = None,
              precision: str = "fp32") -> GraphSpec:
        """The graph for a role; a missing precision variant falls back to fp32."""
        for wanted in dict.fromkeys((precision, "fp32")):
            for g in self.graphs:
                if (g.role, g.domain, g.direction, g.precision) == (role, domain, direction, wanted):
                    return g
        raise BundleError(f"{self.name}: no {role} graph for domain={domain} direction={direction}")

    def graph_path(self, spec: GraphSpec) -> Path:
        return self.path / spec.file

    def has_array(self, role: str, domain: str | None = None) -> bool:
        return any(a.role == role and a.domain == domain for a in self.arrays)

    def array(self, role: str, domain: str | None = None) -> np.ndarray:
        """Load a stored array (never unpickles)."""
        for a in self.arrays:
            if a.role == role and a.domain == domain:
                return np.load(self.path / a.file, allow_pickle=False)
        raise BundleError(f"{self.name}: no {role} array for domain={domain}")


def _has_all_roles(bundle: Bundle, precision: str) -> bool:
    have = {(g.role, g.domain, g.direction) for g in bundle.graphs if g.precision == precision}
    return all(key in have for key in _required_graph_keys(bundle.family_spec, bundle.domains, bundle.directions))


def _required_graph_keys(spec: FamilySpec, domains: list[Domain], directions: list[Direction]):
    for role in spec.graphs:
        yield from _role_keys(role, domains, directions)


def _role_keys(role: RoleSpec, domains: list[Domain], directions: list[Direction]):
    if role.per == "domain":
        return [(role.role, d.id, None) for d in domains]
    if role.per == "direction":
        return [(role.role, None, d.id) for d in directions]
    return [(role.role, None, None)]

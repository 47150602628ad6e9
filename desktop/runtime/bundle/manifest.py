"""Manifest parsing: typed field access with one-line errors, the family's roles and files."""
from __future__ import annotations

import re
from typing import Any

import numpy as np

from ..families import FAMILIES, FamilySpec
from .model import (MANIFEST, PRECISIONS, SCHEMA_VERSION, ArraySpec, BundleError, Direction, Domain, GraphSpec,
                    ImageSpec, SizeSpec, StyleSpec, TensorSpec, _required_graph_keys, _role_keys)

_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_ID_RE = re.compile(r"^[a-z0-9_]+$")


class _Reader:
    """Typed field access on the manifest with errors that name the bundle and the field."""

    def __init__(self, where: str):
        self.where = where

    def fail(self, message: str) -> BundleError:
        return BundleError(f"{self.where}: {message}")

    def get(self, obj: Any, key: str, kind: type | tuple[type, ...], ctx: str, default: Any = ...) -> Any:
        if not isinstance(obj, dict):
            raise self.fail(f"{ctx} must be an object")
        if key not in obj or obj[key] is None:
            if default is ...:
                raise self.fail(f"manifest field {ctx}.{key} is missing")
            return default
        value = obj[key]
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            raise self.fail(f"manifest field {ctx}.{key} has the wrong type")
        if not isinstance(value, kind):
            raise self.fail(f"manifest field {ctx}.{key} has the wrong type")
        return value

    def file_name(self, value: str, ctx: str) -> str:
        if (not value or value in (".", "..") or "/" in value or "\\" in value or ":" in value
                or value == MANIFEST or value.startswith(".")):
            raise self.fail(f"{ctx}: file name {value!r} must be a plain name inside the bundle")
        return value


def _parse_tensor(r: _Reader, obj: Any, ctx: str) -> TensorSpec:
    name = r.get(obj, "name", str, ctx)
    shape = r.get(obj, "shape", list, ctx)
    if not all(isinstance(s, (int, str)) and not isinstance(s, bool) for s in shape):
        raise r.fail(f"{ctx}.shape items must be ints or names")
    dtype = r.get(obj, "dtype", str, ctx)
    try:
        np.dtype(dtype)
    except TypeError:
        raise r.fail(f"{ctx}.dtype {dtype!r} is not a numpy dtype") from None
    return TensorSpec(name=name, shape=tuple(shape), dtype=dtype)


def _parse_tensors(r: _Reader, obj: Any, key: str, ctx: str) -> tuple[TensorSpec, ...]:
    return tuple(_parse_tensor(r, t, f"{ctx}.{key}[{j}]") for j, t in enumerate(r.get(obj, key, list, ctx)))


def _parse_graph(r: _Reader, obj: Any, i: int) -> GraphSpec:
    ctx = f"graphs[{i}]"
    precision = r.get(obj, "precision", str, ctx, "fp32")
    if precision not in PRECISIONS:
        raise r.fail(f"{ctx}.precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    return GraphSpec(
        role=r.get(obj, "role", str, ctx),
        file=r.file_name(r.get(obj, "file", str, ctx), ctx),
        sha256=r.get(obj, "sha256", str, ctx).lower(),
        precision=precision,
        inputs=_parse_tensors(r, obj, "inputs", ctx),
        outputs=_parse_tensors(r, obj, "outputs", ctx),
        domain=r.get(obj, "domain", str, ctx, None),
        direction=r.get(obj, "direction", str, ctx, None),
    )


def _parse_array(r: _Reader, obj: Any, i: int) -> ArraySpec:
    ctx = f"arrays[{i}]"
    shape = r.get(obj, "shape", list, ctx)
    if not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
        raise r.fail(f"{ctx}.shape items must be ints")
    return ArraySpec(
        role=r.get(obj, "role", str, ctx),
        file=r.file_name(r.get(obj, "file", str, ctx), ctx),
        sha256=r.get(obj, "sha256", str, ctx).lower(),
        shape=tuple(shape),
        dtype=r.get(obj, "dtype", str, ctx),
        domain=r.get(obj, "domain", str, ctx, None),
    )


def _parse_image(r: _Reader, obj: Any) -> ImageSpec:
    sizes = r.get(obj, "sizes", dict, "image")
    kind = r.get(sizes, "kind", str, "image.sizes")
    if kind == "multiple":
        size = SizeSpec(kind, multiple=r.get(sizes, "multiple", int, "image.sizes"),
                        min=r.get(sizes, "min", int, "image.sizes", 1),
                        max=r.get(sizes, "max", int, "image.sizes", 1 << 16))
        if size.multiple < 1 or size.min < 1 or size.max < size.min:
            raise r.fail("image.sizes: need multiple >= 1 and 1 <= min <= max")
    elif kind == "fixed":
        size = SizeSpec(kind, height=r.get(sizes, "height", int, "image.sizes"),
                        width=r.get(sizes, "width", int, "image.sizes"))
    else:
        raise r.fail(f"image.sizes.kind {kind!r} is not 'multiple' or 'fixed'")
    norm = r.get(obj, "normalization", dict, "image")
    mean = r.get(norm, "mean", list, "image.normalization")
    std = r.get(norm, "std", list, "image.normalization")
    if len(mean) != 3 or len(std) != 3 or not all(isinstance(v, (int, float)) for v in mean + std) \
            or any(v == 0 for v in std):
        raise r.fail("image.normalization needs three means and three non-zero stds")
    order = r.get(obj, "channel_order", str, "image", "RGB")
    if order not in ("RGB", "BGR"):
        raise r.fail(f"image.channel_order {order!r} is not RGB or BGR")
    layout = r.get(obj, "layout", str, "image", "NCHW")
    if layout != "NCHW":
        raise r.fail(f"image.layout {layout!r} is not supported (NCHW)")
    train = r.get(obj, "train_size", int, "image")
    if train < 1:
        raise r.fail("image.train_size must be positive")
    return ImageSpec(train_size=train, sizes=size, mean=tuple(map(float, mean)), std=tuple(map(float, std)),
                     channel_order=order)


def parse_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """Check a manifest's structure and the family's roles; returns the fields for :class:`Bundle`."""
    r = _Reader(where)
    if not isinstance(manifest, dict):
        raise r.fail("manifest.json must hold a JSON object")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise r.fail(f"unknown schema version {version!r} (this app reads version {SCHEMA_VERSION})")
    name = r.get(manifest, "name", str, "manifest")
    if not _NAME_RE.match(name):
        raise r.fail(f"name {name!r} may only use letters, digits, '.', '_' and '-'")
    family = r.get(manifest, "family", str, "manifest")
    if family not in FAMILIES:
        raise r.fail(f"unknown family {family!r} (known: {', '.join(sorted(FAMILIES))})")
    spec = FAMILIES[family]

    domains = [Domain(r.get(d, "id", str, f"domains[{i}]"), r.get(d, "name", str, f"domains[{i}]"))
               for i, d in enumerate(r.get(manifest, "domains", list, "manifest"))]
    ids = [d.id for d in domains]
    if not domains or len(set(ids)) != len(ids) or not all(_ID_RE.match(i) for i in ids):
        raise r.fail("domains need unique ids made of a-z, 0-9 and '_'")
    directions = [Direction(r.get(d, "id", str, f"directions[{i}]"), r.get(d, "source", str, f"directions[{i}]"),
                            r.get(d, "target", str, f"directions[{i}]"))
                  for i, d in enumerate(r.get(manifest, "directions", list, "manifest"))]
    if not directions or len({d.id for d in directions}) != len(directions):
        raise r.fail("directions need unique ids")
    for d in directions:
        source_ok = d.source == "*" if spec.any_source else d.source in ids
        if not source_ok or d.target not in ids:
            raise r.fail(f"direction {d.id!r} names an unknown domain ({d.source} -> {d.target})")

    image = _parse_image(r, r.get(manifest, "image", dict, "manifest"))
    style_obj = manifest.get("style")
    style = None
    if spec.has_style:
        if not isinstance(style_obj, dict):
            raise r.fail(f"family {family} needs a style object with dim and prior")
        style = StyleSpec(dim=r.get(style_obj, "dim", int, "style"), prior=r.get(style_obj, "prior", str, "style"))
        if style.dim < 1 or style.prior not in ("normal", "empirical"):
            raise r.fail("style needs dim >= 1 and prior 'normal' or 'empirical'")
    elif style_obj is not None:
        raise r.fail(f"family {family} has no style; manifest field style must be null")

    graphs = [_parse_graph(r, g, i) for i, g in enumerate(r.get(manifest, "graphs", list, "manifest"))]
    arrays = [_parse_array(r, a, i) for i, a in enumerate(r.get(manifest, "arrays", list, "manifest", []))]
    _check_roles(r, spec, domains, directions, graphs, arrays)
    return dict(name=name, title=manifest.get("title") or name, family=family,
                untrained=bool(manifest.get("untrained", False)), domains=domains, directions=directions,
                image=image, style=style, graphs=graphs, arrays=arrays)


def _check_roles(r: _Reader, spec: FamilySpec, domains: list[Domain], directions: list[Direction],
                 graphs: list[GraphSpec], arrays: list[ArraySpec]) -> None:
    allowed = {key for role in spec.graphs for key in _role_keys(role, domains, directions)}
    seen: set[tuple] = set()
    for g in graphs:
        key = (g.role, g.domain, g.direction)
        if key not in allowed:
            raise r.fail(f"graph {g.file}: role {g.role!r} (domain={g.domain}, direction={g.direction}) "
                         f"is not part of family {spec.name}")
        if key + (g.precision,) in seen:
            raise r.fail(f"graph {g.file}: a second {g.precision} {g.role} graph for the same domain/direction")
        seen.add(key + (g.precision,))
    for key in _required_graph_keys(spec, domains, directions):
        if key + ("fp32",) not in seen:
            role, dom, dirn = key
            raise r.fail(f"missing the fp32 {role} graph (domain={dom}, direction={dirn}) family {spec.name} needs")
    array_roles = spec.required_arrays + spec.optional_arrays
    allowed_arrays = {(k[0], k[1]) for role in array_roles for k in _role_keys(role, domains, directions)}
    for a in arrays:
        if (a.role, a.domain) not in allowed_arrays:
            raise r.fail(f"array {a.file}: role {a.role!r} (domain={a.domain}) is not part of family {spec.name}")
    present = {(a.role, a.domain) for a in arrays}
    for role in spec.required_arrays:
        for key in _role_keys(role, domains, directions):
            if (key[0], key[1]) not in present:
                raise r.fail(f"missing the {key[0]} array family {spec.name} needs")
    names = [g.file for g in graphs] + [a.file for a in arrays]
    if len(set(names)) != len(names):
        raise r.fail("a file is listed twice")

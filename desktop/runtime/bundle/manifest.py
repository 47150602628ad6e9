"""Manifest parsing: typed field access with one-line errors, the family's roles and files."""
from __future__ import annotations

import json
import re
from typing import Any

import numpy as np

from ..families import RUNTIME_FAMILIES, FamilySpec
from .model import (
    MANIFEST,
    PRECISIONS,
    SCHEMA_VERSION,
    ArraySpec,
    BundleError,
    Direction,
    Domain,
    GraphSpec,
    ImageSpec,
    SizeSpec,
    StyleSpec,
    TensorSpec,
    _required_graph_keys,
    _role_keys,
)
from .text import clean_text, clean_tree

# Bounds on what a manifest may declare (docs/bundle.md, "Limits", says why each is what it is).
MAX_NAME = 64  # characters of a model name (it becomes a folder name)
MAX_FILE_NAME = 128  # characters of a listed file name
MAX_SIDE = 4096  # pixels: image.sizes max, fixed height and width
MAX_TRAIN_SIZE = 1024  # pixels: image.train_size
MAX_MULTIPLE = 256  # image.sizes.multiple
MAX_STYLE_DIM = 1024  # style.dim
MAX_DOMAINS = 256  # domains (TUNIT's clusters included)
MAX_ENTRIES = 1024  # directions, graphs, arrays, tensors per graph
MAX_RANK = 8  # axes of a declared tensor or array
MAX_ARRAY_VALUES = 1 << 24  # values in one stored array (64 MiB of float32)
TITLE_LIMIT = 120  # characters kept of the title
DOMAIN_NAME_LIMIT = 64  # characters kept of a domain's name
LICENSE_LIMIT = 20_000  # characters kept of the licence text
MAX_MANIFEST_BYTES = 4 * 1024**2  # size of manifest.json
MAX_DEPTH = 32  # nesting of objects and lists in manifest.json
TEXT_LIMIT = 2000  # characters kept of any other string
OPTIONAL_OBJECTS = ("provenance", "verification")  # free-form below their top keys, but objects

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_ID_RE = re.compile(r"^[a-z0-9_]+$")
# Names Windows cannot use for a folder (with any extension), whatever the case.
_RESERVED_NAMES = frozenset({"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)),
                             *(f"lpt{i}" for i in range(1, 10))})


def check_model_name(name: str, where: str = "") -> str:
    """``name`` if it can be a model's name and folder name everywhere, else :class:`BundleError`."""
    prefix = f"{where}: " if where else ""
    if not _NAME_RE.match(name) or name.endswith(".") or len(name) > MAX_NAME:
        raise BundleError(f"{prefix}name {name!r} may only use letters, digits, '.', '_' and '-', start with a "
                          f"letter or digit, not end with '.', and be at most {MAX_NAME} characters long")
    if name.split(".")[0].lower() in _RESERVED_NAMES:
        raise BundleError(f"{prefix}name {name!r} is reserved for a device on Windows")
    return name


def read_manifest(data: bytes, where: str) -> Any:
    """Decode ``manifest.json``: bounded size and nesting, every string cleaned (:mod:`.text`), the licence
    keeping its line breaks. Anything unreadable is a :class:`BundleError`."""
    if len(data) > MAX_MANIFEST_BYTES:
        raise BundleError(f"{where}: {MANIFEST} is {len(data)} bytes (limit {MAX_MANIFEST_BYTES})")
    try:
        raw = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:  # ValueError: also ints of 4300+ digits
        raise BundleError(f"{where}: {MANIFEST} is not valid JSON ({exc})") from None
    try:
        manifest = clean_tree(raw, TEXT_LIMIT, MAX_DEPTH)
    except ValueError as exc:
        raise BundleError(f"{where}: {MANIFEST} {exc}") from None
    if isinstance(raw, dict) and isinstance(raw.get("license"), str):
        manifest["license"] = clean_text(raw["license"], LICENSE_LIMIT, multiline=True)
    return manifest


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
        if isinstance(value, list) and len(value) > MAX_ENTRIES:
            raise self.fail(f"manifest field {ctx}.{key} has {len(value)} items (limit {MAX_ENTRIES})")
        return value

    def bounded(self, obj: Any, key: str, ctx: str, low: int, high: int, default: Any = ...) -> int:
        """An int field within ``[low, high]``."""
        value = self.get(obj, key, int, ctx, default)
        if not low <= value <= high:
            raise self.fail(f"manifest field {ctx}.{key} is {value}, outside {low}..{high}")
        return value

    def file_name(self, value: str, ctx: str) -> str:
        if (not value or value in (".", "..") or "/" in value or "\\" in value or ":" in value
                or value == MANIFEST or value.startswith(".") or len(value) > MAX_FILE_NAME):
            raise self.fail(f"{ctx}: file name {value!r} must be a plain name inside the bundle")
        return value


def _parse_tensor(r: _Reader, obj: Any, ctx: str) -> TensorSpec:
    name = r.get(obj, "name", str, ctx)
    shape = r.get(obj, "shape", list, ctx)
    if len(shape) > MAX_RANK or not all(isinstance(s, (int, str)) and not isinstance(s, bool) for s in shape):
        raise r.fail(f"{ctx}.shape must be at most {MAX_RANK} ints or names")
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
    if len(shape) > MAX_RANK or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in shape):
        raise r.fail(f"{ctx}.shape must be at most {MAX_RANK} ints >= 0")
    if np.prod(shape, dtype=object) > MAX_ARRAY_VALUES:
        raise r.fail(f"{ctx}.shape {shape} holds more than {MAX_ARRAY_VALUES} values")
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
        size = SizeSpec(kind, multiple=r.bounded(sizes, "multiple", "image.sizes", 1, MAX_MULTIPLE),
                        min=r.bounded(sizes, "min", "image.sizes", 1, MAX_SIDE, 1),
                        max=r.bounded(sizes, "max", "image.sizes", 1, MAX_SIDE, MAX_SIDE))
        if size.max < size.min or size.max < size.multiple:
            raise r.fail("image.sizes: need min <= max and a multiple no larger than max")
    elif kind == "fixed":
        size = SizeSpec(kind, height=r.bounded(sizes, "height", "image.sizes", 1, MAX_SIDE),
                        width=r.bounded(sizes, "width", "image.sizes", 1, MAX_SIDE))
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
    train = r.bounded(obj, "train_size", "image", 1, MAX_TRAIN_SIZE)
    return ImageSpec(train_size=train, sizes=size, mean=_three(mean), std=_three(std), channel_order=order)


def _three(values: list) -> tuple[float, float, float]:
    first, second, third = map(float, values)
    return first, second, third


def parse_manifest(manifest: Any, where: str) -> dict[str, Any]:
    """Check a manifest's structure and the family's roles; returns the fields for :class:`Bundle`."""
    r = _Reader(where)
    if not isinstance(manifest, dict):
        raise r.fail("manifest.json must hold a JSON object")
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise r.fail(f"unknown schema version {version!r} (this app reads version {SCHEMA_VERSION})")
    name = check_model_name(r.get(manifest, "name", str, "manifest"), where)
    family = r.get(manifest, "family", str, "manifest")
    if family not in RUNTIME_FAMILIES:
        raise r.fail(f"unknown family {family!r} (known: {', '.join(sorted(RUNTIME_FAMILIES))})")
    spec = RUNTIME_FAMILIES[family]

    domains = [Domain(r.get(d, "id", str, f"domains[{i}]"),
                      clean_text(r.get(d, "name", str, f"domains[{i}]"), DOMAIN_NAME_LIMIT))
               for i, d in enumerate(r.get(manifest, "domains", list, "manifest"))]
    if len(domains) > MAX_DOMAINS:
        raise r.fail(f"{len(domains)} domains (limit {MAX_DOMAINS})")
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
        style = StyleSpec(dim=r.bounded(style_obj, "dim", "style", 1, MAX_STYLE_DIM),
                          prior=r.get(style_obj, "prior", str, "style"))
        if style.prior not in ("normal", "empirical"):
            raise r.fail("style needs prior 'normal' or 'empirical'")
    elif style_obj is not None:
        raise r.fail(f"family {family} has no style; manifest field style must be null")

    graphs = [_parse_graph(r, g, i) for i, g in enumerate(r.get(manifest, "graphs", list, "manifest"))]
    arrays = [_parse_array(r, a, i) for i, a in enumerate(r.get(manifest, "arrays", list, "manifest", []))]
    _check_roles(r, spec, domains, directions, graphs, arrays)
    for key in OPTIONAL_OBJECTS:
        r.get(manifest, key, dict, "manifest", None)
    r.get(manifest, "license", str, "manifest", "")
    title = clean_text(r.get(manifest, "title", str, "manifest", ""), TITLE_LIMIT)
    student_of = r.get(manifest, "student_of", str, "manifest", None)
    if student_of is not None:
        check_model_name(student_of, f"{where}: student_of")
    return dict(name=name, title=title or name, family=family,
                untrained=r.get(manifest, "untrained", bool, "manifest", False), domains=domains,
                directions=directions, image=image, style=style, graphs=graphs, arrays=arrays, student_of=student_of)


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
    allowed_arrays = {(k[0], k[1]): role.dtype for role in array_roles for k in _role_keys(role, domains, directions)}
    for a in arrays:
        if (a.role, a.domain) not in allowed_arrays:
            raise r.fail(f"array {a.file}: role {a.role!r} (domain={a.domain}) is not part of family {spec.name}")
        if a.dtype != allowed_arrays[(a.role, a.domain)]:
            raise r.fail(f"array {a.file}: dtype {a.dtype!r}, family {spec.name} stores {a.role} as "
                         f"{allowed_arrays[(a.role, a.domain)]}")
    present = {(a.role, a.domain) for a in arrays}
    for role in spec.required_arrays:
        for key in _role_keys(role, domains, directions):
            if (key[0], key[1]) not in present:
                raise r.fail(f"missing the {key[0]} array family {spec.name} needs")
    names = [g.file for g in graphs] + [a.file for a in arrays]
    if len(set(names)) != len(names):
        raise r.fail("a file is listed twice")

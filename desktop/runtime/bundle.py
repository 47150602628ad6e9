"""Model bundles (docs/bundle.md): load, validate, extract ``.i2i`` archives, list and install.

Bundles are untrusted input. Everything here reads JSON, hashes files and reads ``.npy`` headers with
``allow_pickle=False``; nothing is unpickled or executed. Errors are :class:`BundleError` with a
one-line message that names the bundle and the problem.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import numpy as np
import onnxruntime as ort

from .families import FAMILIES, FamilySpec, RoleSpec
from .paths import cache_dir, shipped_models_dir, user_models_dir
from .providers import first_line

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
ARCHIVE_SUFFIX = ".i2i"
PRECISIONS = ("fp32", "fp16", "int8")
MAX_ARCHIVE_BYTES = 2 * 1024**3  # uncompressed size of a .i2i archive
# Files operating systems drop into folders on their own; a bundle folder may hold them.
IGNORED_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})

_NAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
_ID_RE = re.compile(r"^[a-z0-9_]+$")
_CHUNK = 1 << 20


class BundleError(Exception):
    """A bundle cannot be used; the message says which bundle and why, in one line."""


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
    ``.i2i`` archive); ``source`` is what the user pointed at (the folder or the archive)."""

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

    @property
    def family_spec(self) -> FamilySpec:
        return FAMILIES[self.family]

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


# ---------------------------------------------------------------- manifest parsing


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


# ---------------------------------------------------------------- files


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def _check_files(folder: Path, where: str, graphs: list[GraphSpec], arrays: list[ArraySpec]) -> None:
    listed = {spec.file: spec for spec in [*graphs, *arrays]}
    present = {p.name for p in folder.iterdir()} - IGNORED_FILES - {MANIFEST}
    missing = sorted(set(listed) - present)
    if missing:
        raise BundleError(f"{where}: listed file {missing[0]} is missing")
    extra = sorted(present - set(listed))
    if extra:
        raise BundleError(f"{where}: file {extra[0]} is not listed in the manifest")
    for name, spec in listed.items():
        path = folder / name
        if path.is_symlink() or not path.is_file():
            raise BundleError(f"{where}: {name} is not a regular file")
        if sha256_file(path) != spec.sha256:
            raise BundleError(f"{where}: checksum mismatch for {name} (file changed or corrupt)")
    for spec in arrays:
        _check_array(folder / spec.file, spec, where)


def _check_array(path: Path, spec: ArraySpec, where: str) -> None:
    try:
        arr = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise BundleError(f"{where}: {spec.file} is not a plain .npy array ({exc})") from None
    if tuple(arr.shape) != spec.shape or str(arr.dtype) != spec.dtype:
        raise BundleError(f"{where}: {spec.file} holds {arr.dtype}{list(arr.shape)}, "
                          f"the manifest says {spec.dtype}{list(spec.shape)}")


def _load_folder(folder: Path, source: Path) -> Bundle:
    where = str(source)
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise BundleError(f"{where}: no {MANIFEST}")
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(f"{where}: {MANIFEST} is not valid JSON ({exc})") from None
    fields = parse_manifest(manifest, where)
    _check_files(folder, where, fields["graphs"], fields["arrays"])
    return Bundle(path=folder, source=source, manifest=manifest, **fields)


# ---------------------------------------------------------------- .i2i archives


def _is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def _check_archive(zf: zipfile.ZipFile, where: str) -> list[zipfile.ZipInfo]:
    total = 0
    infos = zf.infolist()
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in re.split(r"[\\/]", name):
            raise BundleError(f"{where}: archive entry {name!r} would land outside the bundle folder")
        if "/" in name.rstrip("/") or "\\" in name or info.is_dir():
            raise BundleError(f"{where}: archive entry {name!r} is in a sub-folder (files belong at the root)")
        if _is_symlink(info):
            raise BundleError(f"{where}: archive entry {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise BundleError(f"{where}: archive entry {name!r} is encrypted")
        total += info.file_size
    if total > MAX_ARCHIVE_BYTES:
        raise BundleError(f"{where}: archive would unpack to {total / 1024**3:.1f} GiB (limit 2 GiB)")
    return infos


def _extract_archive(archive: Path, target: Path) -> None:
    """Extract a checked archive into a fresh ``target`` folder, counting the bytes really written."""
    where = str(archive)
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = _check_archive(zf, where)
            tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=target.parent))
            try:
                written = 0
                for info in infos:
                    with zf.open(info) as src, open(tmp / info.filename, "xb") as dst:
                        while chunk := src.read(_CHUNK):
                            written += len(chunk)
                            if written > MAX_ARCHIVE_BYTES:
                                raise BundleError(f"{where}: archive unpacks to more than 2 GiB")
                            dst.write(chunk)
                try:
                    os.replace(tmp, target)
                except OSError:
                    if not (target / MANIFEST).is_file():  # not a concurrent extraction of the same archive
                        raise
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise BundleError(f"{where}: not a readable .i2i archive ({exc})") from None
    except FileExistsError:
        raise BundleError(f"{where}: archive holds the same file twice") from None


def _load_archive(archive: Path) -> Bundle:
    """Extract into the cache (keyed by the archive's digest) unless a valid extraction is already there."""
    digest = sha256_file(archive)
    target = cache_dir() / "bundles" / digest[:32]
    if (target / MANIFEST).is_file():
        try:
            return _load_folder(target, archive)
        except BundleError:
            pass  # the cached copy was changed or damaged: extract again
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(target, ignore_errors=True)
    _extract_archive(archive, target)
    return _load_folder(target, archive)


# ---------------------------------------------------------------- public API


def load_bundle(path: str | os.PathLike, *, check_graphs: bool = False) -> Bundle:
    """Load and validate a bundle folder or ``.i2i`` archive.

    Structure, roles, listed/extra files, checksums and array headers are always checked;
    ``check_graphs=True`` also opens every ONNX graph and compares its inputs and outputs with the
    manifest (the translators do this anyway when they create their sessions).
    """
    path = Path(path)
    if path.is_dir():
        bundle = _load_folder(path, path)
    elif path.is_file():
        if path.suffix.lower() != ARCHIVE_SUFFIX and not zipfile.is_zipfile(path):
            raise BundleError(f"{path}: not a bundle (expected a folder or a {ARCHIVE_SUFFIX} archive)")
        bundle = _load_archive(path)
    else:
        raise BundleError(f"{path}: no such bundle")
    if check_graphs:
        verify_graphs(bundle)
    return bundle


_ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def check_session_io(bundle: Bundle, spec: GraphSpec, session: Any) -> None:
    """Compare an onnxruntime session's inputs/outputs with the manifest (names, dtypes, rank, fixed dims)."""
    where = f"{bundle.source}: graph {spec.file}"
    for kind, declared, actual in (("input", spec.inputs, session.get_inputs()),
                                   ("output", spec.outputs, session.get_outputs())):
        got_names = [a.name for a in actual]
        want_names = [d.name for d in declared]
        if got_names != want_names:
            raise BundleError(f"{where}: {kind}s are {got_names}, the manifest says {want_names}")
        for want, got in zip(declared, actual):
            dtype = _ORT_DTYPES.get(got.type, got.type)
            if dtype != want.dtype:
                raise BundleError(f"{where}: {kind} {want.name} is {dtype}, the manifest says {want.dtype}")
            if len(got.shape) != len(want.shape):
                raise BundleError(f"{where}: {kind} {want.name} has rank {len(got.shape)}, "
                                  f"the manifest says {len(want.shape)}")
            for axis, (w, g) in enumerate(zip(want.shape, got.shape)):
                if isinstance(g, int) and g != w:
                    raise BundleError(f"{where}: {kind} {want.name} fixes axis {axis} to {g}, "
                                      f"the manifest says {w}")


def verify_graphs(bundle: Bundle) -> None:
    """Open every graph on the CPU and check it against the manifest (raises :class:`BundleError`)."""
    for spec in bundle.graphs:
        try:
            session = ort.InferenceSession(str(bundle.graph_path(spec)), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unloadable graphs
            raise BundleError(f"{bundle.source}: graph {spec.file} cannot be loaded ({first_line(exc)})") from None
        check_session_io(bundle, spec, session)


class BundleScan(NamedTuple):
    """What :func:`find_bundles` found: usable bundles, and one error message per broken path."""

    bundles: list[Bundle]
    errors: dict[Path, str]


def model_dirs() -> list[Path]:
    """Folders searched for bundles, lowest priority first."""
    return [shipped_models_dir(), user_models_dir()]


def find_bundles(dirs: Iterable[Path] | None = None) -> BundleScan:
    """Every bundle (folder or ``.i2i``) directly inside the model folders. A user bundle with the
    same name as a shipped one replaces it."""
    by_name: dict[str, Bundle] = {}
    errors: dict[Path, str] = {}
    for folder in model_dirs() if dirs is None else dirs:
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith(".") or not (entry.is_dir() or entry.suffix.lower() == ARCHIVE_SUFFIX):
                continue
            try:
                bundle = load_bundle(entry)
            except BundleError as exc:
                errors[entry] = str(exc)
            except OSError as exc:
                errors[entry] = f"{entry}: cannot be read ({exc.strerror or exc})"
            else:
                by_name[bundle.name] = bundle
    return BundleScan(sorted(by_name.values(), key=lambda b: b.name), errors)


def resolve_bundle(name_or_path: str | os.PathLike) -> Bundle:
    """A bundle given by path (folder or ``.i2i``) or by name among :func:`find_bundles`."""
    path = Path(name_or_path)
    if path.exists():
        return load_bundle(path)
    scan = find_bundles()
    for bundle in scan.bundles:
        if bundle.name == str(name_or_path):
            return bundle
    known = ", ".join(b.name for b in scan.bundles) or "none installed"
    raise BundleError(f"no model named {str(name_or_path)!r} (available: {known})")


def install_bundle(src: str | os.PathLike, *, overwrite: bool = False) -> Bundle:
    """Validate a bundle (graphs included) and copy it, as a folder, into :func:`user_models_dir`.

    The copy is made beside the target and moved into place, so a failed install leaves nothing behind.
    """
    bundle = load_bundle(src, check_graphs=True)
    models = user_models_dir()
    models.mkdir(parents=True, exist_ok=True)
    target = models / bundle.name
    if target.exists() and not overwrite:
        raise BundleError(f"a model named {bundle.name!r} is already installed at {target}")
    tmp = Path(tempfile.mkdtemp(prefix=f".install-{bundle.name}-", dir=models))
    try:
        for name in [MANIFEST, *(g.file for g in bundle.graphs), *(a.file for a in bundle.arrays)]:
            shutil.copyfile(bundle.path / name, tmp / name)
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".old-{bundle.name}-", dir=models))
            os.replace(target, old / "b")
            os.replace(tmp, target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return load_bundle(target)

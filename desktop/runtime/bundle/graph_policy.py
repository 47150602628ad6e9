"""What a bundle's graphs and arrays may contain, checked before onnxruntime opens anything.

A bundle holds only what its family needs: every ONNX node must use an operator on the family's list
(``FamilySpec.ops``), no graph may carry subgraphs, local functions or weights stored elsewhere, and
every weight's declared size is bounded and must match the bytes it stores. Stored arrays and the
normalisation must be finite, and the sizes the graphs are run at stay within :data:`MAX_MODEL_PIXELS`.
Every refusal is a one-line :class:`BundleError`.
"""
from __future__ import annotations

import math

import numpy as np

from ..onnx_summary import ITEM_SIZES, OnnxReadError, TensorInfo, summarize
from ..preprocess import model_size
from .model import Bundle, BundleError, GraphSpec

DEFAULT_DOMAINS = ("", "ai.onnx")
MAX_TENSOR_ELEMENTS = 1 << 28  # one weight: 1 GiB as float32, far above any generator layer here
MAX_RESIZE_SCALE = 8.0  # generators upsample by 2 (4 in one step of the test models) per Resize
# The largest image a graph is ever run at: twice the 1024x1024 the exporter allows as a bundle's max
# side (export/manifest.py); MUNIT needs about 1 GB of memory per megapixel on the CPU.
MAX_MODEL_PIXELS = 2 * 1024 * 1024


def check_graph_file(bundle: Bundle, spec: GraphSpec) -> None:
    """Refuse a graph that uses operators or features its family does not need (see module doc)."""
    where = f"{bundle.source}: graph {spec.file}"
    try:
        summary = summarize(bundle.graph_path(spec))
    except (OnnxReadError, OSError) as exc:
        raise BundleError(f"{where} cannot be loaded ({exc})") from None
    family = bundle.family_spec
    for domain, op in sorted(summary.ops):
        if domain not in DEFAULT_DOMAINS:
            raise BundleError(f"{where}: uses operator {op!r} of the custom domain {domain!r}")
        if op not in family.ops:
            raise BundleError(f"{where}: uses operator {op!r}, which a {family.name} graph never needs")
    if summary.subgraphs:
        raise BundleError(f"{where}: carries a subgraph ({summary.subgraphs[0]}); bundles hold plain graphs")
    for count, what in ((summary.functions, "local functions"), (summary.training_info, "training steps"),
                        (summary.sparse_tensors, "sparse tensors")):
        if count:
            raise BundleError(f"{where}: holds {what}, which bundles never use")
    for tensor in summary.tensors:
        _check_tensor(where, tensor)
    for scales in summary.resize_scales:
        if not all(math.isfinite(v) and 0 < v <= MAX_RESIZE_SCALE for v in scales):
            raise BundleError(f"{where}: a Resize scales by {list(scales)}; generators never scale by more "
                              f"than {MAX_RESIZE_SCALE:g}")


def _check_tensor(where: str, tensor: TensorInfo) -> None:
    name = tensor.name or "(unnamed)"
    if tensor.external:
        raise BundleError(f"{where}: weight {name!r} is stored outside the graph file")
    if any(d < 0 for d in tensor.dims):
        raise BundleError(f"{where}: weight {name!r} declares a negative dimension {list(tensor.dims)}")
    count = math.prod(tensor.dims)
    if count > MAX_TENSOR_ELEMENTS:
        raise BundleError(f"{where}: weight {name!r} declares {count:,} values (limit {MAX_TENSOR_ELEMENTS:,})")
    size = ITEM_SIZES.get(tensor.data_type)
    if tensor.raw_bytes is not None and size is not None and tensor.raw_bytes != count * size:
        raise BundleError(f"{where}: weight {name!r} declares {count:,} values ({count * size:,} bytes) but stores "
                          f"{tensor.raw_bytes:,} bytes")


def check_graph_files(bundle: Bundle) -> None:
    """:func:`check_graph_file` for every graph, then :func:`check_contents`."""
    for spec in bundle.graphs:
        check_graph_file(bundle, spec)
    check_contents(bundle)


def check_contents(bundle: Bundle) -> None:
    """:func:`check_values` and :func:`check_work_bounds`: what a translator checks before it opens graphs."""
    check_values(bundle)
    check_work_bounds(bundle)


def check_values(bundle: Bundle) -> None:
    """Refuse non-finite normalisation values and stored arrays (style statistics, cluster styles)."""
    image = bundle.image
    if not all(math.isfinite(v) for v in (*image.mean, *image.std)):
        raise BundleError(f"{bundle.source}: image.normalization holds a value that is not a finite number")
    for spec in bundle.arrays:
        values = np.load(bundle.path / spec.file, mmap_mode="r", allow_pickle=False)
        if values.dtype.kind in "fc" and not np.isfinite(values).all():
            raise BundleError(f"{bundle.source}: array {spec.file} holds NaN or infinite values")


def check_work_bounds(bundle: Bundle) -> None:
    """Refuse a bundle whose graphs would be run at an empty size or, for the "fit" size every
    translator warms up at, above :data:`MAX_MODEL_PIXELS` (checked before anything is allocated)."""
    train = bundle.image.train_size
    height, width = model_size(bundle.image, train, train, "fit")
    where = f"{bundle.source}: image.sizes"
    if min(height, width) < 1:
        raise BundleError(f"{where}: the graphs would be fed an empty {height}x{width} image")
    if height * width > MAX_MODEL_PIXELS:
        raise BundleError(f"{where}: the graphs would be fed {height}x{width} images, above the "
                          f"{MAX_MODEL_PIXELS / 1e6:.1f} Mpx this app runs a graph at")

"""The runtime's model families: which graphs and arrays a family's bundle holds and what it can do.

Plain data, so that bundle validation can use it without importing the translators; each family's
translator class is listed in :data:`desktop.runtime.translators.RUNTIME_TRANSLATORS`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Scope = Literal["domain", "direction", "bundle"]

# ONNX operators (default domain) any image generator here is made of: convolutions, normalisation
# written out or as one op, element-wise maths, the shape arithmetic exporters emit around them, and the
# ops of the fp16 (Cast) and int8 (static QDQ, dynamic) variants. No control flow (Loop, If, Scan), no
# custom domains: a graph needing more than its family's list is refused before onnxruntime sees it.
_CORE_OPS = frozenset({
    "Abs", "Add", "Cast", "Clip", "Concat", "Constant", "Conv", "ConvTranspose", "Div", "Erf", "Exp", "Expand",
    "Flatten", "Gather", "Gemm", "Identity", "InstanceNormalization", "LeakyRelu", "MatMul", "Max", "Min", "Mul",
    "Neg", "Pad", "Pow", "ReduceMean", "ReduceProd", "ReduceSum", "Relu", "Reshape", "Resize", "Shape", "Slice",
    "Split", "Sqrt", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze",
    # precision variants
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "ConvInteger", "MatMulInteger",
})


@dataclass(frozen=True)
class RoleSpec:
    """A graph (or array) role and what it is per: each domain, each direction, or once per bundle. An array
    role also fixes the one numpy dtype its ``.npy`` file may hold (a whitelist of one: no strings, no records)."""

    role: str
    per: Scope
    dtype: str = "float32"  # arrays only


# Which graph of a role a translation along a direction runs: the source or target domain's (per-domain
# roles), the direction's, or the bundle's one.
FrameEnd = Literal["source", "target", "direction", "bundle"]


@dataclass(frozen=True)
class FamilySpec:
    """What a family's bundle must contain, and (``frame_graphs``) which of its graphs one translation runs
    per frame once the style is fixed (what a frame costs: ``export.macs``)."""

    name: str
    graphs: tuple[RoleSpec, ...]
    required_arrays: tuple[RoleSpec, ...] = ()
    optional_arrays: tuple[RoleSpec, ...] = ()
    has_style: bool = True
    any_source: bool = False  # directions use source "*" and the domains are discovered clusters (TUNIT)
    attention_map: bool = False  # each translation also returns an attention heatmap (U-GAT-IT)
    ops: frozenset[str] = _CORE_OPS  # the ONNX operators its graphs may use
    frame_graphs: tuple[tuple[str, FrameEnd], ...] = ()


MUNIT_SPEC = FamilySpec(
    name="munit",
    graphs=(RoleSpec("content_encoder", "domain"), RoleSpec("style_encoder", "domain"), RoleSpec("decoder", "domain")),
    optional_arrays=(RoleSpec("style_mean", "domain"), RoleSpec("style_cov", "domain"),
                     RoleSpec("style_presets", "domain")),
    frame_graphs=(("content_encoder", "source"), ("decoder", "target")),
)
UGATIT_SPEC = FamilySpec(
    name="ugatit",
    graphs=(RoleSpec("generator", "direction"),),
    has_style=False,
    attention_map=True,
    # CAM attention (global average/max pooling, a linear layer, sigmoid), AdaLIN, the heatmap's min-max scaling
    ops=_CORE_OPS | {"GlobalAveragePool", "GlobalMaxPool", "ReduceMax", "ReduceMin", "Sigmoid", "LayerNormalization"},
    frame_graphs=(("generator", "direction"),),
)
TUNIT_SPEC = FamilySpec(
    name="tunit",
    graphs=(RoleSpec("guiding", "bundle"), RoleSpec("generator", "bundle")),
    required_arrays=(RoleSpec("cluster_styles", "bundle"),),
    # the cluster browser's training-set sizes [K] and most typical training images [K, E, S, S, 3] (RGB)
    optional_arrays=(RoleSpec("cluster_sizes", "bundle", "int64"), RoleSpec("cluster_exemplars", "bundle", "uint8")),
    any_source=True,
    # the guiding network is a small ResNet classifier
    ops=_CORE_OPS | {"AveragePool", "BatchNormalization", "GlobalAveragePool", "MaxPool", "Softmax"},
    frame_graphs=(("generator", "bundle"),),
)

# The runtime's family registry: one line per family (its translator: translators/__init__.py).
RUNTIME_FAMILIES: dict[str, FamilySpec] = {
    "munit": MUNIT_SPEC,
    "ugatit": UGATIT_SPEC,
    "tunit": TUNIT_SPEC,
}

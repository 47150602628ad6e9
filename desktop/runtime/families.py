"""The model families a bundle may hold: which graphs and arrays each needs, and its translator class.

The role tables are plain data so that bundle validation can use them; translator classes register
themselves here with :func:`register_translator` (see ``desktop/runtime/translators/``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Literal, TypeVar

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
    """A graph (or array) role and what it is per: each domain, each direction, or once per bundle."""

    role: str
    per: Scope


@dataclass(frozen=True)
class FamilySpec:
    """What a family's bundle must contain."""

    name: str
    graphs: tuple[RoleSpec, ...]
    required_arrays: tuple[RoleSpec, ...] = ()
    optional_arrays: tuple[RoleSpec, ...] = ()
    has_style: bool = True
    any_source: bool = False  # directions use source "*" (TUNIT: any image can be translated)
    ops: frozenset[str] = _CORE_OPS  # the ONNX operators its graphs may use


FAMILIES: dict[str, FamilySpec] = {
    spec.name: spec
    for spec in (
        FamilySpec(
            name="munit",
            graphs=(
                RoleSpec("content_encoder", "domain"),
                RoleSpec("style_encoder", "domain"),
                RoleSpec("decoder", "domain"),
            ),
            optional_arrays=(RoleSpec("style_mean", "domain"), RoleSpec("style_cov", "domain")),
        ),
        FamilySpec(
            name="ugatit",
            graphs=(RoleSpec("generator", "direction"),),
            has_style=False,
            # CAM attention (global average/max pooling, a linear layer, sigmoid) and AdaLIN
            ops=_CORE_OPS | {"GlobalAveragePool", "GlobalMaxPool", "ReduceMax", "Sigmoid", "LayerNormalization"},
        ),
        FamilySpec(
            name="tunit",
            graphs=(RoleSpec("guiding", "bundle"), RoleSpec("generator", "bundle")),
            required_arrays=(RoleSpec("cluster_styles", "bundle"),),
            any_source=True,
            # the guiding network is a small ResNet classifier
            ops=_CORE_OPS | {"AveragePool", "BatchNormalization", "GlobalAveragePool", "MaxPool", "Softmax"},
        ),
    )
}

TRANSLATORS: dict[str, type] = {}

T = TypeVar("T", bound=type)


def register_translator(family: str) -> Callable[[T], T]:
    """Class decorator: make ``cls`` the translator for ``family`` (which must be in :data:`FAMILIES`)."""

    def register(cls: T) -> T:
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}")
        TRANSLATORS[family] = cls
        return cls

    return register

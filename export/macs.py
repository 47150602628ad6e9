"""What one frame costs: multiply-accumulates of a bundle's graphs, counted from the ONNX graphs themselves.

Every Conv, ConvTranspose, Gemm and MatMul (and their int8 forms ConvInteger and MatMulInteger) is counted at
the shapes ``onnx.shape_inference`` gives it for one image (batch 1) of the asked size; normalisation, activations
and resizing are left out (they are a few percent of a convolutional generator). The fp32 graphs are counted (the
int8 ones count the same; in the fp16 ones, casts around computed resize sizes defeat shape inference). A frame is
what one translation runs once its style is fixed (``FamilySpec.frame_graphs``): for MUNIT the source domain's
content encoder and the target domain's decoder, the style encoder not (a fixed style is encoded once).

    python -m export.macs resources/models/cat2dog-munit.i2i student.i2i [--size 256]
"""
from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import onnx
from onnx import shape_inference

from desktop.runtime.bundle import Bundle, BundleError, Direction, load_bundle

from .onnx_export import ExportError

Shape = list[int | None]
# where the graph of a frame role is looked up: per-domain roles at one end of the direction, or the direction's
_SCOPES = {"source": lambda d: {"domain": d.source}, "target": lambda d: {"domain": d.target},
           "direction": lambda d: {"direction": d.id}, "bundle": lambda d: {}}


def _dims(value: onnx.ValueInfoProto) -> Shape:
    return [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]


def _per_image(shape: Shape, where: str) -> int:
    """The product of every axis but the first (the batch); all of them must be known."""
    if len(shape) < 2 or any(d is None for d in shape[1:]):
        raise ExportError(f"{where}: shape {shape} not known (shape inference could not follow the graph)")
    return math.prod(d for d in shape[1:] if d is not None)


def _node_macs(node: onnx.NodeProto, shapes: Mapping[str, Shape]) -> int:
    """MACs of one node for one image (0 for nodes that are not counted)."""
    where = f"{node.op_type} {node.name or node.output[0]}"
    if node.op_type in ("Conv", "ConvInteger"):  # every output value: C_in / group x kernel products
        return _per_image(shapes[node.output[0]], where) * _per_image(shapes[node.input[1]], where)
    if node.op_type == "ConvTranspose":  # every input value spreads over C_out / group x kernel outputs
        return _per_image(shapes[node.input[0]], where) * _per_image(shapes[node.input[1]], where)
    if node.op_type in ("Gemm", "MatMul", "MatMulInteger"):
        a = shapes[node.input[0]]
        trans_a = any(attr.name == "transA" and attr.i for attr in node.attribute)
        inner = a[-2] if trans_a else a[-1]
        if inner is None:
            raise ExportError(f"{where}: shape {a} not known")
        return _per_image(shapes[node.output[0]], where) * inner
    return 0


def graph_macs(model: onnx.ModelProto, inputs: Mapping[str, Sequence[int]]) -> tuple[int, dict[str, Shape]]:
    """MACs of one run of ``model`` for one image with its inputs at the shapes ``inputs`` gives (by name, batch
    axis included), and the shapes of its outputs by name."""
    model = onnx.ModelProto.FromString(model.SerializeToString())  # shapes are written into a copy
    for value in model.graph.input:
        if value.name not in inputs:
            raise ExportError(f"graph input {value.name!r}: no shape given (given: {', '.join(inputs)})")
        dims = value.type.tensor_type.shape.dim
        if len(dims) != len(inputs[value.name]):
            raise ExportError(f"graph input {value.name!r} has {len(dims)} axes, not {len(inputs[value.name])}")
        for dim, size in zip(dims, inputs[value.name], strict=True):
            dim.Clear()
            dim.dim_value = int(size)
    del model.graph.value_info[:]
    try:
        graph = shape_inference.infer_shapes(model, strict_mode=True, data_prop=True).graph
    except (onnx.shape_inference.InferenceError, onnx.checker.ValidationError) as exc:
        raise ExportError(f"shape inference failed: {str(exc).splitlines()[0]}") from None
    shapes = {v.name: _dims(v) for v in (*graph.input, *graph.value_info, *graph.output)}
    shapes.update({t.name: list(t.dims) for t in graph.initializer})
    return sum(_node_macs(node, shapes) for node in graph.node), {v.name: shapes[v.name] for v in graph.output}


def frame_macs(bundle: Bundle, direction: str | None = None, height: int = 256, width: int = 256) -> int:
    """MACs of one ``height`` x ``width`` frame translated along ``direction`` (default the first) with a fixed
    style: the fp32 graphs of the family's ``frame_graphs`` run in turn, each output feeding the next graph."""
    sizes = bundle.image.sizes
    if sizes.kind == "fixed" and (sizes.height, sizes.width) != (height, width):
        raise ExportError(f"{bundle.name} only takes {sizes.width}x{sizes.height} images, not {width}x{height}")
    along: Direction = bundle.direction(direction) if direction else bundle.directions[0]
    known: dict[str, Sequence[int | None]] = {"image": [1, 3, height, width]}
    if bundle.style is not None:
        known["style"] = [1, bundle.style.dim]
    total = 0
    for role, end in bundle.family_spec.frame_graphs:
        spec = bundle.graph(role, **_SCOPES[end](along))
        feeds = {t.name: known.get(t.name) for t in spec.inputs}
        missing = [name for name, shape in feeds.items() if shape is None or None in shape]
        if missing:
            raise ExportError(f"{bundle.name}: {spec.file} takes {', '.join(missing)}, which no earlier graph gives")
        macs, outputs = graph_macs(onnx.load(str(bundle.graph_path(spec))), feeds)
        total += macs
        known.update(outputs)
    return total


def main(argv: list[str] | None = None) -> int:
    """Print the GMACs of one frame per direction of each bundle; exit status 1 if one cannot be counted."""
    parser = argparse.ArgumentParser(prog="python -m export.macs", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("bundles", nargs="+", type=Path, help="bundle folders or .i2i archives")
    parser.add_argument("--size", type=int, default=256, help="frame side in pixels (default 256)")
    args = parser.parse_args(argv)
    status = 0
    for path in args.bundles:
        try:
            bundle = load_bundle(path)
            counts = {d.id: frame_macs(bundle, d.id, args.size, args.size) for d in bundle.directions}
        except (BundleError, ExportError, OSError) as exc:
            print(f"export.macs: {path}: {exc}", file=sys.stderr)
            status = 1
            continue
        student = f", a student of {bundle.student_of}" if bundle.student_of else ""
        per = ", ".join(f"{d} {macs / 1e9:.2f}" for d, macs in counts.items())
        print(f"{bundle.name} ({bundle.family}{student}): GMACs per {args.size}x{args.size} frame: {per}")
    return status


if __name__ == "__main__":
    sys.exit(main())

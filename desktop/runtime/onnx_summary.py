"""What an ONNX file contains, read without the ``onnx`` package: operators, subgraphs and weight shapes.

The app only needs a few fields of ``onnx.proto`` (ModelProto -> GraphProto -> NodeProto / TensorProto),
so this module declares that subset (same field numbers as onnx.proto, proto2) and lets ``protobuf``
(which onnxruntime itself requires) parse the file; every field it does not declare is skipped.
Nothing in the graph runs here.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message, message_factory

_F = descriptor_pb2.FieldDescriptorProto
# message -> [(field name, number, type, label, message type)]; numbers are those of onnx.proto
_SCHEMA: dict[str, list[tuple[str, int, int, int, str | None]]] = {
    "Model": [
        ("graph", 7, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, "Graph"),
        ("training_info", 20, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
        ("functions", 25, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
    ],
    "Graph": [
        ("node", 1, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "Node"),
        ("initializer", 5, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "Tensor"),
        ("sparse_initializer", 15, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
    ],
    "Node": [
        ("input", 1, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
        ("output", 2, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
        ("op_type", 4, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
        ("attribute", 5, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "Attribute"),
        ("domain", 7, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
    ],
    "Attribute": [
        ("name", 1, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
        ("t", 5, _F.TYPE_MESSAGE, _F.LABEL_OPTIONAL, "Tensor"),
        ("g", 6, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
        ("tensors", 10, _F.TYPE_MESSAGE, _F.LABEL_REPEATED, "Tensor"),
        ("graphs", 11, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
        ("sparse_tensor", 22, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
        ("sparse_tensors", 23, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
    ],
    "Tensor": [
        ("dims", 1, _F.TYPE_INT64, _F.LABEL_REPEATED, None),
        ("data_type", 2, _F.TYPE_INT32, _F.LABEL_OPTIONAL, None),
        ("float_data", 4, _F.TYPE_FLOAT, _F.LABEL_REPEATED, None),
        ("name", 8, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
        ("raw_data", 9, _F.TYPE_BYTES, _F.LABEL_OPTIONAL, None),
        ("external_data", 13, _F.TYPE_BYTES, _F.LABEL_REPEATED, None),
        ("data_location", 14, _F.TYPE_INT32, _F.LABEL_OPTIONAL, None),
    ],
}
# TensorProto.DataType -> bytes per element (types a raw_data length can be checked for)
ITEM_SIZES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 16: 2}
FLOAT = 1
_SMALL = 16  # constants up to this many values are kept (Resize scales)


class OnnxReadError(Exception):
    """The file is not a readable ONNX model."""


@dataclass(frozen=True)
class TensorInfo:
    """A weight (initializer or Constant value): declared dims, element type and stored bytes."""

    name: str
    dims: tuple[int, ...]
    data_type: int
    raw_bytes: int | None  # len(raw_data), None when the values are in typed fields
    external: bool  # the values live in another file


@dataclass(frozen=True)
class OnnxSummary:
    """Everything :mod:`.bundle.graph_policy` judges a graph by."""

    ops: frozenset[tuple[str, str]]  # (domain, op_type); domain "" is the default ONNX domain
    subgraphs: tuple[str, ...]  # "<op_type>.<attribute>" for every attribute holding a graph
    resize_scales: tuple[tuple[float, ...], ...]  # the constant ``scales`` of every Resize that has them
    functions: int  # model-local functions
    training_info: int
    sparse_tensors: int
    tensors: tuple[TensorInfo, ...]


@lru_cache(maxsize=1)
def _classes() -> dict[str, Any]:
    file = descriptor_pb2.FileDescriptorProto(name="i2i_onnx_subset.proto", package="i2i_onnx_subset",
                                              syntax="proto2")
    for msg_name, fields in _SCHEMA.items():
        msg = file.message_type.add(name=msg_name)
        for name, number, kind, label, type_name in fields:
            field = msg.field.add(name=name, number=number, type=kind, label=label)
            if type_name:
                field.type_name = f".i2i_onnx_subset.{type_name}"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(file)
    return {name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"i2i_onnx_subset.{name}"))
            for name in _SCHEMA}


def _text(value: bytes) -> str:
    return value.decode("utf-8", errors="replace")


def _tensor(t: Any) -> TensorInfo:
    return TensorInfo(name=_text(t.name), dims=tuple(t.dims), data_type=t.data_type,
                      raw_bytes=len(t.raw_data) if t.HasField("raw_data") else None,
                      external=t.data_location == 1 or len(t.external_data) > 0)


def _small_floats(t: Any) -> tuple[float, ...] | None:
    """The values of a float32 tensor of at most ``_SMALL`` values, else None."""
    if t.data_type != FLOAT or len(t.dims) > 1 or (t.dims and t.dims[0] > _SMALL):
        return None
    if not t.HasField("raw_data"):
        return tuple(t.float_data)
    if len(t.raw_data) > 4 * _SMALL or len(t.raw_data) % 4:
        return None
    return tuple(map(float, np.frombuffer(t.raw_data, "<f4")))


def summarize(path: str | Path) -> OnnxSummary:
    """Read the operators, subgraph attributes and weight shapes of the ONNX file at ``path``."""
    classes = _classes()
    model = classes["Model"]()
    try:
        model.ParseFromString(Path(path).read_bytes())
    except message.DecodeError:
        raise OnnxReadError("not a readable ONNX model (its protobuf encoding is corrupt)") from None
    ops: set[tuple[str, str]] = set()
    subgraphs: list[str] = []
    tensors = [_tensor(t) for t in model.graph.initializer]
    constants = {t.name: _small_floats(t) for t in model.graph.initializer}
    sparse = len(model.graph.sparse_initializer)
    for node in model.graph.node:
        op = _text(node.op_type)
        ops.add((_text(node.domain), op))
        for attr in node.attribute:
            if attr.HasField("g") or len(attr.graphs):
                subgraphs.append(f"{op}.{_text(attr.name)}")
            if attr.HasField("t"):
                tensors.append(_tensor(attr.t))
                if op == "Constant" and node.output:
                    constants[node.output[0]] = _small_floats(attr.t)
            tensors.extend(_tensor(t) for t in attr.tensors)
            sparse += int(attr.HasField("sparse_tensor")) + len(attr.sparse_tensors)
    scales = (constants.get(n.input[2]) for n in model.graph.node if n.op_type == b"Resize" and len(n.input) > 2)
    return OnnxSummary(ops=frozenset(ops), subgraphs=tuple(subgraphs),
                       resize_scales=tuple(s for s in scales if s is not None), functions=len(model.functions),
                       training_info=len(model.training_info), sparse_tensors=sparse, tensors=tuple(tensors))

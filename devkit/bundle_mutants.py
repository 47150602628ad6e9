"""Tampered copies of the tiny bundles, each re-hashed so that its sha256 entries still match.

Used by the graph-level tests and by ``scripts/fault_injection/tampered_bundles.py``. Needs ``onnx``
(a trainer/test dependency; the app never imports it).
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from desktop.runtime.bundle import MANIFEST, sha256_file


def copy_bundle(src: Path, dst: Path) -> Path:
    """A writable copy of the bundle folder ``src`` at ``dst``."""
    shutil.copytree(src, dst)
    return dst


def read_manifest(folder: Path) -> dict[str, Any]:
    return json.loads((folder / MANIFEST).read_text(encoding="utf-8"))


def rehash(folder: Path) -> None:
    """Recompute every sha256 entry of ``folder``'s manifest from the files as they are now."""
    manifest = read_manifest(folder)
    for entry in [*manifest.get("graphs", []), *manifest.get("arrays", [])]:
        if (folder / entry["file"]).is_file():
            entry["sha256"] = sha256_file(folder / entry["file"])
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")


def edit_manifest(folder: Path, change: Callable[[dict[str, Any]], Any]) -> None:
    """Apply ``change`` to the manifest in place (``json`` writes NaN/Infinity as the tamperer would)."""
    manifest = read_manifest(folder)
    change(manifest)
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    rehash(folder)


def edit_graph(folder: Path, file: str, change: Callable[[onnx.ModelProto], Any]) -> None:
    """Apply ``change`` to the ONNX model ``file`` of the bundle, save it and re-hash."""
    model = onnx.load(str(folder / file))
    change(model)
    onnx.save(model, str(folder / file))
    rehash(folder)


def edit_array(folder: Path, file: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    """Replace the ``.npy`` file with ``change(values)`` (same dtype and shape) and re-hash."""
    values = np.load(folder / file, allow_pickle=False)
    np.save(folder / file, np.asarray(change(values.copy()), values.dtype), allow_pickle=False)
    rehash(folder)


def drop_arrays(folder: Path, *roles: str) -> Path:
    """Remove the arrays of ``roles`` (files and manifest entries), e.g. to make a bundle as an older exporter
    wrote it."""
    manifest = read_manifest(folder)
    for entry in manifest.get("arrays", []):
        if entry["role"] in roles:
            (folder / entry["file"]).unlink()
    edit_manifest(folder, lambda m: m.update(arrays=[a for a in m["arrays"] if a["role"] not in roles]))
    return folder


def _rewire_input(model: onnx.ModelProto, old: str, new: str) -> None:
    for node in model.graph.node:
        node.input[:] = [new if name == old else name for name in node.input]


def insert_loop(model: onnx.ModelProto, trips: int = 10**12) -> None:
    """Route the graph's first input through a ``Loop`` of ``trips`` iterations that passes it along."""
    x = model.graph.input[0].name
    body = helper.make_graph(
        [helper.make_node("Identity", ["cond_in"], ["cond_out"]), helper.make_node("Identity", ["v_in"], ["v_out"])],
        "body",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_in", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, []),
         helper.make_tensor_value_info("v_out", TensorProto.FLOAT, None)])
    model.graph.initializer.extend([numpy_helper.from_array(np.array(trips, np.int64), "loop_trips"),
                                    numpy_helper.from_array(np.array(True), "loop_cond")])
    _rewire_input(model, x, "looped")
    model.graph.node.insert(0, helper.make_node("Loop", ["loop_trips", "loop_cond", x], ["looped"], body=body))


def insert_if(model: onnx.ModelProto) -> None:
    """Route the first input through an ``If`` whose branches both pass it along (a subgraph)."""
    x = model.graph.input[0].name
    branch = helper.make_graph([helper.make_node("Identity", [x], ["branch_out"])], "branch", [],
                               [helper.make_tensor_value_info("branch_out", TensorProto.FLOAT, None)])
    model.graph.initializer.append(numpy_helper.from_array(np.array(True), "if_cond"))
    _rewire_input(model, x, "chosen")
    model.graph.node.insert(0, helper.make_node("If", ["if_cond"], ["chosen"], then_branch=branch,
                                                else_branch=branch))


def insert_op(model: onnx.ModelProto, op_type: str, domain: str = "") -> None:
    """Route the first input through a one-input operator ``op_type`` (e.g. ``Sin``, or a custom op)."""
    x = model.graph.input[0].name
    _rewire_input(model, x, "through_op")
    model.graph.node.insert(0, helper.make_node(op_type, [x], ["through_op"], domain=domain or None))
    if domain and not any(o.domain == domain for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid(domain, 1))


def initializer(model: onnx.ModelProto, name: str) -> onnx.TensorProto:
    return next(t for t in model.graph.initializer if t.name == name)


def last_conv(model: onnx.ModelProto) -> tuple[str, str | None]:
    """Names of the weight and bias (None if it has none) of the last ``Conv`` node."""
    node = [n for n in model.graph.node if n.op_type == "Conv"][-1]
    return node.input[1], node.input[2] if len(node.input) > 2 else None


def set_values(model: onnx.ModelProto, name: str, change: Callable[[np.ndarray], np.ndarray]) -> None:
    """Replace initializer ``name`` by ``change(values)`` (same shape and dtype)."""
    tensor = initializer(model, name)
    values = numpy_helper.to_array(tensor).copy()
    tensor.CopyFrom(numpy_helper.from_array(np.asarray(change(values), values.dtype), name))


def flip_bit(values: np.ndarray, index: int, bit: int) -> np.ndarray:
    """``values`` (float16 or float32) with bit ``bit`` (modulo the width) of the value at flat ``index``
    flipped."""
    unsigned = np.dtype(f"uint{8 * values.itemsize}")
    raw = values.copy().reshape(-1).view(unsigned)
    raw[index % raw.size] ^= unsigned.type(1 << (bit % (8 * values.itemsize)))
    return raw.view(values.dtype).reshape(values.shape)


def scale_resize(model: onnx.ModelProto, factor: float = 1000.0) -> bool:
    """Multiply the upscaling factors of the first ``Resize`` with constant scales; False if there is none."""
    constants = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    scales = [n.input[2] for n in model.graph.node
              if n.op_type == "Resize" and len(n.input) > 2 and n.input[2] in constants]
    if not scales:
        return False
    tensor = constants[scales[0]].attribute[0].t
    values = numpy_helper.to_array(tensor)
    tensor.CopyFrom(numpy_helper.from_array(np.where(values > 1, values * factor, values), tensor.name))
    return True


def gather_out_of_range(model: onnx.ModelProto) -> None:
    """The first ``Gather`` with a constant index reads index 10 (of a 4-long shape): fails when it runs."""
    constants = {n.output[0]: n for n in model.graph.node if n.op_type == "Constant"}
    node = next(n for n in model.graph.node if n.op_type == "Gather" and n.input[1] in constants)
    tensor = constants[node.input[1]].attribute[0].t
    values = numpy_helper.to_array(tensor)
    tensor.CopyFrom(numpy_helper.from_array(np.full_like(values, 10), tensor.name))


def black_decoder(model: onnx.ModelProto) -> None:
    """The last convolution outputs -100 everywhere: a finite, all-black image after tanh."""
    weight, bias = last_conv(model)
    set_values(model, weight, np.zeros_like)
    set_values(model, bias, lambda b: np.full_like(b, -100.0))


def nan_decoder(model: onnx.ModelProto) -> None:
    """The last convolution's bias is NaN: every output pixel is NaN."""
    _, bias = last_conv(model)
    set_values(model, bias, lambda b: np.full_like(b, np.nan))

"""Opening a bundle's graphs with onnxruntime and comparing their inputs and outputs with the manifest."""
from __future__ import annotations

from typing import Any

import onnxruntime as ort

from ..providers import first_line
from . import cache
from .graph_policy import check_graph_files
from .model import Bundle, BundleError, GraphSpec

_ORT_DTYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(int64)": "int64", "tensor(int32)": "int32", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
    "tensor(bool)": "bool",
}


def check_session_io(bundle: Bundle, spec: GraphSpec, session: Any) -> None:
    """Compare an onnxruntime session's inputs/outputs with the manifest (names, dtypes, rank, fixed dims).
    A mismatch refuses the bundle: its extraction, if it came from an archive, is deleted."""
    try:
        _compare_io(bundle, spec, session)
    except BundleError:
        cache.discard(bundle.path)
        raise


def _compare_io(bundle: Bundle, spec: GraphSpec, session: Any) -> None:
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
    check_graph_files(bundle)  # operators, subgraphs, weight sizes, finite arrays, work bounds
    for spec in bundle.graphs:
        try:
            session = ort.InferenceSession(str(bundle.graph_path(spec)), providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types for unloadable graphs
            raise BundleError(f"{bundle.source}: graph {spec.file} cannot be loaded ({first_line(exc)})") from None
        check_session_io(bundle, spec, session)

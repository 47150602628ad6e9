"""Run graphs two ways behind one signature: the torch module, or an onnxruntime session of its file."""
from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from .family_exporter import ExportGraph, ExportKey, Feeds, Runner


def torch_runner() -> Runner:
    """Run each graph's torch module (no grad) on numpy feeds, in input order."""

    def run(graph: ExportGraph, feeds: Feeds) -> list[np.ndarray]:
        args = [torch.from_numpy(np.ascontiguousarray(feeds[s.name])) for s in graph.inputs]
        with torch.no_grad():
            out = graph.module(*args)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [o.detach().cpu().numpy() for o in outs]

    return run


def open_session(path: Path) -> ort.InferenceSession:
    """A CPU onnxruntime session with full graph optimisation."""
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


class OnnxRunner:
    """Runs each graph with an onnxruntime session on its file in ``folder`` at one precision.

    Sessions open lazily and are kept; ``seconds`` adds up the time spent inside ``session.run``.
    """

    def __init__(self, folder: Path, precision: str):
        self.folder, self.precision = folder, precision
        self.sessions: dict[str, ort.InferenceSession] = {}
        self.seconds = 0.0

    def __call__(self, graph: ExportGraph, feeds: Feeds) -> list[np.ndarray]:
        name = graph.file_name(self.precision)
        if name not in self.sessions:
            self.sessions[name] = open_session(self.folder / name)
        session = self.sessions[name]
        start = time.perf_counter()
        outs = session.run([s.name for s in graph.outputs], {k: v for k, v in feeds.items()
                                                            if k in {s.name for s in graph.inputs}})
        self.seconds += time.perf_counter() - start
        return outs


def graphs_by_key(graphs: list[ExportGraph]) -> Mapping[ExportKey, ExportGraph]:
    """Index graphs by ``(role, scope id)``."""
    return {g.key: g for g in graphs}

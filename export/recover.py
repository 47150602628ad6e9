"""Recover a slim training checkpoint from a model bundle, for when the run behind a shipped model is gone:
a student can then be distilled from it (``distill.teacher=``) or it can be exported again.

The family's generators are rebuilt from the manifest's provenance config and their weights are read from the
bundle's fp32 ONNX graphs (initializers only: nothing in the bundle runs as code). Which initializer holds which
parameter is learnt by exporting each freshly built module once with distinct values in every parameter (the
exporter names and folds the same way for the same module); a parameter the exporter fused into another cannot
be recovered and is refused. Every graph is then checked against its torch module at the training size, within
the export's parity tolerance.

    python -m export.recover resources/models/cat2dog-munit.i2i teacher_cat2dog.pt
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from onnx import numpy_helper

from desktop.runtime.bundle import Bundle, BundleError, load_bundle
from trainer.checkpoint import CHECKPOINT_FORMAT, write_checkpoint_file
from trainer.config import ConfigError, resolve_config

from .family_exporter import ExportGraph, FamilyExporter
from .onnx_export import ExportError, export_module
from .parity import FP32_TOLERANCE, ParityError
from .registry import exporter_for
from .runners import OnnxRunner, torch_runner

PROBE_SEED = 20261203


def _fingerprint(values: np.ndarray) -> bytes:
    """A key that finds a tensor again after the exporter reshaped it (same values, same order)."""
    return np.ascontiguousarray(values, dtype=np.float32).reshape(-1).tobytes()


def _float_state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The floating-point entries of ``module``'s state dict (integer counters are not weights)."""
    return {k: v for k, v in module.state_dict().items() if v.is_floating_point()}


def _initializer_names(module: torch.nn.Module, graph: ExportGraph, example: tuple[torch.Tensor, ...],
                       work: Path) -> dict[str, str]:
    """State-dict key -> the name of the initializer that holds it in an export of ``module``: learnt by filling
    every parameter with distinct values, exporting, and finding each among the initializers."""
    generator = torch.Generator().manual_seed(PROBE_SEED)
    state = _float_state(module)
    saved = {k: v.clone() for k, v in state.items()}
    with torch.no_grad():
        for tensor in state.values():
            tensor.copy_(torch.randn(tensor.shape, generator=generator) + 3.0)  # +3: never a shape constant
        key_of = {_fingerprint(t.numpy()): k for k, t in state.items()}
        probe = work / f"probe_{graph.file_name('fp32')}"
        try:
            export_module(module, example, graph.inputs, graph.outputs, probe)
        finally:
            for key, tensor in state.items():
                tensor.copy_(saved[key])
    found: dict[str, str] = {}
    for init in onnx.load(str(probe)).graph.initializer:
        held_key = key_of.get(_fingerprint(numpy_helper.to_array(init)))
        if held_key is not None:
            found[held_key] = init.name
    return found


def _example_inputs(exporter: FamilyExporter, model: Any, graph: ExportGraph, size: int) -> tuple[torch.Tensor, ...]:
    """Inputs for one export or parity run of ``graph``: random images at ``size`` and what the family feeds."""
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (2, 3, size, size)).astype(np.float32)
    feeds = exporter.feeds(model, graph, images, rng)
    return tuple(torch.from_numpy(np.ascontiguousarray(feeds[s.name])) for s in graph.inputs)


def _load_graph(exporter: FamilyExporter, model: Any, graph: ExportGraph, bundle: Bundle, size: int,
                work: Path) -> None:
    """Fill ``graph.module`` with the weights of its fp32 file in ``bundle``, then check parity."""
    name = graph.file_name("fp32")
    path = bundle.path / name
    if not path.is_file():
        raise ExportError(f"{bundle.source}: has no {name}, which a {bundle.family} bundle of this config exports")
    names = _initializer_names(graph.module, graph, _example_inputs(exporter, model, graph, size), work)
    stored = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    with torch.no_grad():
        for key, tensor in _float_state(graph.module).items():
            held = stored.get(names.get(key, ""))
            if held is None or held.size != tensor.numel():
                raise ExportError(f"{bundle.source}: {name} does not hold {key} as a plain initializer (fused by "
                                  "the exporter, or exported by another version): it cannot be recovered")
            tensor.copy_(torch.from_numpy(np.array(held, dtype=np.float32)).reshape(tensor.shape))
    feeds = {s.name: t.numpy() for s, t in zip(graph.inputs, _example_inputs(exporter, model, graph, size),
                                               strict=True)}
    expected, got = torch_runner()(graph, feeds), OnnxRunner(bundle.path, "fp32")(graph, feeds)
    diff = max(float(np.abs(e.astype(np.float64) - g).max()) for e, g in zip(expected, got, strict=True))
    if not diff <= FP32_TOLERANCE:
        raise ParityError(f"{bundle.source}: the weights recovered from {name} do not reproduce it "
                          f"(max|diff| {diff:.2e} > {FP32_TOLERANCE:.0e})")


def recover_checkpoint(bundle_path: Path) -> dict[str, Any]:
    """A slim checkpoint (the trainer's format: ``ema`` generators, config, iteration) rebuilt from a bundle;
    :class:`ExportError` when the bundle cannot be read, lacks its config, or its weights cannot be recovered."""
    try:
        bundle = load_bundle(bundle_path)
    except BundleError as exc:
        raise ExportError(str(exc)) from None
    provenance = bundle.provenance
    if not isinstance(provenance.get("config"), dict):
        raise ExportError(f"{bundle_path}: the manifest's provenance has no training config to rebuild the model from")
    try:
        config = resolve_config(provenance["config"])
    except (ConfigError, KeyError, TypeError, ValueError) as exc:
        raise ExportError(f"{bundle_path}: its training config cannot be used: {exc}") from None
    exporter = exporter_for(str(config["model"]["family"]))
    model = exporter.build(config, None)
    size = int(config["data"]["size"])
    with tempfile.TemporaryDirectory(prefix="i2i-recover-") as work:
        for graph in exporter.graphs(model):
            _load_graph(exporter, model, graph, bundle, size, Path(work))
    weights = {name: module.state_dict() for name, module in exporter.checkpoint_modules(model).items()}
    return {"format": CHECKPOINT_FORMAT, "family": config["model"]["family"], "config": config,
            "iteration": int(provenance.get("iterations") or 0), "ema": weights, "slim": True,
            "recovered_from": bundle.name, "training": dict(provenance.get("training") or {})}


def main(argv: list[str] | None = None) -> int:
    """Command line: write the recovered checkpoint atomically; exit status 2 with one line on failure."""
    parser = argparse.ArgumentParser(prog="python -m export.recover", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("bundle", type=Path, help="a model bundle (.i2i archive or folder)")
    parser.add_argument("out", type=Path, help="where to write the checkpoint (.pt)")
    args = parser.parse_args(argv)
    try:
        ckpt = recover_checkpoint(args.bundle)
        write_checkpoint_file(ckpt, args.out)
    except ExportError as exc:
        print(f"export.recover: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"export.recover: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{args.bundle} -> {args.out} ({ckpt['family']}, iteration {ckpt['iteration']}, "
          f"{', '.join(ckpt['ema'])}; every graph reproduced within {FP32_TOLERANCE:.0e})")
    return 0


if __name__ == "__main__":
    sys.exit(main())

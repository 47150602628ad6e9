"""Inference speed of a MUNIT bundle: torch eager vs onnxruntime fp32 vs int8 (and fp16 on a GPU).

One translation = content encoder (source domain) + decoder (target domain) with a prior style code,
the app's "random style" path. Measured at 128 and 256 px, batch 1 and 8, all in one run; printed as
a table of ms per image with the speed-up over torch eager, plus the achieved GFLOP/s against this
machine's measured float32 matmul peak. JSON goes to benchmarks/results/.

    python benchmarks/inference.py --bundle resources/models/cat2dog-munit.i2i \
        [--checkpoint runs/X/checkpoints/ckpt_N.pt]

Without --checkpoint, torch eager runs the bundle's architecture (from its provenance config) with
random weights: the speed of a network does not depend on its weight values.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import torch
from torch.utils.flop_counter import FlopCounterMode

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from desktop.runtime.bundle import Bundle, load_bundle  # noqa: E402
from desktop.runtime.providers import available_providers, create_session  # noqa: E402
from export.registry import exporter_for  # noqa: E402
from export.source import load_checkpoint  # noqa: E402
from i2i_common.atomic import write_bytes  # noqa: E402
from trainer.provenance import hardware  # noqa: E402

SIZES = (128, 256)
BATCHES = (1, 8)


def measure(fn: Callable[[], object], min_runs: int = 3, min_seconds: float = 2.0) -> float:
    """Median seconds of ``fn`` after one warm-up call (at least ``min_runs`` runs, ~``min_seconds``)."""
    fn()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < min_runs or time.perf_counter() - start < min_seconds:
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
        if len(times) >= 50:
            break
    return float(np.median(times))


def matmul_peak_gflops(n: int = 2048) -> float:
    """Measured float32 matmul throughput of this machine with torch (all threads)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    return 2 * n**3 / measure(lambda: torch.mm(a, b), min_runs=5, min_seconds=1.0) / 1e9


def torch_generators(bundle: Bundle, checkpoint: Path | None) -> dict[str, torch.nn.Module]:
    """The bundle's generators in torch: the checkpoint's weights, or random ones of the same shape."""
    if checkpoint:
        source = load_checkpoint(checkpoint)
        config, weights = source.config, source.weights
    else:
        config, weights = bundle.provenance["config"], None
    return exporter_for(bundle.family).build(config, weights)


def translation_flops(gens: dict[str, torch.nn.Module], size: int, style_dim: int) -> float:
    """FLOPs (2 per multiply-add) of one translation of a ``size`` x ``size`` image."""
    x, s = torch.zeros(1, 3, size, size), torch.zeros(1, style_dim)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        gens["b"].decoder(gens["a"].content_encoder(x), s)
    return float(counter.get_total_flops())


def onnx_translator(bundle: Bundle, precision: str, provider: str):
    """A function running content_encoder(a) + decoder(b) with onnxruntime, and the provider really used."""
    enc, enc_info = create_session(bundle.graph_path(bundle.graph("content_encoder", domain="a",
                                                                   precision=precision)), provider)
    dec, _ = create_session(bundle.graph_path(bundle.graph("decoder", domain="b", precision=precision)), provider)

    def run(images: np.ndarray, styles: np.ndarray) -> np.ndarray:
        content = enc.run(None, {"image": images})[0]
        return dec.run(None, {"content": content, "style": styles})[0]

    return run, enc_info.active


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", type=Path, default=REPO / "resources" / "models" / "cat2dog-munit.i2i")
    parser.add_argument("--checkpoint", type=Path, help="the run's checkpoint, for torch eager")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "inference.json")
    args = parser.parse_args(argv)

    bundle = load_bundle(args.bundle)
    if bundle.family != "munit":
        parser.error(f"{args.bundle}: this benchmark times MUNIT bundles, not {bundle.family}")
    torch.set_num_threads(os.cpu_count() or 1)
    gens = torch_generators(bundle, args.checkpoint)
    dim = bundle.style.dim
    peak = matmul_peak_gflops()

    engines: dict[str, Callable[[np.ndarray, np.ndarray], object]] = {}

    def torch_eager(images: np.ndarray, styles: np.ndarray):
        with torch.no_grad():
            return gens["b"].decoder(gens["a"].content_encoder(torch.from_numpy(images)), torch.from_numpy(styles))

    engines["torch eager"] = torch_eager
    for precision in ("fp32", "int8"):
        if precision in bundle.precisions():
            engines[f"onnxruntime {precision}"], _ = onnx_translator(bundle, precision, "cpu")
    gpu = next((p for p in ("cuda", "directml") if p in available_providers()), None)
    if gpu and "fp16" in bundle.precisions():
        for precision in ("fp32", "fp16"):
            run, active = onnx_translator(bundle, precision, gpu)
            if active == gpu:
                engines[f"onnxruntime {precision} {gpu}"] = run

    rng = np.random.default_rng(0)
    rows = []
    for size in SIZES:
        flops = translation_flops(gens, size, dim)
        for batch in BATCHES:
            images = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)
            styles = rng.standard_normal((batch, dim)).astype(np.float32)
            for name, engine in engines.items():
                ms = 1000 * measure(partial(engine, images, styles)) / batch
                rows.append({"engine": name, "size": size, "batch": batch, "ms_per_image": ms,
                             "gflops": flops / (ms / 1000) / 1e9, "flops_per_image": flops})
    for row in rows:
        base = next(r for r in rows if r["engine"] == "torch eager" and r["size"] == row["size"]
                    and r["batch"] == row["batch"])
        row["speedup_vs_torch"] = base["ms_per_image"] / row["ms_per_image"]
        row["fraction_of_peak"] = row["gflops"] / peak

    print(f"bundle {args.bundle} ({'untrained' if bundle.untrained else 'trained'}), "
          f"{hardware()}; "
          f"float32 matmul peak {peak:.1f} GFLOP/s")
    print(f"{'engine':<26} {'size':>5} {'batch':>5} {'ms/img':>9} {'x torch':>8} {'GFLOP/s':>8} {'% peak':>7}")
    for r in rows:
        print(f"{r['engine']:<26} {r['size']:>5} {r['batch']:>5} {r['ms_per_image']:>9.1f} "
              f"{r['speedup_vs_torch']:>8.2f} {r['gflops']:>8.1f} {100 * r['fraction_of_peak']:>6.1f}%")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"bundle": str(args.bundle), "untrained": bundle.untrained, "checkpoint": str(args.checkpoint or ""),
              "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
              "machine": {"hardware": hardware(),
                          "matmul_peak_gflops": peak, "gpu_provider": gpu},
              "translation": "content_encoder(a) + decoder(b), prior style", "rows": rows}
    write_bytes(args.out, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

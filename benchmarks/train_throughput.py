"""Training throughput of the MUNIT configs: images/s per resolution and the share of the machine's peak.

The peak is a large fp32 matmul measured in the same run (same threads, same device); a training step's
FLOPs (discriminator + generator update, forward and backward) are counted with
``torch.utils.flop_counter.FlopCounterMode``. Images/s counts the training images a step consumes
(batch size x 2 domains). Random tensors stand in for data, so this measures the model, not decoding.

    PYTHONPATH=. python benchmarks/train_throughput.py                 # CPU: short
    PYTHONPATH=. python benchmarks/train_throughput.py --device cuda --amp bf16
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from trainer.config import family_class, load_config, resolve_config
from trainer.distributed import pick_device
from trainer.families import Placement
from trainer.precision import Precision

RESULTS = Path(__file__).resolve().parent / "results"
# the paper config at 256 px is left out on a CPU: about 10 s per step on 2 cores
DEFAULT_SIZES = {"cpu": {"munit_cpu": [64, 128], "munit_128": [128], "munit_paper": [128]},
                 "cuda": {"munit_cpu": [64, 128, 256], "munit_128": [128, 256], "munit_paper": [128, 256, 512]}}


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_peak(device: torch.device, seconds: float) -> float:
    """Best FLOP/s of repeated n x n fp32 matmuls (TF32 off) over about ``seconds``."""
    n = 4096 if device.type == "cuda" else 1024
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    torch.matmul(a, b)
    best = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sync(device)
        start = time.perf_counter()
        for _ in range(10):
            torch.matmul(a, b)
        sync(device)
        best = max(best, 10 * 2 * n**3 / (time.perf_counter() - start))
    return best


def measure(config_name: str, size: int, device: torch.device, amp: str, seconds: float,
            batch: int | None) -> dict:
    """Warm up one step, count one step's FLOPs, then time steps for about ``seconds`` (at least one)."""
    overrides = [f"data.size={size}", f"data.load_size={size}", f"train.amp=\"{amp}\""]
    if batch:
        overrides.append(f"train.batch_size={batch}")
    config = resolve_config(load_config(config_name, overrides))
    torch.manual_seed(0)
    family = family_class(config["model"]["family"])(config, Placement(device, Precision(amp, device)))
    batch_size = config["train"]["batch_size"]
    images = [torch.rand(batch_size, 3, size, size, device=device) * 2 - 1 for _ in range(family.num_domains)]
    family.train_step(images)
    with FlopCounterMode(display=False) as counter:
        family.train_step(images)
    flops = counter.get_total_flops()
    sync(device)
    start = time.perf_counter()
    steps = 0
    while steps == 0 or time.perf_counter() - start < seconds:
        family.train_step(images)  # returns python floats: the step has finished
        steps += 1
    seconds = (time.perf_counter() - start) / steps
    return {"config": config_name, "size": size, "batch_size": batch_size, "step_s": seconds,
            "it_per_s": 1 / seconds, "images_per_s": batch_size * family.num_domains / seconds,
            "timed_steps": steps, "gflop_per_step": flops / 1e9, "achieved_gflop_s": flops / seconds / 1e9}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    parser.add_argument("--amp", default="none", choices=["none", "bf16", "fp16"])
    parser.add_argument("--seconds", type=float, default=8.0, help="timing budget per row (at least one step)")
    parser.add_argument("--batch", type=int, default=0, help="batch size override (default: the config's)")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    peak = matmul_peak(device, 2.0)
    rows = [measure(name, size, device, args.amp, args.seconds, args.batch or None)
            for name, sizes in DEFAULT_SIZES["cuda" if device.type == "cuda" else "cpu"].items() for size in sizes]
    for row in rows:
        row["share_of_peak"] = row["achieved_gflop_s"] * 1e9 / peak
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {device.type} ({name}), threads {torch.get_num_threads()}, amp {args.amp}, "
          f"measured fp32 matmul peak {peak / 1e9:.1f} GFLOP/s")
    print("| config | size | batch | it/s | images/s | GFLOP/step | GFLOP/s | share of peak |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['config']} | {r['size']} | {r['batch_size']} | {r['it_per_s']:.2f} | {r['images_per_s']:.2f} | "
              f"{r['gflop_per_step']:.1f} | {r['achieved_gflop_s']:.1f} | {100 * r['share_of_peak']:.1f}% |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"train_throughput_{device.type}_{args.amp}.json"
    out.write_text(json.dumps({"created": datetime.now(UTC).isoformat(timespec="seconds"),
                               "device": device.type, "device_name": name, "threads": torch.get_num_threads(),
                               "amp": args.amp, "peak_gflop_s": peak / 1e9, "torch": torch.__version__,
                               "rows": rows}, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

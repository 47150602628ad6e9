"""The share of a training step spent waiting on data: the JPEG loader (DataLoader workers decoding and
resizing) against the uint8 cache (memory-mapped, crop and flip as tensor ops), whole steps of real training.

Each row trains the config on the real dataset for about ``seconds`` per loader after a short warm-up and
splits every iteration into the wait for the next batch and the rest (moving the batch, the training step,
which ends in python floats, so it has finished). The cache is built in a temporary folder first; its
build time is reported apart and is not part of any step.

    PYTHONPATH=. python benchmarks/train_data_share.py                 # CPU: munit_cpu and munit_128
    PYTHONPATH=. python benchmarks/train_data_share.py --device cuda --amp bf16 --on-device
"""
from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import torch

from trainer.config import family_class, load_config, resolve_config
from trainer.data import StreamPosition, find_layout
from trainer.distributed import pick_device
from trainer.families import Placement
from trainer.precision import Precision

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data" / "cat2dog"
RESULTS = REPO / "benchmarks" / "results"
CPU_ROWS = (("munit_cpu", 8), ("munit_128", 8))  # (config, batch size): the batch the issue measured


def _loader_row(config: dict, device: torch.device, data: Path, seconds: float, warmup: int) -> dict:
    family_cls = family_class(config["model"]["family"])
    batch = int(config["train"]["batch_size"])
    started = time.perf_counter()
    stream = family_cls.make_data(find_layout(data), config,
                                  StreamPosition(batch, 1, pin_memory=device.type == "cuda", device=device))
    setup_s = time.perf_counter() - started
    torch.manual_seed(0)
    placement = Placement(device, Precision(config["train"]["amp"], device), bool(config["train"]["channels_last"]))
    family = family_cls(config, placement)
    batches = iter(stream.batches)
    wait = total = 0.0
    steps = 0
    while steps <= warmup or total < seconds:  # at least one timed step
        start = time.perf_counter()
        item = next(batches)
        got = time.perf_counter()
        family.train_step([placement.place_batch(x) for x in item["images"]])  # python floats: finished
        if steps >= warmup:
            wait, total = wait + got - start, total + time.perf_counter() - start
        steps += 1
    timed = steps - warmup
    return {"data_share": wait / total, "wait_s_per_step": wait / timed, "step_s": total / timed,
            "images_per_s": timed * batch * family_cls.num_domains / total, "timed_steps": timed,
            "setup_s": setup_s}


def _batch_cost(config: dict, device: torch.device, data: Path, batches: int) -> float:
    """Seconds per batch that producing batches costs the process itself: the JPEG loader without workers
    (decoding on the training process), the cache as it runs; no training."""
    family_cls = family_class(config["model"]["family"])
    config = {**config, "data": {**config["data"], "workers": 0}}
    stream = family_cls.make_data(find_layout(data), config,
                                  StreamPosition(int(config["train"]["batch_size"]), 1, device=device))
    items = iter(stream.batches)
    next(items)
    start = time.perf_counter()
    for _ in range(batches):
        next(items)
    return (time.perf_counter() - start) / batches


def measure(config_name: str, device: str | torch.device, batch: int, amp: str, *, data: Path = DATA,
            seconds: float = 15.0, warmup: int = 2, on_device: bool = False, cache_dir: Path | None = None) -> dict:
    """``config_name`` at ``batch`` with ``amp`` on ``device``: the data-wait share of step time with the JPEG
    loader (``"jpeg"``) and with the uint8 cache (``"cache"``, on the device with ``on_device``), each over about
    ``seconds`` of training after ``warmup`` steps, and ``batch_cost_s``, what producing one batch costs the
    process without workers. ``setup_s`` of the cache row includes building the cache unless ``cache_dir``
    already holds it."""
    dev = pick_device(device) if isinstance(device, str) else device
    overrides = [f"train.batch_size={batch}", f'train.amp="{amp}"']
    with tempfile.TemporaryDirectory(prefix="i2i-data-cache-") as tmp:
        folder = cache_dir or Path(tmp)
        rows = {}
        for loader, extra in (("jpeg", ["data.cache=false"]),
                              ("cache", ["data.cache=true", f'data.cache_dir="{folder}"',
                                         f"data.on_device={str(on_device).lower()}"])):
            config = resolve_config(load_config(config_name, [*overrides, *extra]))
            rows[loader] = {**_loader_row(config, dev, data, seconds, warmup),
                            "batch_cost_s": _batch_cost(config, dev, data, 20)}
    return {"config": config_name, "device": dev.type, "batch_size": batch, "amp": amp, "on_device": on_device,
            "workers": config["data"]["workers"], "size": config["data"]["size"], **rows}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda", "mps"])
    parser.add_argument("--amp", default="none", choices=["none", "bf16", "fp16"])
    parser.add_argument("--seconds", type=float, default=15.0, help="timed training per loader and config")
    parser.add_argument("--data", type=Path, default=DATA, help="dataset folder (trainA/trainB/...)")
    parser.add_argument("--on-device", action="store_true", help="keep the cache on the training device")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1: a shared 2-core machine)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    device = pick_device(args.device)
    rows = [measure(name, device, batch, args.amp, data=args.data, seconds=args.seconds, on_device=args.on_device)
            for name, batch in CPU_ROWS]
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    print(f"device: {device.type} ({name}), threads {torch.get_num_threads()}, amp {args.amp}, data {args.data.name}")
    print("| config | size | batch | workers | loader | data wait / step | step | data share | images/s | "
          "batch cost, no workers | setup | timed steps |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        for loader in ("jpeg", "cache"):
            m = r[loader]
            print(f"| {r['config']} | {r['size']} | {r['batch_size']} | {r['workers']} | {loader} | "
                  f"{1000 * m['wait_s_per_step']:.1f} ms | {1000 * m['step_s']:.0f} ms | "
                  f"{100 * m['data_share']:.1f}% | {m['images_per_s']:.1f} | {1000 * m['batch_cost_s']:.1f} ms | "
                  f"{m['setup_s']:.1f} s | {m['timed_steps']} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"train_data_share_{device.type}_{args.amp}.json"
    out.write_text(json.dumps({"created": datetime.now(UTC).isoformat(timespec="seconds"), "device": device.type,
                               "device_name": name, "threads": torch.get_num_threads(), "torch": torch.__version__,
                               "data": args.data.name, "rows": rows}, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

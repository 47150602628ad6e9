"""Training throughput of the shipped configs: fp32 vs bf16, batch sizes, channels_last, threads, torch.compile.

Each group (config, size, batch) builds one model per setting and times them in alternating slices, so the
ratios inside a group are measured in the same run under the same load. Images/s counts the training images a
step consumes (batch size x domains); random tensors stand in for data, so this measures the training step, not
decoding (the data-pipeline share is the marked hook below). A step's FLOPs (both updates, forward and
backward) are counted once per group with ``torch.utils.flop_counter.FlopCounterMode``. On a machine with CUDA
the same groups are measured there as well; otherwise the report says that no GPU was available.

    PYTHONPATH=. python benchmarks/train_throughput.py --seconds 4            # CPU, a few minutes
    PYTHONPATH=. python benchmarks/train_throughput.py --seconds 4 --compile  # adds torch.compile rows (slow)
"""
from __future__ import annotations

import argparse
import json
import platform
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch
from torch.utils.flop_counter import FlopCounterMode

from trainer.config import family_class, load_config, resolve_config
from trainer.families import Placement, TrainingFamily
from trainer.precision import Precision, cpu_bf16_native

RESULTS = Path(__file__).resolve().parent / "results"
# (config, size, batches) per device; munit_paper at 256 px is left out on a CPU (about 10 s per step on 2 cores)
GROUPS: dict[str, list[tuple[str, int, tuple[int, ...]]]] = {
    "cpu": [("munit_cpu", 64, (1, 8, 16)), ("munit_128", 128, (1, 8)), ("munit_paper", 128, (1,)),
            ("ugatit_cpu", 64, (4, 8))],
    "cuda": [("munit_cpu", 64, (8, 32)), ("munit_128", 128, (8, 32)), ("munit_paper", 128, (1, 8))]}


@dataclass(frozen=True)
class Setting:
    """One way of running a training step."""

    amp: str = "none"
    channels_last: bool = False
    threads: int = 0  # 0: leave torch's thread count alone
    compile: bool = False

    def label(self) -> str:
        parts = ["bf16" if self.amp == "bf16" else "fp32"] + ["channels_last"] * self.channels_last
        return " ".join(parts + ["compiled"] * self.compile)


class Trial:
    """A family built for one setting, its random batch, and the steps timed so far."""

    def __init__(self, config_name: str, size: int, batch: int, setting: Setting, device: torch.device):
        overrides = [f"data.size={size}", f"data.load_size={size}", f"train.batch_size={batch}",
                     f'train.amp="{setting.amp}"', f"train.channels_last={str(setting.channels_last).lower()}"]
        config = resolve_config(load_config(config_name, overrides))
        torch.manual_seed(0)
        placement = Placement(device, Precision(setting.amp, device), setting.channels_last)
        self.family: TrainingFamily = family_class(config["model"]["family"])(config, placement)
        self.images = [placement.place_batch(torch.rand(batch, 3, size, size) * 2 - 1)
                       for _ in range(self.family.num_domains)]
        self.setting, self.steps, self.seconds = setting, 0, 0.0
        self.first_step_s = 0.0
        self.error = ""
        if setting.compile:
            for model in self.family.models().values():
                for child in model.children():  # the encoders, decoder, MLP and discriminator scales
                    child.compile()

    def step(self) -> float:
        """One training step (its losses come back as Python floats, so it has finished); its seconds."""
        if self.setting.threads:
            torch.set_num_threads(self.setting.threads)
        start = time.perf_counter()
        self.family.train_step(self.images)
        return time.perf_counter() - start

    def warm_up(self, count_flops: bool) -> float:
        """The first step (for a compiled model: compile time plus one step); its FLOPs when asked."""
        try:
            if count_flops:
                with FlopCounterMode(display=False) as counter:
                    self.first_step_s = self.step()
                return float(counter.get_total_flops())
            self.first_step_s = self.step()
        except Exception as exc:  # a compile failure is a result, reported in the table
            self.error = f"{type(exc).__name__}: {str(exc).splitlines()[0][:120] if str(exc) else ''}"
        return 0.0

    def timed_slice(self, seconds: float) -> None:
        """Time steps for about ``seconds`` (at least one)."""
        start, done = time.perf_counter(), 0
        while done == 0 or time.perf_counter() - start < seconds:
            self.seconds += self.step()
            done += 1
        self.steps += done


def settings_for(config_name: str, batch: int, device: torch.device, args: argparse.Namespace) -> list[Setting]:
    """The settings compared in one group: fp32/bf16 x channels_last; on the CPU, for munit_cpu at batch 8,
    also thread counts and (with ``--compile``) torch.compile."""
    amps = ("none", "bf16")
    if config_name == "munit_paper":
        return [Setting(amp) for amp in amps]
    settings = [Setting(amp, cl) for amp in amps for cl in (False, True)]
    if device.type == "cpu" and config_name == "munit_cpu" and batch == 8:
        settings += [Setting(amp, False, threads) for amp in amps for threads in args.thread_counts]
        if args.compile:
            settings += [Setting(amp, False, 0, True) for amp in amps]
    return settings


def measure_group(config_name: str, size: int, batch: int, device: torch.device,
                  args: argparse.Namespace) -> list[dict[str, Any]]:
    """Build every setting of the group, warm each up, then time them in ``args.rounds`` alternating slices."""
    default_threads = torch.get_num_threads()
    trials = [Trial(config_name, size, batch, s, device) for s in settings_for(config_name, batch, device, args)]
    flops = trials[0].warm_up(count_flops=True)
    for trial in trials[1:]:
        trial.warm_up(count_flops=False)
        torch.set_num_threads(default_threads)
    working = [t for t in trials if not t.error]
    for _ in range(args.rounds):
        for trial in working:
            trial.timed_slice(args.seconds / args.rounds)
            torch.set_num_threads(default_threads)
    baseline = trials[0].seconds / max(trials[0].steps, 1)
    rows = []
    for trial in trials:
        step_s = trial.seconds / trial.steps if trial.steps else float("nan")
        rows.append({"device": device.type, "config": config_name, "size": size, "batch_size": batch,
                     "setting": trial.setting.label(), **asdict(trial.setting),
                     "threads_used": trial.setting.threads or default_threads, "timed_steps": trial.steps,
                     "step_s": step_s, "images_per_s": batch * trial.family.num_domains / step_s,
                     "vs_fp32": baseline / step_s, "first_step_s": trial.first_step_s,
                     "gflop_per_step": flops / 1e9, "achieved_gflop_s": flops / step_s / 1e9, "error": trial.error})
        print(f"  {config_name} {size}px batch {batch} {trial.setting.label()}: "
              f"{rows[-1]['images_per_s']:.2f} img/s {trial.error}", flush=True)
    return rows


def data_share_rows(device: torch.device, seconds: float, configs: list[str] | None) -> list[dict[str, Any]]:
    """The data pipeline's share of step time (JPEG loader vs the uint8 cache), per config of GROUPS at its
    largest batch, from benchmarks/train_data_share.py."""
    from train_data_share import measure  # the sibling benchmark script (this file runs as a script)

    return [measure(config_name, device, max(batches), "none", seconds=seconds)
            for config_name, _size, batches in GROUPS[device.type] if configs is None or config_name in configs]


def format_data_share(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of the data pipeline's share of step time, JPEG loader vs uint8 cache."""
    lines = ["| device | config | batch | loader | data share of step | img/s |", "|---|---|---|---|---|---|"]
    for r in rows:
        for loader in ("jpeg", "cache"):
            m = r[loader]
            lines.append(f"| {r['device']} | {r['config']} | {r['batch_size']} | {loader} | "
                         f"{100 * m['data_share']:.1f}% | {m['images_per_s']:.2f} |")
    return "\n".join(lines)


def format_table(rows: list[dict[str, Any]]) -> str:
    """The Markdown table of ``rows``."""
    lines = ["| device | config | size | batch | setting | threads | img/s | vs fp32 | first step s | GFLOP/s |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        head = (f"| {r['device']} | {r['config']} | {r['size']} | {r['batch_size']} | {r['setting']} | "
                f"{r['threads_used']} | ")
        if r["error"]:
            lines.append(head + f"failed: {r['error']} | | | |")
            continue
        lines.append(head + f"{r['images_per_s']:.2f} | {r['vs_fp32']:.2f}x | {r['first_step_s']:.1f} | "
                            f"{r['achieved_gflop_s']:.1f} |")
    return "\n".join(lines)


def measure_device(device: torch.device, args: argparse.Namespace) -> list[dict[str, Any]]:
    """Every group of GROUPS for ``device``."""
    return [row for name, size, batches in GROUPS[device.type] if args.configs is None or name in args.configs
            for batch in batches for row in measure_group(name, size, batch, device, args)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="timing budget per setting (at least 1 step)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating slices per setting")
    parser.add_argument("--threads", type=int, default=0, help="default torch CPU threads (0: torch's)")
    parser.add_argument("--thread-counts", type=lambda s: [int(x) for x in s.split(",")], default=[1],
                        help="thread counts compared for munit_cpu at batch 8 (comma-separated)")
    parser.add_argument("--data-seconds", type=float, default=5.0,
                        help="timed training per loader for the data-pipeline share (0: skip it)")
    parser.add_argument("--compile", action="store_true", help="add torch.compile rows (minutes of compiling)")
    parser.add_argument("--configs", type=lambda s: s.split(","), default=None,
                        help="only these configs (comma-separated; default: every config of GROUPS)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    print(f"CPU: {platform.processor() or platform.machine()}, capability "
          f"{torch.backends.cpu.get_cpu_capability()}, native bf16 {cpu_bf16_native()}, "
          f"threads {torch.get_num_threads()}, torch {torch.__version__}", flush=True)
    rows = measure_device(cpu, args)
    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "no GPU available"
    print(f"GPU: {gpu}", flush=True)
    if torch.cuda.is_available():
        rows += measure_device(torch.device("cuda"), args)
    data_share = data_share_rows(cpu, args.data_seconds, args.configs) if args.data_seconds > 0 else []
    print(format_table(rows))
    print(format_data_share(data_share) if data_share else "Data-pipeline share: not measured")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "train_throughput.json"
    out.write_text(json.dumps({"created": datetime.now(UTC).isoformat(timespec="seconds"), "torch": torch.__version__,
                               "cpu_capability": torch.backends.cpu.get_cpu_capability(),
                               "cpu_bf16_native": cpu_bf16_native(), "threads": torch.get_num_threads(),
                               "gpu": gpu, "seconds": args.seconds, "rounds": args.rounds, "rows": rows,
                               "data_share": data_share}, indent=2), encoding="utf-8")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

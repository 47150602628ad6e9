"""The training loop shared by every family: checkpoints, exact resume, samples, logs, signals, DDP.

What is trained, on which data, and what is logged come from the config's family
(:class:`trainer.families.TrainingFamily`); this module names none.
"""
from __future__ import annotations

import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from i2i_common.atomic import atomic_open
from i2i_common.images import write_image

from . import checkpoint as ckpt_io
from .config import ConfigError, dumps_config, resolve_config
from .data import SkipReport, StreamPosition, find_layout, to_uint8
from .distill.family import training_family
from .distributed import any_rank, init_distributed
from .families import Placement, TrainingFamily
from .init_weights import init_from_checkpoint
from .metrics import LOOP_LOGGED_VALUES, MetricsLog
from .precision import Precision
from .provenance import training_record
from .run_state import restore_training_state, training_state
from .slim import travel_subset
from .stop import StopRequest
from .travel.parts import load_travel, write_travel
from .travel.warmup import LrWarmup, default_warmup


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    iteration: int
    checkpoint: Path | None
    last_losses: dict[str, float]
    skipped_files: list[str]
    interrupted: bool


def _save_samples(family: TrainingFamily, fixed: list[torch.Tensor], folder: Path, iteration: int) -> Path:
    grid = family.sample_grid(fixed)
    return write_image(folder / f"sample_{iteration:08d}.png", to_uint8(grid), overwrite=True)


def _load_resume_state(ckpt_dir: Path) -> dict[str, Any]:
    path = ckpt_io.latest_checkpoint(ckpt_dir)
    if path is None:
        raise FileNotFoundError(f"--resume: no checkpoint in {ckpt_dir}")
    state = ckpt_io.load_checkpoint(path)
    if state.get("slim"):
        raise ConfigError(f"--resume: {path} is a slim (export-only) checkpoint; training needs a full one")
    return state


def train(config: Mapping[str, Any], data: str | Path, out: str | Path, device: str = "auto",
          resume: bool = False, progress: bool = True, resume_from: str | Path | None = None,
          warmup: int | None = None, travel_out: str | Path | None = None,
          init: str | Path | None = None) -> TrainResult:
    """Train ``config``'s family on the dataset folder ``data`` into the run folder ``out``.

    With ``resume``, continues exactly from the newest checkpoint in ``out/checkpoints``. With ``resume_from``
    (a travel checkpoint folder) continues at its iteration with fresh optimizer state and a learning-rate
    warm-up over ``warmup`` iterations (default :func:`trainer.travel.warmup.default_warmup`). With
    ``travel_out``, every checkpoint is also written there as a travel checkpoint. With ``init`` (a checkpoint
    or run folder) a new run starts from its weights (:mod:`trainer.init_weights`).
    Under torchrun each process calls this; rank 0 writes logs, samples and checkpoints.
    """
    config = resolve_config(config)
    train_cfg = config["train"]
    info, dev = init_distributed(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one crop size all run long: let cuDNN time its conv kernels
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    state = _load_resume_state(ckpt_dir) if resume else None
    if resume_from is not None:
        if resume or ckpt_io.latest_checkpoint(ckpt_dir) is not None:
            raise ConfigError(f"--resume-from starts a new run folder; {out} already has checkpoints (--resume)")
        state = load_travel(Path(resume_from))
    if init is not None and (state is not None or ckpt_io.latest_checkpoint(ckpt_dir) is not None):
        raise ConfigError(f"--init starts a new run: not with --resume or --resume-from, and {out} must hold no "
                          "checkpoints")
    start = int(state["iteration"]) if state is not None else 0

    family_cls = training_family(config)
    batch = int(train_cfg["batch_size"])
    position = StreamPosition(batch, int(train_cfg["seed"]), start * batch, info.rank, info.world_size,
                              pin_memory=dev.type == "cuda", device=dev, run_dir=out)
    stream = family_cls.make_data(find_layout(data, config["data"]["domain_names"]), config, position)

    torch.manual_seed(train_cfg["seed"])
    precision = Precision(train_cfg["amp"], dev)
    placement = Placement(dev, precision, bool(train_cfg["channels_last"]), info.enabled)
    family = family_cls(config, placement)
    if state is not None:
        restore_training_state(family, precision, state)
        if "rng" in state:
            ckpt_io.set_rng_state(state["rng"])
        else:  # travel: no RNG states; fresh random numbers, not a replay of the run's first iterations
            torch.manual_seed(train_cfg["seed"] * 1_000_003 + start)
    previous_training = state and state.get("training")
    if init is not None:
        report = init_from_checkpoint(family, Path(init))
        previous_training = report.training
        if info.is_main:
            print(report.summary())
    if state is not None and state.get("travel"):
        # fresh Adam moments: warm the learning rate up; the warm-up lives in optimizer step hooks, which keep
        # it alive and remove themselves when it is over
        LrWarmup(family.optimizers().values(), default_warmup(config) if warmup is None else warmup)
    if info.rank:  # other ranks draw their own random numbers; their data differs by position anyway
        torch.manual_seed(train_cfg["seed"] * 1_000_003 + start * info.world_size + info.rank)
    total = int(train_cfg["iterations"])

    log = None
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "samples").mkdir(exist_ok=True)
        with atomic_open(out / "config.toml", "w", encoding="utf-8") as handle:
            handle.write(dumps_config(config))
        log = MetricsLog(out, start, [*family.logged_values, *LOOP_LOGGED_VALUES])
    skipped = SkipReport()
    stop = StopRequest()
    iteration, losses, last_ckpt = start, {}, None

    def save() -> Path | None:
        if not info.is_main:
            return None
        training = training_record(previous_training, dev, time.perf_counter() - started, train_cfg["amp"])
        payload = training_state(family, iteration, config, precision, stream.record, training)
        path = ckpt_io.save_checkpoint(payload, ckpt_dir, iteration, int(train_cfg["keep_checkpoints"]))
        if travel_out is not None:
            write_travel(travel_subset(payload), Path(travel_out))
        return path

    bar = tqdm(total=total, initial=start, disable=not (progress and info.is_main), unit="it", dynamic_ncols=True,
               mininterval=0.5 if sys.stderr.isatty() else 30.0)
    started = time.perf_counter()
    with stop.installed():
        batches = iter(stream.batches)
        while iteration < total:
            item = next(batches)
            skipped.add(item["skipped"])
            losses = family.train_step([placement.place_batch(x) for x in item["images"]])
            iteration += 1
            bar.update(1)
            if not all(math.isfinite(v) for v in losses.values()):
                raise FloatingPointError(f"iteration {iteration}: non-finite loss {losses}")
            if log is not None and iteration % train_cfg["log_every"] == 0:
                lr = next(iter(family.optimizers().values())).param_groups[0]["lr"]
                log.log(iteration, {**losses, "lr": lr,
                                    "it_per_s": (iteration - start) / (time.perf_counter() - started)})
                bar.set_postfix({k: f"{losses[k]:.3f}" for k in family.progress_keys if k in losses}, refresh=False)
            if info.is_main and iteration % train_cfg["sample_every"] == 0:
                _save_samples(family, stream.fixed, out / "samples", iteration)
            if iteration % train_cfg["checkpoint_every"] == 0:
                last_ckpt = save()
            if any_rank(stop.requested, info, dev):
                break
        interrupted = iteration < total
        if last_ckpt is None or not last_ckpt.name.endswith(f"{iteration:08d}.pt"):
            last_ckpt = save()
        if info.is_main and iteration % train_cfg["sample_every"] != 0:
            _save_samples(family, stream.fixed, out / "samples", iteration)
    bar.close()
    if log is not None:
        log.close()
    if info.is_main:
        print(f"stopped at iteration {iteration}{' (interrupted)' if interrupted else ''}; "
              f"{skipped.summary()}", file=sys.stderr)
    return TrainResult(iteration, last_ckpt, losses, sorted(skipped.files), interrupted)

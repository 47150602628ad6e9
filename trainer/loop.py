"""The training loop shared by every family: data, checkpoints, exact resume, samples, logs, signals, DDP."""
from __future__ import annotations

import math
import signal
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

import torch
from tqdm import tqdm

from i2i_common.images import write_image

from . import checkpoint as ckpt_io
from i2i_common.atomic import atomic_open
from .config import ConfigError, dumps_config, merged
from .data import SkipReport, find_layout, fixed_images, require_domains, to_uint8, train_loader
from .distributed import any_rank, init_distributed
from .families import Runtime, TrainingFamily, family_class
from .metrics import MetricsLog
from .precision import Precision
from .provenance import training_record

TRAIN_DEFAULTS: dict[str, Any] = {
    "iterations": 1_000_000, "batch_size": 1, "lr": 1e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-4,
    "lr_step": 100_000, "lr_gamma": 0.5, "seed": 1, "ema": 0.0, "amp": "none", "channels_last": False,
    "log_every": 10, "sample_every": 10_000, "checkpoint_every": 10_000, "keep_checkpoints": 3,
    "sample_rows": 6, "sample_styles": 3,
}
DATA_DEFAULTS: dict[str, Any] = {"load_size": 256, "size": 256, "flip": True, "domain_names": [], "workers": 4}
DOMAIN_IDS = "ab"


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` completed with the loop's and its family's defaults; unknown keys are an error."""
    family = family_class(config.get("model", {}).get("family", ""))
    defaults = {"model": {"family": family.name, **family.model_defaults}, "data": DATA_DEFAULTS,
                "train": TRAIN_DEFAULTS, "loss": dict(family.loss_defaults)}
    unknown = [f"{table}.{key}" for table, values in config.items() for key in values
               if table not in defaults or key not in defaults[table]] \
        if all(isinstance(v, Mapping) for v in config.values()) else ["(top-level values outside a table)"]
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
    resolved = merged(defaults, config)
    data = resolved["data"]
    if data["size"] > data["load_size"]:
        raise ConfigError(f"data.size ({data['size']}) must not exceed data.load_size ({data['load_size']})")
    return resolved


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    iteration: int
    checkpoint: Path | None
    last_losses: dict[str, float]
    skipped_files: list[str]
    interrupted: bool


class _StopRequest:
    """SIGINT/SIGTERM set a flag; the loop saves a checkpoint and exits at the end of the iteration."""

    def __init__(self):
        self.requested = False

    @contextmanager
    def installed(self) -> Iterator["_StopRequest"]:
        previous = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                previous[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread: no handlers, no graceful stop
                pass
        try:
            yield self
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _handle(self, signum, frame) -> None:
        self.requested = True


def _state(family: TrainingFamily, iteration: int, config: dict, precision: Precision,
           data_info: dict, training: dict) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "family": family.name, "format": ckpt_io.CHECKPOINT_FORMAT, "iteration": iteration, "config": config,
        "training": training,
        "models": {k: m.state_dict() for k, m in family.models().items()},
        "optimizers": {k: o.state_dict() for k, o in family.optimizers().items()},
        "schedulers": {k: s.state_dict() for k, s in family.schedulers().items()},
        "precision": precision.state_dict(), "rng": ckpt_io.rng_state(), "data": data_info,
    }
    if family.ema_models():
        payload["ema"] = {k: m.state_dict() for k, m in family.ema_models().items()}
    return payload


def _restore(family: TrainingFamily, precision: Precision, state: dict[str, Any]) -> None:
    if state["family"] != family.name:
        raise ConfigError(f"checkpoint is for family {state['family']!r}, config says {family.name!r}")
    for k, m in family.models().items():
        m.load_state_dict(state["models"][k])
    for k, m in family.ema_models().items():
        m.load_state_dict(state["ema"][k])
    for k, o in family.optimizers().items():
        o.load_state_dict(state["optimizers"][k])
    for k, s in family.schedulers().items():
        s.load_state_dict(state["schedulers"][k])
    precision.load_state_dict(state.get("precision", {}))


def _save_samples(family: TrainingFamily, fixed: list[torch.Tensor], folder: Path, iteration: int) -> Path:
    grid = family.sample_grid(fixed)
    return write_image(folder / f"sample_{iteration:08d}.png", to_uint8(grid), overwrite=True)


def train(config: Mapping[str, Any], data: str | Path, out: str | Path, device: str = "auto",
          resume: bool = False, progress: bool = True) -> TrainResult:
    """Train ``config``'s family on the dataset folder ``data`` into the run folder ``out``.

    With ``resume``, continues exactly from the newest checkpoint in ``out/checkpoints``.
    Under torchrun each process calls this; rank 0 writes logs, samples and checkpoints.
    """
    config = resolve_config(config)
    train_cfg, data_cfg = config["train"], config["data"]
    info, dev = init_distributed(device)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True  # one crop size all run long: let cuDNN time its conv kernels
    out = Path(out)
    ckpt_dir = out / "checkpoints"
    state = None
    if resume:
        path = ckpt_io.latest_checkpoint(ckpt_dir)
        if path is None:
            raise FileNotFoundError(f"--resume: no checkpoint in {ckpt_dir}")
        state = ckpt_io.load_checkpoint(path)
        if state.get("slim"):
            raise ConfigError(f"--resume: {path} is a slim (export-only) checkpoint; training needs a full one")

    layout = find_layout(data, data_cfg["domain_names"])
    family_cls = family_class(config["model"]["family"])
    require_domains(layout, family_cls.num_domains)
    data_info = {"dataset": layout.name, "layout": layout.kind,
                 "images": {i: len(d.train) for i, d in zip(DOMAIN_IDS, layout.domains)},
                 "domains": {i: d.name for i, d in zip(DOMAIN_IDS, layout.domains)}}

    torch.manual_seed(train_cfg["seed"])
    precision = Precision(train_cfg["amp"], dev)
    runtime = Runtime(dev, precision, bool(train_cfg["channels_last"]), info.enabled)
    family = family_cls(config, runtime)
    start = 0
    if state is not None:
        _restore(family, precision, state)
        start = int(state["iteration"])
        ckpt_io.set_rng_state(state["rng"])
    if info.rank:  # other ranks draw their own random styles; their data differs by position anyway
        torch.manual_seed(train_cfg["seed"] * 1_000_003 + start * info.world_size + info.rank)

    batch = int(train_cfg["batch_size"])
    loader = train_loader(layout.domains, data_cfg, batch, train_cfg["seed"], start * batch, info.rank,
                          info.world_size, pin_memory=dev.type == "cuda")
    total = int(train_cfg["iterations"])
    fixed = [fixed_images(d.test or d.train, train_cfg["sample_rows"], data_cfg["load_size"], data_cfg["size"])
             for d in layout.domains]

    log = None
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "samples").mkdir(exist_ok=True)
        with atomic_open(out / "config.toml", "w", encoding="utf-8") as handle:
            handle.write(dumps_config(config))
        log = MetricsLog(out, start)
    skipped = SkipReport()
    stop = _StopRequest()
    iteration, losses, last_ckpt = start, {}, None

    def save() -> Path | None:
        if not info.is_main:
            return None
        training = training_record(state and state.get("training"), dev, time.perf_counter() - started,
                                   train_cfg["amp"])
        return ckpt_io.save_checkpoint(_state(family, iteration, config, precision, data_info, training),
                                       ckpt_dir, iteration, int(train_cfg["keep_checkpoints"]))

    bar = tqdm(total=total, initial=start, disable=not (progress and info.is_main), unit="it", dynamic_ncols=True,
               mininterval=0.5 if sys.stderr.isatty() else 30.0)
    started = time.perf_counter()
    with stop.installed():
        batches = iter(loader)
        while iteration < total:
            item = next(batches)
            skipped.add(item["skipped"])
            images = [runtime.place_batch(x) for x in item["images"]]
            losses = family.train_step(images)
            iteration += 1
            bar.update(1)
            if not all(math.isfinite(v) for v in losses.values()):
                raise FloatingPointError(f"iteration {iteration}: non-finite loss {losses}")
            if log is not None and iteration % train_cfg["log_every"] == 0:
                lr = family.optimizers()[next(iter(family.optimizers()))].param_groups[0]["lr"]
                log.log(iteration, {**losses, "lr": lr,
                                    "it_per_s": (iteration - start) / (time.perf_counter() - started)})
                bar.set_postfix({k: f"{v:.3f}" for k, v in losses.items()
                                 if k in ("dis_total", "gen_total", "recon_x")}, refresh=False)
            if info.is_main and iteration % train_cfg["sample_every"] == 0:
                _save_samples(family, fixed, out / "samples", iteration)
            if iteration % train_cfg["checkpoint_every"] == 0:
                last_ckpt = save()
            if any_rank(stop.requested, info, dev):
                break
        interrupted = iteration < total
        if last_ckpt is None or not last_ckpt.name.endswith(f"{iteration:08d}.pt"):
            last_ckpt = save()
        if info.is_main and iteration % train_cfg["sample_every"] != 0:
            _save_samples(family, fixed, out / "samples", iteration)
    bar.close()
    if log is not None:
        log.close()
    if info.is_main:
        print(f"stopped at iteration {iteration}{' (interrupted)' if interrupted else ''}; "
              f"{skipped.summary()}", file=sys.stderr)
    return TrainResult(iteration, last_ckpt, losses, sorted(skipped.files), interrupted)

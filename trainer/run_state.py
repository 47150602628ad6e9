"""A family's training state as a checkpoint payload (see docs/training.md), and back."""
from __future__ import annotations

from typing import Any

import torch

from . import checkpoint as ckpt_io
from .config import ConfigError
from .families import TrainingFamily
from .precision import Precision


def training_state(family: TrainingFamily, iteration: int, config: dict[str, Any], precision: Precision,
                   data_record: dict[str, Any], training: dict[str, Any]) -> dict[str, Any]:
    """Everything ``--resume`` needs: models, EMA, optimizers, schedulers, loss scalers, RNG states, plus
    the config, the data record and the training-time record."""
    payload: dict[str, Any] = {
        "family": family.name, "format": ckpt_io.CHECKPOINT_FORMAT, "iteration": iteration, "config": config,
        "training": training,
        "models": {k: m.state_dict() for k, m in family.models().items()},
        "optimizers": {k: o.state_dict() for k, o in family.optimizers().items()},
        "schedulers": {k: s.state_dict() for k, s in family.schedulers().items()},
        "precision": precision.state_dict(), "rng": ckpt_io.rng_state(), "data": data_record,
    }
    if family.ema_models():
        payload["ema"] = {k: m.state_dict() for k, m in family.ema_models().items()}
    return payload


def _load_module(module: torch.nn.Module, weights: dict[str, Any] | None, where: str) -> None:
    if weights is None:
        raise ConfigError(f"checkpoint has no {where}")
    try:
        module.load_state_dict(weights)  # casts half-precision (travel) weights to the module's dtype
    except RuntimeError as exc:
        raise ConfigError(f"checkpoint {where} does not fit the config's model: {str(exc).splitlines()[0]}") from None


def restore_training_state(family: TrainingFamily, precision: Precision, state: dict[str, Any]) -> None:
    """Load what :func:`training_state` saved into ``family`` and ``precision`` (RNG states are left to the
    caller, who restores them last). From a travel checkpoint (``travel: True``, no optimizer state) the
    models, EMA copies and schedulers are restored and each optimizer's learning rate set to its scheduler's;
    EMA copies start from the models when the checkpoint kept none."""
    if state["family"] != family.name:
        raise ConfigError(f"checkpoint is for family {state['family']!r}, config says {family.name!r}")
    for k, m in family.models().items():
        _load_module(m, state["models"].get(k), f"models.{k}")
    ema = state.get("ema") or state["models"]
    for k, m in family.ema_models().items():
        _load_module(m, ema.get(k), f"ema.{k}")
    if not state.get("travel"):
        for k, o in family.optimizers().items():
            o.load_state_dict(state["optimizers"][k])
    for k, s in family.schedulers().items():
        s.load_state_dict(state["schedulers"][k])
        if state.get("travel"):
            for group, lr in zip(s.optimizer.param_groups, s.get_last_lr(), strict=True):
                group["lr"] = lr
    precision.load_state_dict(state.get("precision", {}))

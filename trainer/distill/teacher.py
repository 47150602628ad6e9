"""The teacher of a distillation run: its checkpoint (a run folder's newest or a file, read with
``torch.load(weights_only=True)``), its family built with its own config and its generators' weights (EMA copies
when it kept them), frozen; and the modules a student takes over from it."""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from torch import nn

from ..config import ConfigError, resolve_config
from ..families import Placement, TrainingFamily
from ..slim import first_line, read_source


def read_teacher(teacher: str, family: str) -> tuple[Path, dict[str, Any]]:
    """The checkpoint file named by ``distill.teacher`` and its contents; a one-line :class:`ConfigError` when
    there is none, it cannot be read, or it is not of the student's ``family``."""
    if not teacher:
        raise ConfigError("distill.teacher is not set: give the teacher's run folder or checkpoint file, "
                          "e.g. distill.teacher=runs/cat2dog")
    path, ckpt = read_source(Path(teacher), "distill.teacher")
    if ckpt.get("family") != family:
        raise ConfigError(f"distill.teacher {path} is a {ckpt.get('family')!r} checkpoint; a {family} student "
                          f"needs a {family} teacher")
    return path, ckpt


def build_teacher(family_cls: type[TrainingFamily], path: Path, ckpt: Mapping[str, Any],
                  placement: Placement) -> TrainingFamily:
    """The teacher's family on ``placement``'s device (never distributed) with its generators loaded from
    ``ckpt`` into its models and its EMA copies, every module frozen and in eval mode."""
    try:
        config = resolve_config(ckpt["config"])
    except (ConfigError, KeyError, TypeError) as exc:
        raise ConfigError(f"distill.teacher {path}: its config cannot be used: {first_line(exc)}") from None
    alone = Placement(placement.device, placement.precision, placement.channels_last, distributed=False)
    teacher = family_cls(config, alone)
    weights = ckpt.get("ema") or ckpt.get("models") or {}
    ema = teacher.ema_models()
    for name in family_cls.generator_names:
        for module in (teacher.models()[name], ema.get(name)):
            if module is not None:
                load(module, weights.get(name), f"distill.teacher {path}: {name}")
    for module in (*teacher.models().values(), *ema.values()):
        module.eval().requires_grad_(False)
    return teacher


def load(module: nn.Module, weights: Mapping[str, Any] | None, where: str, hint: str = "") -> None:
    """``module.load_state_dict(weights)``, a one-line :class:`ConfigError` naming ``where`` (and ``hint``)
    when the weights are missing or do not fit."""
    if weights is None:
        raise ConfigError(f"{where}: no weights in the checkpoint")
    try:
        module.load_state_dict(weights)
    except RuntimeError as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ConfigError(f"{where} does not fit: {detail}{'; ' + hint if hint else ''}") from None


def submodule(models: Mapping[str, nn.Module], path: str) -> nn.Module:
    """``name.sub.module`` of a family's models (``name`` alone: the whole model)."""
    name, _, inner = path.partition(".")
    return models[name].get_submodule(inner) if inner else models[name]


def adopt_frozen(student: TrainingFamily, teacher: TrainingFamily, paths: tuple[str, ...], hint: str) -> None:
    """Copy the teacher's modules at ``paths`` into the student's models and EMA copies, frozen, in eval mode."""
    for path in paths:
        source = submodule(teacher.models(), path)
        for models in (student.models(), student.ema_models()):
            if path.partition(".")[0] in models:
                target = submodule(models, path)
                load(target, source.state_dict(), f"the student's {path} (copied from the teacher and frozen)",
                     f"set {hint} as the teacher's")
                target.eval().requires_grad_(False)


def adopt_discriminators(student: TrainingFamily, family_cls: type[TrainingFamily], path: Path,
                         ckpt: Mapping[str, Any]) -> None:
    """Start the student's other modules than its generators (discriminators) from the teacher's checkpoint."""
    models = ckpt.get("models") or {}
    for name, module in student.models().items():
        if name in family_cls.generator_names:
            continue
        if name not in models:
            raise ConfigError(f'distill.discriminator = "teacher": {path} holds no {name} weights (a slim '
                              'checkpoint keeps only generators); use "fresh"')
        load(module, models[name], f"the student's {name} (from the teacher's)",
             "give the student the teacher's discriminator settings, or distill.discriminator = \"fresh\"")

"""TOML configs: load (tomllib), override from the command line (``train.lr=2e-4``), write back, and resolve
against the loop's generic defaults and those the config's family declares.

A bare config name (``munit_cpu.toml`` or ``munit_cpu``) that is not an existing file resolves to the
configs shipped in ``trainer/configs/``.
"""
from __future__ import annotations

import copy
import math
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from .config_error import ConfigError
from .families import TRAINING_FAMILIES, TrainingFamily

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
# what every family's run has; a family adds (or overrides) entries with its data_defaults / train_defaults
TRAIN_DEFAULTS: dict[str, Any] = {
    "iterations": 1_000_000, "batch_size": 1, "lr": 1e-4, "beta1": 0.5, "beta2": 0.999, "weight_decay": 1e-4,
    "seed": 1, "ema": 0.0, "amp": "none", "channels_last": False, "compile": False,
    "log_every": 10, "sample_every": 10_000, "checkpoint_every": 10_000, "keep_checkpoints": 3, "sample_rows": 6,
}
# cache: decode once into the uint8 cache (in cache_dir, default the run folder's data_cache); on_device: keep
# that cache on the training device (docs/training.md, "Data")
DATA_DEFAULTS: dict[str, Any] = {"load_size": 256, "size": 256, "flip": True, "domain_names": [], "workers": 4,
                                 "cache": False, "cache_dir": "", "on_device": False}

# the [distill] table of a distillation run (docs/training.md, "Distillation"): only a config that has one gets it
DISTILL_DEFAULTS: dict[str, Any] = {"teacher": "", "student_of": "", "l1_w": 10.0, "perceptual_w": 1.0, "adv_w": 1.0,
                                    "discriminator": "fresh"}
DISCRIMINATOR_STARTS = ("fresh", "teacher")  # distill.discriminator: the student's discriminators start from


_KIND_NAMES = {bool: "true or false", int: "a whole number", float: "a number", str: "a string", list: "a list"}


def shipped_configs() -> list[str]:
    """Names of the configs shipped in ``trainer/configs/`` (what ``--config NAME`` accepts)."""
    return sorted(p.stem for p in CONFIG_DIR.glob("*.toml"))


def resolve_config_path(path: str | Path) -> Path:
    """``path`` itself if it exists, else the shipped config of that name (``.toml`` optional)."""
    candidate = Path(path)
    if candidate.is_file():
        return candidate
    name = candidate.name if candidate.suffix == ".toml" else candidate.name + ".toml"
    shipped = CONFIG_DIR / name
    if candidate.parent == Path(".") and shipped.is_file():
        return shipped
    raise ConfigError(f"config not found: {path} (shipped configs: {', '.join(shipped_configs())})")


def parse_value(text: str) -> Any:
    """A TOML value (``2e-4``, ``true``, ``[1, 2]``, ``"x"``); anything else is taken as a plain string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_override(config: dict[str, Any], override: str) -> None:
    """Set one ``dotted.key=value`` in ``config`` (in place); intermediate tables are created."""
    key, sep, value = override.partition("=")
    key = key.strip().removeprefix("--set").strip()
    if not sep or not key:
        raise ConfigError(f"override must look like section.key=value, got {override!r}")
    *tables, leaf = key.split(".")
    node = config
    for table in tables:
        node = node.setdefault(table, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {override!r}: {table!r} is a value, not a table")
    node[leaf] = parse_value(value.strip())


def load_config(path: str | Path, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """Read a TOML config and apply ``overrides`` (``section.key=value`` strings) in order."""
    resolved = resolve_config_path(path)
    try:
        config = tomllib.loads(resolved.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{resolved}: cannot read the config: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{resolved}: not a TOML text file (not UTF-8)") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{resolved}: invalid TOML: {exc}") from exc
    for override in overrides:
        apply_override(config, override)
    return config


def _format_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_format_value(v) for v in value) + "]"
    raise ConfigError(f"cannot write {type(value).__name__} to TOML")


def dumps_config(config: Mapping[str, Any]) -> str:
    """TOML text for a config of tables, scalars, strings and lists (what :func:`load_config` reads back)."""
    lines: list[str] = []

    def emit(table: Mapping[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, Mapping)}
        if prefix and (scalars or not table):
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {_format_value(v)}" for k, v in scalars.items())
        if scalars:
            lines.append("")
        for key, sub in table.items():
            if isinstance(sub, Mapping):
                emit(sub, f"{prefix}.{key}" if prefix else key)

    emit(config, "")
    return "\n".join(lines).rstrip() + "\n"


def _same_kind(default: Any, value: Any) -> bool:
    """Whether ``value`` may replace ``default``: a bool for a bool, a whole number for an int, a number
    for a float, a string for a string, a list for a list (other defaults accept anything)."""
    for kind, accepted in ((bool, (bool,)), (int, (int,)), (float, (int, float)), (str, (str,)), (list, (list,))):
        if isinstance(default, kind):
            return isinstance(value, accepted) and (kind is bool or not isinstance(value, bool))
    return True


def merged(defaults: Mapping[str, Any], config: Mapping[str, Any], where: str = "") -> dict[str, Any]:
    """Deep merge: tables of ``config`` complete (and override) those of ``defaults``. A value of another
    kind than its default (``model.dim = "abc"``) is a :class:`ConfigError`."""
    out = copy.deepcopy(dict(defaults))
    for key, value in config.items():
        name = f"{where}{key}"
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merged(out[key], value, f"{name}.")
            continue
        if key in out and not _same_kind(out[key], value):
            raise ConfigError(f"{name} = {value!r}: expected {_KIND_NAMES[type(out[key])]}")
        out[key] = copy.deepcopy(value)
    return out


def family_class(name: str) -> type[TrainingFamily]:
    """The training family registered as ``name``; a clear error listing the known ones otherwise."""
    if name not in TRAINING_FAMILIES:
        raise ConfigError(f"unknown model family {name!r} (known: {', '.join(sorted(TRAINING_FAMILIES))})")
    return TRAINING_FAMILIES[name]


def resolve_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """``config`` completed with the loop's and its family's defaults; unknown keys are an error."""
    family = family_class(config.get("model", {}).get("family", ""))
    defaults = {"model": {"family": family.name, **family.model_defaults},
                "data": {**DATA_DEFAULTS, **family.data_defaults},
                "train": {**TRAIN_DEFAULTS, **family.train_defaults}, "loss": dict(family.loss_defaults)}
    if "distill" in config:
        defaults["distill"] = dict(DISTILL_DEFAULTS)
    unknown = [f"{table}.{key}" for table, values in config.items() for key in values
               if table not in defaults or key not in defaults[table]] \
        if all(isinstance(v, Mapping) for v in config.values()) else ["(top-level values outside a table)"]
    if unknown:
        raise ConfigError(f"unknown config keys: {', '.join(sorted(unknown))}")
    resolved = merged(defaults, config)
    data = resolved["data"]
    if data["size"] > data["load_size"]:
        raise ConfigError(f"data.size ({data['size']}) must not exceed data.load_size ({data['load_size']})")
    start = resolved.get("distill", {}).get("discriminator", "fresh")
    if start not in DISCRIMINATOR_STARTS:
        raise ConfigError(f"distill.discriminator = {start!r}: expected one of {', '.join(DISCRIMINATOR_STARTS)}")
    return resolved

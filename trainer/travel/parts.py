"""The travel checkpoint on disk: a folder with ``travel.json`` (the manifest) and at most 8 parts of at most
16 MiB (``travel_<iteration>_partN.pt``), at most 60 MiB in all, so that it fits what moves between machines.

Weights are stored in half precision: fp16, or bf16 for a tensor with a finite value beyond fp16's range
(65504); integer tensors as they are. Each part is a plain ``torch.save`` dict of tensors that loads with
``torch.load(weights_only=True)``; the manifest names every part with its size and sha256 and carries the JSON
records (family, iteration, config, data, training). Writing is atomic per file and as a whole: new parts
first, then the manifest (readers see the old checkpoint or the new one), then the old parts go.
"""
from __future__ import annotations

import hashlib
import io
import json
import re
from pathlib import Path
from typing import Any

import torch

from i2i_common.atomic import atomic_open

MANIFEST = "travel.json"
FORMAT = "i2i-travel-checkpoint"
VERSION = 1
MIB = 1 << 20
PART_LIMIT = 16 * MIB
MAX_PARTS = 8
TOTAL_LIMIT = 60 * MIB
PART_RE = re.compile(r"^travel_\d{8}_part\d+\.pt$")
FP16_MAX = float(torch.finfo(torch.float16).max)
WEIGHT_SECTIONS = ("models", "ema")  # section -> module -> state_dict
RECORDS = ("family", "iteration", "config", "data", "training")  # JSON, in the manifest
PACK_MARGIN = 32  # 1/32 of each part is left for torch.save's zip records and key names (0.5 MiB of 16)


class TravelError(ValueError):
    """A travel checkpoint that cannot be written within the limits, or cannot be trusted when read."""


def stored(tensor: torch.Tensor) -> torch.Tensor:
    """``tensor`` as it is stored: fp16 unless a finite value overflows it (then bf16); non-float as is."""
    tensor = tensor.detach().cpu()
    if not tensor.is_floating_point():
        return tensor.clone()
    finite_max = tensor.nan_to_num(posinf=0.0, neginf=0.0).abs().amax() if tensor.numel() else 0.0
    return tensor.to(torch.bfloat16 if finite_max > FP16_MAX else torch.float16)


def _flat_weights(subset: dict[str, Any]) -> dict[str, torch.Tensor]:
    return {f"{section}/{module}/{key}": stored(t) for section in WEIGHT_SECTIONS
            for module, state in subset.get(section, {}).items() for key, t in state.items()}


def _pack(weights: dict[str, torch.Tensor], budget: int) -> list[dict[str, torch.Tensor]]:
    """Greedy split of ``weights`` (in order) into groups of at most ``budget`` tensor bytes."""
    groups: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for key, t in weights.items():
        nbytes = t.numel() * t.element_size()
        if groups[-1] and size + nbytes > budget:
            groups.append({})
            size = 0
        groups[-1][key] = t
        size += nbytes
    return groups


def _serialized(payload: dict[str, Any]) -> bytes:
    buffer = io.BytesIO()
    torch.save(payload, buffer)
    return buffer.getvalue()


def write_travel(subset: dict[str, Any], folder: Path, part_limit: int = PART_LIMIT, max_parts: int = MAX_PARTS,
                 total_limit: int = TOTAL_LIMIT) -> dict[str, Any]:
    """Write ``subset`` (:func:`trainer.slim.travel_subset`) into ``folder``; returns the manifest. Nothing is
    written when it would exceed the limits (:class:`TravelError` with the measured size)."""
    weights = _flat_weights(subset)
    budget = part_limit - part_limit // PACK_MARGIN
    too_big = [k for k, t in weights.items() if t.numel() * t.element_size() > budget]
    if too_big:
        raise TravelError(f"tensor {too_big[0]} alone exceeds a {part_limit / MIB:.1f} MiB part")
    groups = _pack(weights, budget)
    groups[0] = {"schedulers": subset.get("schedulers", {}), **groups[0]}
    blobs = [_serialized(group) for group in groups]
    total = sum(len(b) for b in blobs)
    largest = max(len(b) for b in blobs)
    if len(blobs) > max_parts or largest > part_limit or total > total_limit:
        raise TravelError(f"travel checkpoint of {subset['family']!r} would be {total / MIB:.1f} MiB in "
                          f"{len(blobs)} parts (largest {largest / MIB:.1f} MiB); the limits are "
                          f"{total_limit / MIB:.1f} MiB in all, {max_parts} parts of {part_limit / MIB:.1f} MiB")
    dtypes: dict[str, int] = {}
    for t in weights.values():
        dtypes[str(t.dtype).removeprefix("torch.")] = dtypes.get(str(t.dtype).removeprefix("torch."), 0) + 1
    names = [f"travel_{int(subset['iteration']):08d}_part{i}.pt" for i in range(len(blobs))]
    manifest = {"format": FORMAT, "version": VERSION, "checkpoint_format": subset.get("format"),
                **{key: subset[key] for key in RECORDS if key in subset}, "stored_dtypes": dtypes,
                "total_bytes": total,
                "parts": [{"name": n, "bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()}
                          for n, b in zip(names, blobs, strict=True)]}
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name, blob in zip(names, blobs, strict=True):
        with atomic_open(folder / name, "wb") as handle:
            handle.write(blob)
    with atomic_open(folder / MANIFEST, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1)
    for stale in part_files(folder) - set(names):
        (folder / stale).unlink(missing_ok=True)
    return manifest


def part_files(folder: Path) -> set[str]:
    """Names of the part files in ``folder`` (whatever manifest they belong to)."""
    return {p.name for p in Path(folder).iterdir() if PART_RE.match(p.name)}


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of the travel checkpoint ``folder``, checked for format and version."""
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TravelError(f"{folder}: no travel checkpoint ({MANIFEST} missing)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TravelError(f"{path}: unreadable manifest ({str(exc).splitlines()[0]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
        raise TravelError(f"{path}: not a version-{VERSION} {FORMAT} manifest")
    parts = manifest.get("parts")
    if not isinstance(parts, list) or not parts or not all(
            isinstance(p, dict) and isinstance(p.get("name"), str) and PART_RE.match(p["name"])
            and isinstance(p.get("bytes"), int) and isinstance(p.get("sha256"), str) for p in parts):
        raise TravelError(f"{path}: its list of parts is missing or malformed")
    if not all(key in manifest for key in RECORDS[:3]):
        raise TravelError(f"{path}: no family, iteration or config")
    return manifest


def _verified_part(folder: Path, entry: dict[str, Any]) -> dict[str, Any]:
    path = folder / entry["name"]
    data = path.read_bytes()
    if len(data) != entry["bytes"] or hashlib.sha256(data).hexdigest() != entry["sha256"]:
        raise TravelError(f"{path}: size or sha256 differs from {MANIFEST} (tampered or damaged part)")
    try:
        part = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except Exception as exc:  # a part that matches its hash but was written by something else
        raise TravelError(f"{path}: not a travel part ({str(exc).splitlines()[0] if str(exc) else exc!r})") from None
    if not isinstance(part, dict):
        raise TravelError(f"{path}: not a travel part")
    return part


def load_travel(folder: Path) -> dict[str, Any]:
    """Read and verify the travel checkpoint ``folder``: every part named in the manifest present, no other
    part file, each of the size and sha256 the manifest says. Returns the subset (weights in half precision,
    ``travel: True``) as :func:`trainer.slim.travel_subset` made it."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    listed = [entry["name"] for entry in manifest["parts"]]
    present = part_files(folder)
    if missing := [n for n in listed if n not in present]:
        raise TravelError(f"{folder}: part {missing[0]} is missing ({len(missing)} of {len(listed)} missing)")
    if extra := sorted(present - set(listed)):
        raise TravelError(f"{folder}: part file {extra[0]} is not in {MANIFEST} (extra part; remove it)")
    subset: dict[str, Any] = {key: manifest[key] for key in RECORDS if key in manifest}
    subset.update(format=manifest.get("checkpoint_format"), travel=True, schedulers={})
    for entry in manifest["parts"]:
        for key, value in _verified_part(folder, entry).items():
            if key == "schedulers":
                subset["schedulers"] = value
                continue
            section, module, name = key.split("/", 2)
            subset.setdefault(section, {}).setdefault(module, {})[name] = value
    return subset

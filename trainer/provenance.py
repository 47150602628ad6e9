"""Where and how long a model trained: the machine's description and the cumulative training time,
kept in every checkpoint so an exported bundle can say what produced it."""
from __future__ import annotations

import os
import platform
from pathlib import Path
from typing import Any

import torch


def hardware(device: torch.device | None = None) -> str:
    """CPU model (from /proc/cpuinfo where there is one), architecture and CPU count, led by the GPU's
    name when ``device`` is a CUDA device."""
    cpu = platform.processor()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text(errors="replace").splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    host = f"{cpu or platform.system()} ({platform.machine()}), {os.cpu_count()} CPUs"
    if device is not None and device.type == "cuda":
        return f"{torch.cuda.get_device_name(device)}; {host}"
    return host


def training_record(previous: dict[str, Any] | None, device: torch.device, seconds: float,
                    amp: str) -> dict[str, Any]:
    """The checkpoint's ``training`` entry: this session's machine, and seconds summed over every session
    (each resume adds its own; a session on other hardware is listed too); an ``init`` entry is carried on."""
    previous = dict(previous or {})
    here = {"hardware": hardware(device), "torch": str(torch.__version__), "amp": amp}
    sessions = [s for s in previous.get("sessions", []) if s != here] + [here]
    record = {"seconds": round(float(previous.get("seconds", 0.0)) + seconds, 1), "sessions": sessions}
    if "init" in previous:
        record["init"] = previous["init"]
    return record


def inherited_record(source: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``training`` entry a run started with ``--init`` from checkpoint ``source`` (file ``name``) begins
    with: the source's seconds and machines, and ``init`` saying how many iterations it had (and, for one rebuilt
    from a bundle, which bundle), so a fine-tuned model's provenance keeps what it was built on."""
    training = dict(source.get("training") or {})
    init = {"from": str(source.get("recovered_from") or name), "iterations": int(source.get("iteration", 0))}
    if training.get("init"):  # the source was itself started from another checkpoint
        init["before"] = training["init"]
    return {"seconds": float(training.get("seconds", 0.0)), "sessions": list(training.get("sessions", [])),
            "init": init}

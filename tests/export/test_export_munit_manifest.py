"""The family-neutral exporter writes exactly the MUNIT manifest it wrote before (issue 11).

``munit_manifest.json`` is the manifest the MUNIT-shaped exporter wrote for a fixed tiny checkpoint,
with what depends on the machine taken out: checksums, dates, software versions and the machine, and
every measured number (parity, PSNR, speed, self-test statistics) replaced by ``"<number>"``.
Everything else (domains, directions, graph and array entries with their scopes, files, I/O,
provenance, the config verbatim, which cases were measured) must be identical. Since issue 15 the manifest
also lists each domain's ``style_presets`` array and says how presets are chosen (``style.presets``).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch

from desktop.runtime.bundle import MANIFEST
from export.cli import main as export_main
from trainer.models.munit import build_generator

GOLDEN = Path(__file__).with_name("munit_manifest.json")
MACHINE_FIELDS = ("created", "hardware", "software")
MEASURED = ("verification", "self_test")


def scrub(value: Any, measured: bool = False) -> Any:
    """``value`` without checksums, and with every number replaced where ``measured``."""
    if isinstance(value, dict):
        return {k: scrub(v, measured or k in MEASURED) for k, v in value.items() if k != "sha256"}
    if isinstance(value, list):
        return [scrub(v, measured) for v in value]
    if measured and isinstance(value, (int, float)) and not isinstance(value, bool):
        return "<number>"
    return value


def comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest as the golden file holds it."""
    out = scrub(manifest)
    out["provenance"] = {k: v for k, v in out["provenance"].items() if k not in MACHINE_FIELDS}
    return out


def write_checkpoint(path: Path, config: dict[str, Any]) -> None:
    """A format-1 MUNIT checkpoint with seeded random generators, as the trainer writes them."""
    torch.manual_seed(0)
    gens = {f"gen_{d}": build_generator(config["model"]).state_dict() for d in "ab"}
    torch.save({"family": "munit", "format": 1, "iteration": 7, "config": config, "models": gens, "ema": gens,
                "data": {"dataset": "cat2dog", "images": {"a": 2000, "b": 2008}},
                "training": {"seconds": 1.5, "sessions": [{"hardware": "test"}]}}, path)


def test_munit_manifest_is_unchanged(tmp_path, shared_data):
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    ckpt = tmp_path / "ckpt_00000007.pt"
    write_checkpoint(ckpt, golden["provenance"]["config"])
    out = tmp_path / "tiny-munit"
    assert export_main(["--checkpoint", str(ckpt), "--data", str(shared_data / "cat2dog"), "--out", str(out),
                        "--precisions", "fp32,fp16,int8", "--force-variants", "--style-images", "16",
                        "--calibration-images", "8", "--title", "Tiny MUNIT"]) == 0
    manifest = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
    assert comparable(manifest) == golden

"""Record a bundle's self-test at export (docs/bundle.md, "self_test"). No torch needed.

The bundle is opened with the app's own translators on the CPU, once per precision it offers, and the
self-test input is translated in every direction (and style case). Each precision's tolerance comes from what was
measured: ``MARGIN`` times its largest deviation from the fp32 outputs, and never below the precision's floor
(``FLOORS``): outputs are rounded to 8 bits, so another CPU or a GPU can move a pixel by a level or two, and int8
rounds again at every quantised layer, where one requantisation rounded the other way on another CPU's kernels
carries through the rest of the graph. A damaged graph moves the digest by tens of levels.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from desktop.runtime.bundle import MANIFEST, load_bundle
from desktop.runtime.preprocess import model_size
from desktop.runtime.selftest import FIELD, run_outputs
from desktop.runtime.translators import open_translator

FLOOR = 2.0  # levels (0-255)
FLOORS = {"int8": 4.0}  # precisions that need more than FLOOR
MARGIN = 3.0
SEED = 0


def tolerance_floor(precision: str) -> float:
    """The smallest tolerance recorded for ``precision``, in levels."""
    return FLOORS.get(precision, FLOOR)


def record_self_test(folder: Path, seed: int = SEED) -> dict[str, Any]:
    """The ``self_test`` manifest entry for the bundle folder ``folder`` (which must not have one yet)."""
    bundle = load_bundle(folder)
    train = bundle.image.train_size
    height, width = model_size(bundle.image, train, train, "fit")
    outputs = {}
    for precision in bundle.precisions():
        translator = open_translator(bundle, provider="cpu", precision=precision)
        if translator.precision == precision:  # a variant onnxruntime cannot open gets no entry
            outputs[precision] = run_outputs(translator, seed, height, width)
    precisions = {}
    for precision, by_case in outputs.items():
        measured = max(stats.deviation(outputs["fp32"][case]) for case, stats in by_case.items())
        precisions[precision] = {
            "tolerance": round(max(tolerance_floor(precision), MARGIN * measured), 3),
            "measured_vs_fp32": round(measured, 3),
            "outputs": {case: stats.to_manifest() for case, stats in by_case.items()},
        }
    return {"seed": seed, "height": height, "width": width, "precisions": precisions}


def add_self_test(folder: Path) -> None:
    """Write the self-test into ``folder``'s manifest, unless the manifest already records one."""
    path = folder / MANIFEST
    manifest = json.loads(path.read_text(encoding="utf-8"))
    if FIELD in manifest:
        return
    manifest[FIELD] = record_self_test(folder)
    path.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")

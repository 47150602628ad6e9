"""The exporter registry: one line per model family (the family a checkpoint names)."""
from __future__ import annotations

from .families.munit import MunitExporter
from .families.tunit import TunitExporter
from .families.ugatit import UgatitExporter
from .family_exporter import FamilyExporter
from .onnx_export import ExportError

EXPORTERS: dict[str, FamilyExporter] = {
    "munit": MunitExporter(),
    "ugatit": UgatitExporter(),
    "tunit": TunitExporter(),
}


def exporter_for(family: str) -> FamilyExporter:
    """The exporter of ``family``; a clear error naming the known families otherwise."""
    if family not in EXPORTERS:
        known = ", ".join(sorted(EXPORTERS)) or "none"
        raise ExportError(f"no exporter for model family {family!r} (known: {known})")
    return EXPORTERS[family]

"""The "About model" dialog: a readable summary of a bundle (what it translates, how and where it was
trained, where and when it was exported, how closely its ONNX graphs match the checkpoint, its licence),
the raw manifest in a collapsed, scrollable section, and a height bounded by the screen.

Manifest values are untrusted: every nested value is checked for its type before use, and all text is
shown as plain text, never rich text."""
from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .session import direction_label, shown_names

SCREEN_SHARE = 0.85  # the dialog's height at most, as a share of the screen's available height


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def format_duration(seconds: float) -> str:
    """"26 min", "3.4 h", "2.1 days"."""
    if seconds < 3600:
        return f"{max(seconds / 60, 0):.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def format_bytes(size: int) -> str:
    """"15.8 MB" (decimal units, like file managers)."""
    if size < 1000:
        return f"{size} bytes"
    scaled, unit = next((size / 1000 ** k, u) for k, u in ((3, "GB"), (2, "MB"), (1, "kB")) if size >= 1000 ** k)
    return f"{scaled:.1f} {unit}"


def bundle_size(path: Path) -> int:
    """Bytes on disk of a `.i2i` archive, or of the files directly in a bundle folder."""
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file()) if path.is_dir() else 0


def describe_sizes(bundle) -> str:
    sizes = bundle.image.sizes
    if sizes.kind == "fixed":
        return f"fixed {sizes.width}x{sizes.height} px"
    return f"{sizes.min}-{sizes.max} px in steps of {sizes.multiple}; trained at {bundle.image.train_size} px"


def _training_lines(provenance: dict[str, Any]) -> list[str]:
    """What the model learnt from, for how long and on which machines."""
    lines = []
    dataset = provenance.get("dataset")
    images = _mapping(provenance.get("images"))
    domains = _mapping(provenance.get("domains"))
    if isinstance(dataset, str):
        counts = [f"{n} {domains.get(k, k)}" for k, n in images.items() if _number(n) is not None]
        lines.append(f"trained on: {dataset}" + (f" ({', '.join(counts)} images)" if counts else ""))
    training = _mapping(provenance.get("training"))
    iterations, seconds = _number(provenance.get("iterations")), _number(training.get("seconds"))
    length = [f"{int(iterations):,} iterations"] if iterations is not None else []
    length += [format_duration(seconds)] if seconds is not None else []
    if length:
        lines.append("training: " + ", ".join(length))
    init = _mapping(training.get("init"))
    before, origin = _number(init.get("iterations")), init.get("from")
    if before is not None and isinstance(origin, str):
        lines.append(f"continued from: {origin} after its {int(before):,} iterations (time and machines include it)")
    sessions = training.get("sessions")
    for session in sessions if isinstance(sessions, list) else []:
        hardware = _mapping(session).get("hardware")
        if isinstance(hardware, str):
            lines.append(f"trained on machine: {hardware}")
    return lines


def _parity_lines(verification: dict[str, Any]) -> list[str]:
    """One line per precision: the largest difference from the PyTorch model, PSNR where measured."""
    diffs, psnr = _mapping(verification.get("max_abs_diff")), _mapping(verification.get("psnr_db"))
    dropped = _mapping(verification.get("variants_dropped"))
    lines = []
    for precision in dict.fromkeys([*diffs, *psnr]):
        parts = []
        if _number(diffs.get(precision)) is not None:
            parts.append(f"max difference {diffs[precision]:.2g}")
        if _number(psnr.get(precision)) is not None:
            parts.append(f"PSNR {psnr[precision]:.1f} dB")
        text = ", ".join(parts)
        reason = dropped.get(precision)
        if isinstance(reason, str):
            text += " - not shipped" + ("" if reason in text else f" ({reason})")
        lines.append(f"  {precision}: {text}")
    return lines


def about_text(bundle, provider_info, names: Mapping[str, str] | None = None) -> str:
    """The dialog's summary, as plain text lines; `names` are the user's names for domains (id -> name)."""
    provenance = _mapping(bundle.provenance)
    shown = shown_names(bundle.domains, names)
    lines = [f"{bundle.title or bundle.name} ({bundle.name})",
             f"family: {bundle.family}" + ("  -  UNTRAINED PLACEHOLDER: random weights, outputs are noise"
                                          if bundle.untrained else ""),
             "domains: " + ", ".join(shown[d.id] + (f" ({d.name})" if shown[d.id] != d.name else "")
                                     for d in bundle.domains),
             "directions: " + ", ".join(direction_label(bundle, d, names) for d in bundle.directions),
             f"sizes: {describe_sizes(bundle)}",
             f"precisions: {', '.join(bundle.precisions())}",
             f"file: {format_bytes(bundle_size(bundle.source))}",
             f"running on: {provider_info.describe()}",
             ""]
    lines += _training_lines(provenance)
    exported = [provenance.get(key) for key in ("hardware", "created")]
    if any(isinstance(value, str) for value in exported):
        lines.append("exported on: " + ", ".join(v for v in exported if isinstance(v, str)))
    parity = _parity_lines(_mapping(bundle.verification))
    if parity:
        lines += ["export check (ONNX vs the PyTorch model):", *parity]
    lines += ["", "Licence:", bundle.license or "(none given)"]
    return "\n".join(lines)


def _plain_label(text: str) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class AboutModelDialog(QDialog):
    """Summary on top (scrolls if long), "Details" (the raw manifest) collapsed below, OK always visible."""

    def __init__(self, bundle, provider_info, parent: QWidget | None = None,
                 names: Mapping[str, str] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"About {bundle.name}")
        self.summary = _plain_label(about_text(bundle, provider_info, names))
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.summary)
        self.details_button = QToolButton()
        self.details_button.setText("Details (manifest)")
        self.details_button.setCheckable(True)
        self.details_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.details_button.setArrowType(Qt.ArrowType.RightArrow)
        self.details = QPlainTextEdit(json.dumps(bundle.manifest, indent=1, ensure_ascii=True))
        self.details.setReadOnly(True)
        self.details.setVisible(False)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok)
        buttons.accepted.connect(self.accept)
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignLeft)
        layout.addWidget(self.details, 2)
        layout.addWidget(buttons)
        self.details_button.toggled.connect(self._show_details)
        self._fit_screen()

    def _show_details(self, shown: bool) -> None:
        self.details.setVisible(shown)
        self.details_button.setArrowType(Qt.ArrowType.DownArrow if shown else Qt.ArrowType.RightArrow)

    def _fit_screen(self) -> None:
        screen = (self.parentWidget().screen() if self.parentWidget() else None) or QGuiApplication.primaryScreen()
        available = screen.availableGeometry()
        self.setMaximumHeight(int(available.height() * SCREEN_SHARE))
        self.setMaximumWidth(available.width())
        self.resize(min(560, available.width()), min(520, self.maximumHeight()))

"""Importing a model bundle into the app (the "Import model..." action and dropped files): installs it
off the UI thread, and when its name is taken asks whether to replace the imported model of that name,
keep both (the new one under a free name) or cancel. A shipped model is never replaced."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from desktop.runtime.bundle import ARCHIVE_SUFFIX, MANIFEST

from .session import ImportClash, ModelEntry, ModelSession

REPLACE, KEEP_BOTH, CANCEL = "replace", "keep both", "cancel"


def is_bundle_path(path: Path) -> bool:
    """A `.i2i` archive, a bundle's manifest.json, or a folder holding one."""
    return (path.suffix.lower() == ARCHIVE_SUFFIX or path.name == MANIFEST
            or (path.is_dir() and (path / MANIFEST).is_file()))


def name_clash_box(parent: QWidget | None, clash: ImportClash) -> QMessageBox:
    """The question asked on a name clash; each button's `property("answer")` is REPLACE, KEEP_BOTH or CANCEL."""
    owner = "ships with i2i Studio and is kept" if clash.shipped else "was imported before"
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Question)
    box.setWindowTitle("Import model")
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"A model named \"{clash.name}\" {owner}.")
    box.setInformativeText(f"Keep both: the new one is installed as \"{clash.suggestion}\"."
                           + ("" if clash.shipped else f"\nReplace: the imported \"{clash.name}\" is replaced."))
    buttons = [] if clash.shipped else [("Replace", QMessageBox.ButtonRole.DestructiveRole, REPLACE)]
    buttons += [("Keep both", QMessageBox.ButtonRole.AcceptRole, KEEP_BOTH),
                ("Cancel", QMessageBox.ButtonRole.RejectRole, CANCEL)]
    for text, role, answer in buttons:
        button = box.addButton(text, role)
        button.setProperty("answer", answer)
        if answer == KEEP_BOTH:
            box.setDefaultButton(button)
        if answer == CANCEL:
            box.setEscapeButton(button)
    return box


def ask_name_clash(parent: QWidget | None, clash: ImportClash) -> str:
    """Ask (modal) and return REPLACE, KEEP_BOTH or CANCEL."""
    box = name_clash_box(parent, clash)
    box.exec()
    clicked = box.clickedButton()
    return clicked.property("answer") if clicked is not None else CANCEL


class ModelImporter(QObject):
    """Runs one import at a time through the session; `report(message, is_error)` shows the outcome and
    `opened(entry)` is called with the installed model."""

    def __init__(self, session: ModelSession, parent: QWidget, report: Callable[[str, bool], None],
                 opened: Callable[[ModelEntry], None]) -> None:
        super().__init__(parent)
        self.session, self._parent, self._report, self._opened = session, parent, report, opened

    def import_path(self, path: Path, *, overwrite: bool = False, rename_to: str | None = None) -> None:
        """Import a `.i2i` file or a bundle folder (or its manifest.json) in the background, then open it."""
        source = path.parent if path.name == MANIFEST else path
        self._report(f"checking and importing {source.name}...", False)

        def done(entry: ModelEntry) -> None:
            self._report(f"imported {entry.label}", False)
            self._opened(entry)

        def failed(reason: str) -> None:  # BundleError and file-system errors: shown, nothing changes
            self._report(f"could not import {source.name}: {reason}", True)

        def clash(found: ImportClash) -> None:
            answer = ask_name_clash(self._parent, found)
            if answer == REPLACE and not found.shipped:
                self.import_path(source, overwrite=True)
            elif answer == KEEP_BOTH:
                self.import_path(source, rename_to=found.suggestion)
            else:
                self._report(f"not imported: a model named {found.name} exists", False)

        self.session.import_bundle(source, done, failed, clash, overwrite=overwrite, rename_to=rename_to)

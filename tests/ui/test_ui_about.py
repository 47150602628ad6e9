"""The "About model" dialog: a readable summary (training, export machine, parity per precision, licence),
the raw manifest only in a collapsed section, plain text only, and never taller than the screen."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from desktop.runtime.bundle import load_bundle
from desktop.runtime.paths import default_model_name, shipped_models_dir
from desktop.runtime.providers import ProviderInfo
from desktop.ui.about_model import AboutModelDialog, about_text, format_bytes, format_duration

from ui_support import make_settings, open_window

CPU = ProviderInfo(requested="auto", active="cpu")


def shipped_default():
    return load_bundle(next(shipped_models_dir().glob(f"{default_model_name()}.*")))


def test_summary_of_the_shipped_model_reads_as_sentences_not_a_dictionary():
    bundle = shipped_default()
    text = about_text(bundle, CPU)
    lines = text.splitlines()
    provenance, training = bundle.provenance, bundle.provenance["training"]
    assert "{" not in text and "': " not in text  # no raw dictionary dumped
    assert f"trained on: {provenance['dataset']} (" in text
    assert f"training: {provenance['iterations']:,} iterations, {format_duration(training['seconds'])}" in lines
    init = training["init"]  # the default was fine-tuned from an earlier model: it says so
    continued = f"continued from: {init['from']} after its {init['iterations']:,} iterations"
    assert f"{continued} (time and machines include it)" in lines
    for session in training["sessions"]:  # where it trained ...
        assert f"trained on machine: {session['hardware']}" in lines
    assert f"exported on: {provenance['hardware']}, {provenance['created']}" in lines  # ... is not where it exported
    assert not any(line.startswith("hardware:") for line in lines)
    for precision in bundle.verification["max_abs_diff"]:
        assert sum(line.startswith(f"  {precision}: max difference") for line in lines) == 1
    assert "directions: cat -> dog, dog -> cat" in lines
    assert f"file: {format_bytes(bundle.source.stat().st_size)}" in lines
    assert lines[-1] == bundle.license


def test_dialog_fits_the_screen_and_keeps_details_collapsed(qtbot, tmp_path):
    window = open_window(qtbot, make_settings(tmp_path))
    window.show()
    dialog = window.show_about_model()
    qtbot.waitExposed(dialog)
    screen = dialog.screen().availableGeometry()
    assert dialog.frameGeometry().height() <= screen.height() and dialog.height() <= screen.height()
    assert dialog.summary.textFormat() == Qt.TextFormat.PlainText
    assert not dialog.details.isVisible()
    ok = dialog.findChild(QDialogButtonBox).button(QDialogButtonBox.StandardButton.Ok)
    assert ok.isVisible() and dialog.rect().contains(ok.geometry().center())
    dialog.details_button.click()
    qtbot.waitUntil(dialog.details.isVisible)
    assert '"provenance"' in dialog.details.toPlainText()
    assert dialog.height() <= screen.height() and dialog.rect().contains(ok.geometry().center())
    ok.click()
    qtbot.waitUntil(lambda: not dialog.isVisible())


def test_odd_provenance_types_are_skipped_not_raised(tiny_bundles):
    bundle = load_bundle(tiny_bundles["ugatit"])
    bundle.manifest["provenance"] = {"dataset": 3, "images": "many", "training": {"sessions": ["x", {"hardware": 1}]},
                                     "iterations": "lots", "created": ["2026"]}
    bundle.manifest["verification"] = {"max_abs_diff": {"fp32": "tiny"}, "psnr_db": []}
    text = about_text(bundle, CPU)
    assert "trained on" not in text and "exported on" not in text and "training:" not in text
    assert AboutModelDialog(bundle, CPU).summary.text() == text


def test_an_odd_init_record_is_skipped_not_raised(tiny_bundles):
    bundle = load_bundle(tiny_bundles["ugatit"])
    for init in ("cat2dog-munit", {"from": 3, "iterations": 5}, {"from": "a", "iterations": True}, {"from": "a"}):
        bundle.manifest["provenance"] = {"training": {"seconds": 60.0, "init": init}}
        text = about_text(bundle, CPU)
        assert "continued from" not in text and "training: 1 min" in text.splitlines()
    bundle.manifest["provenance"] = {"training": {"init": {"from": "earlier", "iterations": 1234}}}
    assert "continued from: earlier after its 1,234 iterations (time and machines include it)" in about_text(
        bundle, CPU).splitlines()

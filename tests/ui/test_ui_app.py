"""The app's start-up checks and the main window: model picker (broken bundles, untrained labels, import),
direction names, the provider really in use, and settings that survive a new window."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from desktop.runtime.bundle import load_bundle
from desktop.runtime.paths import default_model_name, shipped_models_dir, user_models_dir
from desktop.ui import app
from desktop.ui.about_model import about_text
from desktop.ui.platform_check import XCB_LIBRARIES, display_problem

from ui_support import BROKEN_NAME, close_window, install_models, make_settings, open_window


def test_no_display_gives_one_line_hint():
    message = display_problem(environ={}, platform="linux", find_library=lambda name: "lib.so")
    assert message.startswith("no display found")
    assert "QT_QPA_PLATFORM=offscreen" in message and "\n" not in message


def test_missing_xcb_libraries_name_the_debian_packages():
    present = {"xcb-icccm", "xcb-shape"}
    message = display_problem(environ={"DISPLAY": ":0"}, platform="linux",
                              find_library=lambda name: "x.so" if name in present else None)
    assert "libxcb-cursor0" in message and "libxkbcommon-x11-0" in message
    assert "libxcb-icccm4" not in message and "libxcb-shape0" not in message
    assert message.count("apt-get install") == 1


@pytest.mark.parametrize("environ,platform", [
    ({"QT_QPA_PLATFORM": "offscreen"}, "linux"),   # an explicit platform is trusted
    ({}, "win32"),                                 # Windows and macOS always have a display
    ({"WAYLAND_DISPLAY": "wayland-0"}, "linux"),   # Wayland does not need the xcb libraries
    ({"DISPLAY": ":0"}, "linux"),                  # every xcb library found
])
def test_no_problem_reported_when_a_window_can_open(environ, platform):
    assert display_problem(environ=environ, platform=platform, find_library=lambda name: "x.so") is None


def test_main_exits_with_the_message_instead_of_aborting(monkeypatch, capsys):
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr("sys.platform", "linux")
    assert app.main([]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("i2i-studio: no display found") and len(err.splitlines()) == 1
    assert len(XCB_LIBRARIES) >= 5


def test_model_picker_lists_broken_bundle_and_labels_untrained(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles)
    window = open_window(qtbot, make_settings(tmp_path))  # nothing remembered: the shipped default opens
    labels = window.bar.model_labels()
    broken = [label for label in labels if label.startswith(BROKEN_NAME)]
    assert len(broken) == 1 and "broken" in broken[0]
    combo = window.bar.model_combo
    row = combo.findData(BROKEN_NAME)
    assert not combo.model().item(row).isEnabled()  # listed, not selectable
    error = next(e.error for e in window.session.models if e.name == BROKEN_NAME)
    assert error and combo.model().item(row).toolTip() == error  # the full reason, on hover
    assert error[:40] in broken[0]
    entry = window.session.entry
    assert entry.name == default_model_name() and entry.path.parent == shipped_models_dir()
    assert ("untrained" in combo.currentText().lower()) == entry.untrained
    assert ("untrained" in window.model_status.text().lower()) == entry.untrained
    assert "untrained" in combo.itemText(combo.findData("tiny-munit")).lower()
    directions = [window.bar.direction_combo.itemText(i) for i in range(window.bar.direction_combo.count())]
    assert directions == ["cat -> dog", "dog -> cat"]
    assert window.provider_status.text().startswith("running on cpu, fp32")
    about = about_text(load_bundle(tiny_bundles["munit"]), window.session.translator.provider_info)
    assert "UNTRAINED PLACEHOLDER" in about and "Test fixture, no licence needed." in about


def test_provider_fallback_is_shown(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    combo = window.bar.provider_combo
    first = window.session.translator
    combo.setCurrentIndex(combo.findData("cuda"))  # not in the CPU build used by the tests
    qtbot.waitUntil(lambda: window.session.translator is not first, timeout=20000)
    text = window.bar.provider_label.text()
    assert text.startswith("running on cpu, fp32") and "asked for cuda" in text
    assert window.provider_status.text() == text


def test_settings_persist_across_a_new_window(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles)
    settings = make_settings(tmp_path, model="tiny-munit")
    window = open_window(qtbot, settings)
    combo = window.bar.model_combo
    first = window.session.translator
    combo.setCurrentIndex(combo.findData("tiny-ugatit"))
    qtbot.waitUntil(lambda: window.session.translator is not first, timeout=20000)
    window.bar.direction_combo.setCurrentIndex(1)
    second = window.session.translator
    window.bar.provider_combo.setCurrentIndex(window.bar.provider_combo.findData("cpu"))
    qtbot.waitUntil(lambda: window.session.translator is not second, timeout=20000)
    window.tabs.setCurrentIndex(3)
    window.resize(720, 520)  # fits the offscreen 800x600 screen
    window.close()

    again = open_window(qtbot, make_settings(tmp_path))
    assert again.session.entry.name == "tiny-ugatit"
    assert again.session.direction == "b2a"
    assert again.bar.direction_combo.currentText() == "dog -> cat"
    assert again.tabs.currentIndex() == 3
    assert again.bar.provider_combo.currentData() == "cpu" and again.session.provider == "cpu"
    assert (again.width(), again.height()) == (720, 520)


def test_import_bundle_copies_a_valid_one_and_reports_a_broken_one(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    bad = tmp_path / "bad-bundle"
    shutil.copytree(tiny_bundles["ugatit"], bad)
    next(bad.glob("*.onnx")).write_bytes(b"not onnx")
    window.import_path(bad / "manifest.json")
    qtbot.waitUntil(lambda: "could not import bad-bundle" in window.statusBar().currentMessage(), timeout=20000)
    assert window.bar.model_combo.findData("tiny-ugatit") < 0  # nothing was installed
    window.import_path(tiny_bundles["ugatit"])
    qtbot.waitUntil(lambda: window.session.entry is not None and window.session.entry.name == "tiny-ugatit",
                    timeout=20000)
    assert window.bar.model_combo.findData("tiny-ugatit") >= 0
    assert (user_models_dir() / "tiny-ugatit" / "manifest.json").is_file()


def test_precision_picker_opens_the_int8_variant_and_remembers_it(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))  # the tiny MUNIT has fp16 and int8 variants
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    combo = window.bar.precision_combo
    assert [combo.itemText(i) for i in range(combo.count())] == ["fp32", "fp16", "int8"]
    first = window.session.translator
    combo.textActivated.emit("int8")
    qtbot.waitUntil(lambda: window.session.translator is not first, timeout=20000)
    assert window.session.translator.precision == "int8" and combo.currentText() == "int8"
    assert window.provider_status.text().startswith("running on cpu, int8")
    window.close()
    again = open_window(qtbot, make_settings(tmp_path))
    assert again.session.translator.precision == "int8"


def test_window_without_any_usable_model_stays_usable(qtbot, tmp_path, tiny_bundles, monkeypatch):
    from desktop.ui.main_window import MainWindow

    monkeypatch.setattr("desktop.runtime.paths.shipped_models_dir", lambda: tmp_path / "no-shipped-models")
    install_models(tiny_bundles, families=())  # only the broken bundle
    window = MainWindow(make_settings(tmp_path))
    qtbot.addWidget(window)
    assert window.session.translator is None
    assert window.model_status.text() == "no usable model: import a bundle"
    assert window.bar.model_labels()[0].startswith(f"{BROKEN_NAME} (broken")
    assert window.live.start() is False and window.live.message.text() == "open a model first"
    assert window.mix.canvas is None and window.batch.form.model.count() == 0
    window.file.open_paths([tmp_path / "settings.ini"])  # not an image: refused with a message
    assert window.file.files.count() == 0 and "not an image" in window.file.message.text()


def test_untrained_label_is_added_once():
    from types import SimpleNamespace

    from desktop.ui.session import untrained_label

    assert untrained_label(SimpleNamespace(untrained=True, title="Cat <-> Dog")) == " (untrained placeholder)"
    assert untrained_label(SimpleNamespace(untrained=True, title="Cat <-> Dog (untrained placeholder)")) == ""
    assert untrained_label(SimpleNamespace(untrained=False, title="Cat <-> Dog")) == ""


def test_first_run_shows_the_sample_dogs_translated_into_cats(qtbot, tmp_path):
    settings = make_settings(tmp_path)
    assert settings.first_run()
    window = open_window(qtbot, settings)  # the shipped default model, nothing remembered
    tab = window.file
    qtbot.waitUntil(lambda: len(tab.outputs) == tab.count.value(), timeout=30000)
    assert window.tabs.currentWidget() is tab
    assert window.session.direction == "b2a" and window.bar.direction_combo.currentText() == "dog -> cat"
    assert window.batch.form.direction.currentData() == "b2a"  # a new batch job starts in the same direction
    assert [tab.files.item(i).text() for i in range(tab.files.count())] == ["dog_1.jpg", "dog_2.jpg"]
    assert tab.source_path == shipped_models_dir().parent / "samples" / "dog_1.jpg"
    source = tab.source
    for output in tab.outputs:
        assert output.image.shape == source.shape
        assert np.abs(output.image.astype(int) - source.astype(int)).mean() > 20  # repainted, not passed through
    assert not settings.first_run()


def test_later_runs_keep_the_users_workspace_and_direction_and_open_no_samples(qtbot, tmp_path):
    first = open_window(qtbot, make_settings(tmp_path))
    qtbot.waitUntil(lambda: first.file.files.count() == 2, timeout=30000)
    first.bar.direction_combo.setCurrentIndex(first.bar.direction_combo.findData("a2b"))
    first.tabs.setCurrentWidget(first.batch)
    assert first.batch.form.direction.currentData() == "a2b"
    first.file.samples_button.click()  # cat -> dog now: the button adds the cat samples
    names = [first.file.files.item(i).text() for i in range(first.file.files.count())]
    assert names == ["dog_1.jpg", "dog_2.jpg", "cat_1.jpg", "cat_2.jpg"]
    close_window(first)
    again = open_window(qtbot, make_settings(tmp_path))
    assert again.tabs.currentWidget() is again.batch and again.session.direction == "a2b"
    assert again.file.files.count() == 0

"""File workspace with a real tiny MUNIT/U-GAT-IT and real images: translate, pick a style, save."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QFileDialog, QMessageBox

from desktop.runtime.attention import attention_path, coloured, overlay
from desktop.runtime.style import RandomStyle
from i2i_common.images import ImageWriteError, read_image

from ui_support import install_models, make_settings, open_window


def _cat_images(shared_data, tmp_path, count=2):
    folder = tmp_path / "in"
    folder.mkdir()
    sources = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[:count]
    return [shutil.copy(src, folder / src.name) for src in sources]


def test_translate_pick_a_style_and_save(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    tab = window.file
    window.tabs.setCurrentWidget(tab)
    inputs = [tmp_path.joinpath(p) for p in _cat_images(shared_data, tmp_path)]
    before = inputs[0].read_bytes()
    tab.count.setValue(4)
    tab.open_paths(inputs)
    qtbot.waitUntil(lambda: len(tab.thumbs) == 4, timeout=20000)

    source = read_image(inputs[0])
    outputs = [o.image for o in tab.outputs]
    assert all(o.shape == source.shape and o.dtype == np.uint8 for o in outputs)
    assert not np.array_equal(outputs[0], outputs[1])  # different random styles, different images
    seed, translator = tab.style_panel.seed.value(), window.session.translator
    assert tab.count.isEnabled() and np.array_equal(  # one runtime call gives what translate() gives per style
        outputs[3], translator.translate(source, window.session.direction, RandomStyle(seed + 3)).image)
    assert window.timing_status.text().endswith("ms/image")

    qtbot.mouseClick(tab.thumbs[2], Qt.MouseButton.LeftButton)  # click a style in the grid to select it
    assert tab.selected == 2 and tab.thumbs[2].is_selected() and not tab.thumbs[0].is_selected()
    assert np.array_equal(tab.compare.after(), outputs[2])

    target = tmp_path / "out" / "chosen.png"
    tab.save_selected(target)
    assert np.array_equal(read_image(target), outputs[2])
    with pytest.raises(ImageWriteError, match="already exists"):  # never silently overwrite
        tab.save_selected(target)

    first = tab.save_all(tmp_path / "out")
    second = tab.save_all(tmp_path / "out")
    assert len(first) == len(second) == 4 and not set(first) & set(second)
    assert all(p.is_file() for p in first + second)
    assert inputs[0].read_bytes() == before  # the input is never touched

    tab.split_slider.setValue(25)
    assert tab.compare.split() == 0.25
    window.show()
    qtbot.waitExposed(window)
    area = tab.compare._image_area()  # click three quarters across the image: the divider and slider follow
    qtbot.mouseClick(tab.compare, Qt.MouseButton.LeftButton,
                     pos=QPoint(round(area.x() + 0.75 * area.width()), round(area.center().y())))
    assert abs(tab.compare.split() - 0.75) < 0.02 and abs(tab.split_slider.value() - 75) <= 2


def test_seed_is_reproducible_and_reference_style_gives_one_output(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("munit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    tab = window.file
    inputs = _cat_images(shared_data, tmp_path, count=1)
    tab.count.setValue(2)
    tab.style_panel.seed.setValue(7)
    tab.open_paths(inputs)
    qtbot.waitUntil(lambda: len(tab.outputs) == 2, timeout=20000)
    seven = tab.outputs[0].image
    tab.style_panel.seed.setValue(8)
    qtbot.waitUntil(lambda: tab.outputs[0].label == "seed 8", timeout=20000)
    assert not np.array_equal(tab.outputs[0].image, seven)
    tab.style_panel.seed.setValue(7)
    qtbot.waitUntil(lambda: tab.outputs[0].label == "seed 7", timeout=20000)
    assert np.array_equal(tab.outputs[0].image, seven)

    reference = sorted((shared_data / "cat2dog" / "testB").glob("*.jpg"))[0]
    tab.style_panel.set_reference(reference)
    qtbot.waitUntil(lambda: len(tab.outputs) == 1 and tab.outputs[0].label.startswith("reference"),
                    timeout=20000)
    assert tab.thumbs == []


def test_drop_a_corrupt_file_and_a_model_without_style(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    tab = window.file
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    good = _cat_images(shared_data, tmp_path, count=1)[0]
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(broken)), QUrl.fromLocalFile(str(good))])
    event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    tab.dropEvent(event)
    assert tab.files.count() == 2
    qtbot.waitUntil(lambda: "cannot open broken.jpg" in tab.message.text(), timeout=20000)
    assert tab.outputs == [] and not tab.save_all_button.isEnabled()

    tab.files.setCurrentRow(1)
    qtbot.waitUntil(lambda: len(tab.outputs) == 1, timeout=20000)
    assert not tab.style_panel.isEnabled() and not tab.count.isEnabled()  # U-GAT-IT has no style
    note = tab.style_panel.no_style_note
    assert note.isVisibleTo(tab) and "has no style code" in note.text()
    output = tab.outputs[0]
    assert output.image.shape == read_image(good).shape and output.heatmap.shape == output.image.shape[:2]
    controls = tab.attention  # its attention map can be shown over the output
    assert controls.show_map.isEnabled() and not controls.note.isVisibleTo(tab)
    controls.show_map.setChecked(True)
    controls.opacity.setValue(100)  # the map alone: exactly the coloured heatmap
    assert np.array_equal(tab.compare.after(), coloured(output.heatmap, controls.colours()))
    controls.opacity.setValue(40)
    half = tab.compare.after()
    assert half.shape == output.image.shape and not np.array_equal(half, output.image)
    controls.colour_map.setCurrentText("viridis")
    assert not np.array_equal(tab.compare.after(), half)
    assert window.settings.attention() == ("viridis", 0.4)  # remembered for the next run
    tab.files.setCurrentRow(0)  # another file and back: the overlay stays on for the next result
    qtbot.waitUntil(lambda: tab.outputs == [], timeout=20000)
    tab.files.setCurrentRow(1)
    qtbot.waitUntil(lambda: len(tab.outputs) == 1, timeout=20000)
    output = tab.outputs[0]
    assert np.array_equal(tab.compare.after(), overlay(output.image, output.heatmap, 0.4, "viridis"))
    controls.show_map.setChecked(False)
    assert np.array_equal(tab.compare.after(), output.image)

    saved = tab.save_selected(tmp_path / "saved" / "anime.png")  # the result and its map beside it
    assert [p.name for p in saved] == ["anime.png", "anime.attention.png"]
    assert np.array_equal(read_image(saved[0]), output.image)
    assert np.array_equal(read_image(saved[1]), coloured(output.heatmap, "viridis"))
    both = tab.save_all(tmp_path / "saved")  # never overwrites either file
    assert len(both) == 2 and not set(both) & set(saved) and both[1] == attention_path(both[0])


def test_tunit_offers_typical_and_reference_styles_but_no_random_draws(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=("tunit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-tunit"))
    directions = [window.bar.direction_combo.itemText(i) for i in range(window.bar.direction_combo.count())]
    assert directions[0] == "any image -> cluster 0"
    panel = window.file.style_panel
    assert not panel.buttons["random"].isEnabled() and panel.mode() == "typical"
    assert not window.mix.buttons["random"].isEnabled() and window.mix.buttons["typical"].isEnabled()
    tab = window.file
    tab.open_paths(_cat_images(shared_data, tmp_path, count=1))
    qtbot.waitUntil(lambda: len(tab.outputs) == 1, timeout=20000)
    assert tab.outputs[0].label == "typical style" and not tab.count.isEnabled()  # no random draws

    form = window.batch.form
    form.input_dir.setText(str(tmp_path / "in"))
    form.output_dir.setText(str(tmp_path / "out"))
    form.style.setCurrentIndex(form.style.findData("random"))
    with pytest.raises(ValueError, match="no random styles"):
        form.spec()
    form.style.setCurrentIndex(form.style.findData("typical"))
    spec = form.spec()
    assert spec.style.kind == "typical"
    window.batch.add_job(spec)  # and the job runs with it
    qtbot.waitUntil(lambda: window.batch.table.item(0, 3).text() == "done", timeout=20000)
    assert len(list((tmp_path / "out").glob("*.png"))) == 1


def test_save_into_an_unwritable_folder_says_so_and_keeps_the_outputs(qtbot, tmp_path, tiny_bundles, shared_data,
                                                                       monkeypatch):
    install_models(tiny_bundles, families=("ugatit",))
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-ugatit"))
    tab = window.file
    tab.open_paths(_cat_images(shared_data, tmp_path, count=1))
    qtbot.waitUntil(lambda: len(tab.outputs) == 1, timeout=20000)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")  # root can write anywhere; a file in the path cannot be got round
    warnings = []
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *args: str(blocker / "out"))
    monkeypatch.setattr(QMessageBox, "warning", lambda parent, title, text: warnings.append(text))
    qtbot.mouseClick(tab.save_all_button, Qt.MouseButton.LeftButton)
    assert tab.message.text().startswith("not saved:") and len(warnings) == 1
    assert len(tab.outputs) == 1 and tab.save_all_button.isEnabled()


def test_damaged_attention_settings_fall_back_to_the_defaults(tmp_path):
    (tmp_path / "settings.ini").write_text("[attention]\ncolours=plaid\nopacity=lots\n", encoding="utf-8")
    settings = make_settings(tmp_path)
    assert settings.attention() == ("jet", 0.5)  # an unknown colour map and a non-number: the defaults
    settings.set_attention("turbo", 7.0)
    assert make_settings(tmp_path).attention() == ("turbo", 1.0)  # out of range: clipped

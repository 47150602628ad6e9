"""The Domains panel (desktop/ui/cluster_browser.py) with the committed tiny TUNIT: its clusters with sizes and
exemplars, names that persist and flow into every direction label, choosing the target, rating images, an older
bundle without exemplars, damaged arrays, and models without clusters."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog

from desktop.runtime.clusters import EXEMPLARS, SIZES
from desktop.runtime.paths import user_models_dir
from desktop.ui.about_model import about_text
from devkit.bundle_mutants import drop_arrays, edit_array

from ui_support import install_models, make_settings, open_window


def cat_photo(shared_data, tmp_path, index=0):
    source = sorted((shared_data / "cat2dog" / "testA").glob("*.jpg"))[index]
    return shutil.copy(source, tmp_path / source.name)


def direction_texts(combo) -> list[str]:
    return [combo.itemText(i) for i in range(combo.count())]


@pytest.fixture
def window(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("tunit", "munit"))
    return open_window(qtbot, make_settings(tmp_path, model="tiny-tunit"))


def test_the_panel_lists_each_cluster_with_its_size_and_exemplars(window):
    panel = window.domains
    assert window.domains_dock.isVisibleTo(window)
    assert [row.cluster.id for row in panel.rows] == ["c0", "c1", "c2"]
    assert [row.name.text() for row in panel.rows] == ["cluster 0", "cluster 1", "cluster 2"]
    assert [row.size.text() for row in panel.rows] == ["9 images (60%)", "4 images (27%)", "2 images (13%)"]
    assert [len(row.thumbs) for row in panel.rows] == [3, 3, 2]  # the tiny bundle's third cluster has two images
    pixmap = panel.rows[0].thumbs[0].pixmap()
    assert not pixmap.isNull() and pixmap.width() == 44
    colour = pixmap.toImage().pixelColor(40, 40)  # cluster 0's exemplars are red ramps (devkit/bundle_factory.py)
    assert colour.red() > 150 and colour.green() < 120 and colour.blue() < 120
    assert "3 clusters found without labels among 15 training images" in panel.header.text()
    assert panel.target_index() == 0 and panel.rows[0].target.isChecked()


def test_choosing_a_cluster_sets_the_direction_and_the_panel_follows_other_pickers(window, qtbot):
    panel, session = window.domains, window.session
    qtbot.mouseClick(panel.rows[2].target, Qt.MouseButton.LeftButton)
    assert session.direction == "to_c2" and window.bar.direction_combo.currentData() == "to_c2"
    assert window.batch.form.direction.currentData() == "to_c2"  # a new batch job follows too
    assert [row.target.isChecked() for row in panel.rows] == [False, False, True]
    qtbot.mouseClick(panel.rows[1].thumbs[0], Qt.MouseButton.LeftButton)  # a click on the row chooses it too
    assert session.direction == "to_c1"
    window.bar.direction_combo.setCurrentIndex(window.bar.direction_combo.findData("to_c0"))
    assert panel.target_index() == 0 and [row.target.isChecked() for row in panel.rows] == [True, False, False]


def test_a_name_persists_for_the_bundle_and_shows_in_every_direction_label(qtbot, window, tmp_path):
    panel = window.domains
    row = panel.rows[1]
    row.name.setText("fluffy cats")
    row.name.editingFinished.emit()
    expected = ["any image -> cluster 0", "any image -> fluffy cats", "any image -> cluster 2"]
    assert direction_texts(window.bar.direction_combo) == expected
    assert direction_texts(window.batch.form.direction) == expected
    translator = window.session.translator
    about = about_text(translator.bundle, translator.provider_info, dict(window.session.entry.names))
    assert "domains: cluster 0, fluffy cats (cluster 1), cluster 2" in about
    assert "any image -> fluffy cats" in about
    panel.rename(2, "  \x1b[31mstripes\n ")  # cleaned as a bundle's names are
    assert panel.rows[2].name.text() == "stripes"
    window.close()

    again = open_window(qtbot, make_settings(tmp_path))  # a new Settings object and window read them back
    assert [row.name.text() for row in again.domains.rows] == ["cluster 0", "fluffy cats", "stripes"]
    assert direction_texts(again.bar.direction_combo)[1:] == ["any image -> fluffy cats", "any image -> stripes"]
    again.domains.rename(1, "")  # an empty name gives back the bundle's
    assert direction_texts(again.bar.direction_combo)[1] == "any image -> cluster 1"
    assert make_settings(tmp_path).domain_names("tiny-tunit") == {"c2": "stripes"}


def test_an_image_opened_in_file_shows_its_cluster_probabilities(window, qtbot, tmp_path, shared_data, monkeypatch):
    panel, tab = window.domains, window.file
    assert all(not row.probability.isVisibleTo(panel) for row in panel.rows)
    photo = cat_photo(shared_data, tmp_path)
    tab.open_paths([photo])
    qtbot.waitUntil(lambda: panel.probabilities is not None, timeout=20000)
    probabilities = panel.probabilities
    assert probabilities.shape == (3,) and np.isclose(probabilities.sum(), 1.0, atol=1e-5)
    np.testing.assert_allclose(probabilities, window.session.translator.classify(tab.source), atol=1e-6)
    bars = [row.probability.value() / 1000 for row in panel.rows]
    assert all(row.probability.isVisibleTo(panel) for row in panel.rows)
    np.testing.assert_allclose(bars, probabilities, atol=1e-3)
    best = int(np.argmax(probabilities))
    assert panel.result.text() == f"{photo.name}: most likely cluster {best} ({probabilities[best]:.0%})"

    other = cat_photo(shared_data, tmp_path, index=5)  # the panel's own button rates a picked image
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *args: (str(other), ""))
    qtbot.mouseClick(panel.classify_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.result.text().startswith(other.name), timeout=20000)
    assert not np.array_equal(panel.probabilities, probabilities)
    (tmp_path / "broken.jpg").write_bytes(b"not an image")
    panel.classify_path(tmp_path / "broken.jpg")
    qtbot.waitUntil(lambda: panel.result.text().startswith("cannot open broken.jpg"), timeout=20000)


def test_random_styles_are_not_offered_and_the_reason_shows(window):
    style = window.file.style_panel
    assert not style.buttons["random"].isEnabled() and style.buttons["reference"].isEnabled()
    assert style.no_style_note.isVisibleTo(style) and "no random styles" in style.no_style_note.text()
    assert "no style prior" in window.mix.buttons["random"].toolTip()


def test_an_older_bundle_without_sizes_or_exemplars_still_works(qtbot, tmp_path, tiny_bundles, shared_data):
    install_models(tiny_bundles, families=())
    drop_arrays(shutil.copytree(tiny_bundles["tunit"], user_models_dir() / "tiny-tunit"), SIZES, EXEMPLARS)
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-tunit"))
    panel = window.domains
    assert window.domains_dock.isVisibleTo(window) and len(panel.rows) == 3
    assert all(row.size.text() == "size not recorded" and row.thumbs == [] for row in panel.rows)
    assert panel.header.text().startswith("3 clusters found without labels. ")
    panel.choose(1)
    assert window.session.direction == "to_c1"
    window.file.open_paths([cat_photo(shared_data, tmp_path)])
    qtbot.waitUntil(lambda: panel.probabilities is not None and bool(window.file.outputs), timeout=20000)
    assert np.isclose(panel.probabilities.sum(), 1.0, atol=1e-5)


def test_damaged_cluster_arrays_are_refused_with_a_clear_message(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    damaged = shutil.copytree(tiny_bundles["tunit"], user_models_dir() / "tiny-tunit")
    edit_array(damaged, f"{SIZES}.npy", lambda sizes: -sizes)
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    window.bar.model_combo.setCurrentIndex(window.bar.model_combo.findData("tiny-tunit"))
    qtbot.waitUntil(lambda: "could not open tiny-tunit" in window.statusBar().currentMessage(), timeout=20000)
    message = window.statusBar().currentMessage()
    assert "array cluster_sizes holds a negative count" in message and "\n" not in message
    assert window.session.entry.name == "tiny-munit" and not window.domains_dock.isVisibleTo(window)


def test_models_without_clusters_hide_the_panel_which_explains_itself(window, qtbot):
    first = window.session.translator
    window.bar.model_combo.setCurrentIndex(window.bar.model_combo.findData("tiny-munit"))
    qtbot.waitUntil(lambda: window.session.translator is not first, timeout=20000)
    panel = window.domains
    assert not window.domains_dock.isVisibleTo(window) and panel.rows == []
    assert "fixed domains" in panel.header.text() and not panel.classify_button.isEnabled()
    assert direction_texts(window.bar.direction_combo) == ["cat -> dog", "dog -> cat"]

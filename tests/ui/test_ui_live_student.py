"""Live runs the open model's distilled student on a CPU ("fast model"), says so, and switches back to the full
model on request (remembered); a model without a student runs as it is. Real tiny bundles, a generated video."""
from __future__ import annotations

import json
import shutil

from desktop.runtime.bundle import MANIFEST
from desktop.runtime.paths import user_models_dir

from ui_support import install_models, make_settings, open_window, write_video


def _install_student(tiny_bundles, teacher: str = "tiny-munit") -> None:
    """A copy of the tiny MUNIT named as a student of ``teacher`` (same family and directions)."""
    target = user_models_dir() / "tiny-munit-fast"
    shutil.copytree(tiny_bundles["munit"], target)
    manifest = json.loads((target / MANIFEST).read_text(encoding="utf-8"))
    manifest.update(name="tiny-munit-fast", title="Tiny fast student", student_of=teacher)
    (target / MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")


def test_live_runs_the_student_on_cpu_and_switches_back_to_the_full_model(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit", "ugatit"))
    _install_student(tiny_bundles)
    settings = make_settings(tmp_path, model="tiny-munit")
    window = open_window(qtbot, settings)
    tab, choice = window.live, window.live.model_choice
    qtbot.waitUntil(lambda: choice.student is not None, timeout=20000)
    assert not choice.fast_box.isHidden() and choice.fast_box.isChecked()
    assert choice.note.text() == "fast model: Tiny fast student (student of tiny-munit)"

    tab.set_video(write_video(tmp_path / "clip.mp4", frames=300))
    assert tab.start()
    assert tab.pipeline.translator is choice.student and choice.note.text().startswith("fast model: ")
    qtbot.waitUntil(lambda: tab.frames_shown >= 2, timeout=20000)

    choice.fast_box.setChecked(False)  # back to the full model: Live restarts on it
    assert tab.pipeline is not None and tab.pipeline.translator is window.session.translator
    assert choice.note.text().startswith("full model: ")
    qtbot.waitUntil(lambda: tab.frames_shown >= 4, timeout=20000)
    tab.stop()
    assert settings.live_fast_model() is False  # remembered

    combo = window.bar.model_combo
    combo.setCurrentIndex(combo.findData("tiny-ugatit"))  # no student: the box hides, the full model runs
    qtbot.waitUntil(lambda: window.session.translator.bundle.name == "tiny-ugatit", timeout=20000)
    assert choice.fast_box.isHidden() and choice.student is None and choice.note.text() == ""
    assert choice.for_live(window.session.translator) is window.session.translator


def test_a_student_of_another_model_is_not_picked(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    _install_student(tiny_bundles, teacher="some-other-model")
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    choice = window.live.model_choice
    choice.runner.wait()
    assert choice.student is None and choice.fast_box.isHidden() and choice.note.text() == ""
    assert choice.for_live(window.session.translator) is window.session.translator


def test_a_damaged_student_is_not_offered_and_live_runs_the_full_model(qtbot, tmp_path, tiny_bundles):
    install_models(tiny_bundles, families=("munit",))
    _install_student(tiny_bundles)
    graph = sorted((user_models_dir() / "tiny-munit-fast").glob("*.onnx"))[0]
    graph.write_bytes(b"not an onnx graph")  # a damaged student; the teacher is untouched
    window = open_window(qtbot, make_settings(tmp_path, model="tiny-munit"))
    choice = window.live.model_choice
    choice.runner.wait()
    qtbot.wait(50)  # the background result is delivered on the UI thread
    assert choice.student is None and choice.fast_box.isHidden() and choice.note.text() == ""
    assert choice.for_live(window.session.translator) is window.session.translator
    assert graph.read_bytes() == b"not an onnx graph"  # the library leaves the broken bundle as it is

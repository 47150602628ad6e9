"""Helpers shared by the tests/ui/test_ui_*.py files: install tiny real bundles (plus a broken one) into the
isolated user folder, settings in a temporary INI file, and a main window that has opened its model."""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import cv2
import numpy as np
from PySide6.QtCore import QSettings

from desktop.runtime.paths import user_models_dir
from desktop.ui.settings import Settings

BROKEN_NAME = "broken-model"


def install_models(tiny_bundles: dict[str, Path], families=("munit", "ugatit", "tunit")) -> Path:
    """Copy tiny bundles into the (per-test) user models folder and add one with a bad manifest."""
    models = user_models_dir()
    models.mkdir(parents=True, exist_ok=True)
    for family in families:
        shutil.copytree(tiny_bundles[family], models / tiny_bundles[family].name)
    broken = models / BROKEN_NAME
    broken.mkdir()
    (broken / "manifest.json").write_text(json.dumps({"schema_version": 1, "name": "broken"}), encoding="utf-8")
    return models


def write_video(path: Path, frames: int = 30, size: tuple[int, int] = (96, 64)) -> Path:
    """A short MP4 of an orange disc moving across black (a webcam stand-in for the Live tests)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    assert writer.isOpened()
    for i in range(frames):
        frame = np.zeros((size[1], size[0], 3), np.uint8)
        cv2.circle(frame, (8 + 2 * i, size[1] // 2), 10, (40, 200, 255), -1)
        writer.write(frame)
    writer.release()
    return path


def make_settings(folder: Path, model: str | None = None) -> Settings:
    """Settings stored in an INI file under `folder` (never the user's real settings); `model` makes
    that bundle the remembered one, so the window opens it instead of the shipped default."""
    settings = Settings(QSettings(str(folder / "settings.ini"), QSettings.Format.IniFormat))
    if model is not None:
        settings.set_model(model)
    return settings


def open_window(qtbot, settings: Settings, timeout: int = 20000):
    """A MainWindow whose model has been opened (translator ready)."""
    from desktop.ui.main_window import MainWindow

    window = MainWindow(settings)
    qtbot.addWidget(window)
    qtbot.waitUntil(lambda: window.session.translator is not None, timeout=timeout)
    return window


def close_window(window) -> None:
    window.close()


class SlowTranslator:
    """A real translator that takes `delay_s` longer per image: the model is slower than the source,
    so the live queue must drop frames and a batch pause lands mid-job."""

    def __init__(self, inner, delay_s: float = 0.05):
        self._inner, self._delay = inner, delay_s

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def translate(self, *args, **kwargs):
        time.sleep(self._delay)
        return self._inner.translate(*args, **kwargs)

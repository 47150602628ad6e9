"""Where i2i Studio keeps things: the user's data folder, installed models and the shipped ones."""
from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "i2i-studio"
HOME_ENV = "I2I_STUDIO_HOME"


def user_data_dir() -> Path:
    """The per-user data folder (not created here).

    ``$I2I_STUDIO_HOME`` wins; otherwise the platform convention: ``%APPDATA%\\i2i-studio`` on Windows,
    ``~/Library/Application Support/i2i-studio`` on macOS, ``$XDG_DATA_HOME/i2i-studio``
    (default ``~/.local/share/i2i-studio``) elsewhere.
    """
    override = os.environ.get(HOME_ENV)
    if override:
        return Path(override).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("APPDATA") or Path.home() / "AppData" / "Roaming")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / APP_DIR_NAME


def user_models_dir() -> Path:
    """Bundles the user installed (``i2i models``, the app's "Import model")."""
    return user_data_dir() / "models"


def cache_dir() -> Path:
    """Scratch space the app may delete at any time (extracted ``.i2i`` archives)."""
    return user_data_dir() / "cache"


def shipped_models_dir() -> Path:
    """Bundles shipped with the program: ``<repo>/resources/models``."""
    return Path(__file__).resolve().parents[2] / "resources" / "models"


def default_model_name() -> str:
    """The bundle the app opens when the user has not chosen one."""
    return "cat2dog-munit"


def default_direction(model: str) -> str:
    """The direction a model opens in before the user has picked one: dog -> cat ("b2a") for the default
    cat/dog model, the translation the app is known for; "" (the model's first direction) for the others."""
    return "b2a" if model == default_model_name() else ""

"""What the app remembers between runs (QSettings), behind named accessors instead of loose string keys."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings

from desktop.runtime.attention import COLOUR_MAPS, DEFAULT_COLOUR_MAP, DEFAULT_OPACITY
from desktop.runtime.bundle.manifest import DOMAIN_NAME_LIMIT
from desktop.runtime.bundle.text import clean_text

ORGANIZATION = "i2i-studio"
APPLICATION = "i2i-studio"


class Settings:
    """Last model, direction, provider, camera, attention overlay, the user's domain names, folders and window
    geometry."""

    def __init__(self, qsettings: QSettings | None = None) -> None:
        self._q = qsettings or QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                                         ORGANIZATION, APPLICATION)

    def _get(self, key: str, default: str = "") -> str:
        value = self._q.value(key, default)
        return default if value is None else str(value)

    def _set(self, key: str, value: object) -> None:
        self._q.setValue(key, value)

    def first_run(self) -> bool:
        """True until the app has remembered anything: a fresh install, or settings that were reset."""
        return not self._q.allKeys()

    def sync(self) -> None:
        self._q.sync()

    # model ------------------------------------------------------------------------------------------
    def model(self) -> str:
        return self._get("model/name")

    def set_model(self, name: str) -> None:
        self._set("model/name", name)

    def direction(self, model: str) -> str:
        return self._get(f"model/direction/{model}")

    def set_direction(self, model: str, direction: str) -> None:
        self._set(f"model/direction/{model}", direction)

    def domain_names(self, model: str) -> dict[str, str]:
        """The names the user gave domains of `model` (domain id -> name), cleaned as a bundle's names are."""
        self._q.beginGroup(f"names/{model}")
        try:
            stored = {key: self._q.value(key) for key in self._q.childKeys()}
        finally:
            self._q.endGroup()
        cleaned = {key: clean_domain_name(value) for key, value in stored.items() if isinstance(value, str)}
        return {key: name for key, name in cleaned.items() if name}

    def set_domain_name(self, model: str, domain: str, name: str) -> None:
        """Call `domain` of `model` `name` from now on; an empty name forgets it (the bundle's own name shows)."""
        name = clean_domain_name(name)
        if name:
            self._set(f"names/{model}/{domain}", name)
        else:
            self._q.remove(f"names/{model}/{domain}")

    def live_fast_model(self) -> bool:
        """Whether Live runs the open model's distilled student on a CPU when it has one (default: yes)."""
        return self._get("live/fast_model", "true").lower() != "false"

    def set_live_fast_model(self, on: bool) -> None:
        self._set("live/fast_model", "true" if on else "false")

    def provider(self) -> str:
        return self._get("model/provider", "auto")

    def set_provider(self, provider: str) -> None:
        self._set("model/provider", provider)

    def precision(self) -> str:
        return self._get("model/precision", "fp32")

    def set_precision(self, precision: str) -> None:
        self._set("model/precision", precision)

    # live -------------------------------------------------------------------------------------------
    def camera(self) -> int:
        try:
            return int(self._get("live/camera", "0"))
        except ValueError:
            return 0

    def set_camera(self, index: int) -> None:
        self._set("live/camera", int(index))

    def resolution(self) -> str:
        return self._get("live/resolution", "640x480")

    def set_resolution(self, text: str) -> None:
        self._set("live/resolution", text)

    # attention maps (File and Live) -------------------------------------------------------------------
    def attention(self) -> tuple[str, float]:
        """(colour map, opacity 0-1) of the attention overlay."""
        colour_map = self._get("attention/colours", DEFAULT_COLOUR_MAP)
        try:
            opacity = min(max(float(self._get("attention/opacity", str(DEFAULT_OPACITY))), 0.0), 1.0)
        except ValueError:
            opacity = DEFAULT_OPACITY
        return (colour_map if colour_map in COLOUR_MAPS else DEFAULT_COLOUR_MAP), opacity

    def set_attention(self, colour_map: str, opacity: float) -> None:
        self._set("attention/colours", colour_map)
        self._set("attention/opacity", round(float(opacity), 2))

    # folders ----------------------------------------------------------------------------------------
    def folder(self, purpose: str) -> str:
        """Last folder used for ``purpose`` (open, save, batch-in, batch-out, import, video...)."""
        return self._get(f"folders/{purpose}", str(Path.home()))

    def set_folder(self, purpose: str, folder: str | Path) -> None:
        path = Path(folder)
        self._set(f"folders/{purpose}", str(path if path.is_dir() else path.parent))

    # window -----------------------------------------------------------------------------------------
    def geometry(self) -> QByteArray | None:
        value = self._q.value("window/geometry")
        return value if isinstance(value, QByteArray) else None

    def set_geometry(self, data: QByteArray) -> None:
        self._set("window/geometry", data)

    def workspace(self) -> int:
        try:
            return int(self._get("window/workspace", "0"))
        except ValueError:
            return 0

    def set_workspace(self, index: int) -> None:
        self._set("window/workspace", int(index))


def clean_domain_name(name: str) -> str:
    """A domain name as the app shows it: one line, no control or bidi characters, at most 64 characters."""
    return clean_text(name, DOMAIN_NAME_LIMIT).strip()

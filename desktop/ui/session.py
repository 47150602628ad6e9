"""The model the whole window works with: the bundle list, the open translator, the direction, the
provider really in use and the Mix canvas blend that Live and File can use. Loading runs off the UI thread."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.runtime.bundle import BundleNameClash, find_bundles, install_bundle, load_bundle, suggest_free_name
from desktop.runtime.paths import default_model_name, shipped_models_dir
from desktop.runtime.translators import capabilities_of, open_translator

from .tasks import TaskRunner


@dataclass(frozen=True)
class ModelEntry:
    """One line of the model picker: a loadable bundle, or a broken one with its error."""

    name: str
    label: str
    path: Path
    untrained: bool = False
    error: str | None = None
    directions: tuple[tuple[str, str], ...] = ()  # (direction id, "cat -> dog")
    has_style: bool = False  # the model's capabilities (see desktop.runtime.translators.Capabilities)
    random_styles: bool = False
    shipped: bool = False  # ships with the app (else the user imported it)


@dataclass(frozen=True)
class ImportClash:
    """An import stopped because its name is taken: by a shipped model (never replaced) or an imported one."""

    name: str
    shipped: bool
    suggestion: str  # a free name to keep both under


def untrained_label(bundle) -> str:
    """" (untrained placeholder)" for bundles made from random weights, unless the title says so already."""
    said = "untrained" in (bundle.title or "").lower()
    return " (untrained placeholder)" if bundle.untrained and not said else ""


def direction_label(bundle, direction) -> str:
    """"cat -> dog", from the bundle's domain names ("any image -> cluster 3" for TUNIT)."""
    names = {d.id: d.name for d in bundle.domains}
    source = "any image" if direction.source == "*" else names.get(direction.source, direction.source)
    return f"{source} -> {names.get(direction.target, direction.target)}"


def model_label(bundle, shipped: bool) -> str:
    """The picker's text: the title, marked when untrained, and "(imported)" for the user's own models."""
    return f"{bundle.title or bundle.name}{untrained_label(bundle)}{'' if shipped else ' (imported)'}"


def list_models() -> list[ModelEntry]:
    """Shipped and user bundles, broken ones included with their error (never raised)."""
    scan = find_bundles()
    shipped = shipped_models_dir().resolve()
    entries = []
    for b in scan.bundles:
        is_shipped = b.source.resolve().parent == shipped
        can = capabilities_of(b)
        entries.append(ModelEntry(b.name, model_label(b, is_shipped), b.source, untrained=b.untrained,
                                  directions=tuple((d.id, direction_label(b, d)) for d in b.directions),
                                  has_style=can.styles, random_styles=can.random_styles, shipped=is_shipped))
    for path, error in sorted(scan.errors.items()):
        short = error if len(error) <= 90 else error[:87] + "..."
        entries.append(ModelEntry(path.name, f"{path.name} (broken: {short})", path, error=error))
    return entries


class ModelSession(QObject):
    """Signals: modelsChanged(list[ModelEntry]), translatorChanged(translator or None),
    loadFailed(message), directionChanged(direction id), blendChanged(MixStyle or None),
    timingReported(ms per image), busyChanged(bool)."""

    modelsChanged = Signal(list)
    translatorChanged = Signal(object)
    loadFailed = Signal(str)
    directionChanged = Signal(str)
    blendChanged = Signal(object)
    timingReported = Signal(float)
    busyChanged = Signal(bool)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self.models: list[ModelEntry] = []
        self.translator = None
        self.entry: ModelEntry | None = None
        self.direction = ""
        self.provider = "auto"
        self.precision = "fp32"
        self.blend = None  # desktop.runtime.style.MixStyle set by the Mix canvas
        self.blend_key: tuple[str, str] | None = None  # (model name, direction) the blend's codes belong to

    # models -----------------------------------------------------------------------------------------
    def refresh(self) -> list[ModelEntry]:
        self.models = list_models()
        self.modelsChanged.emit(self.models)
        return self.models

    def entry_named(self, name: str) -> ModelEntry | None:
        return next((e for e in self.models if e.name == name and e.error is None), None)

    def default_entry(self, preferred: str = "") -> ModelEntry | None:
        """The preferred (remembered) model, else the shipped default, else the first usable one."""
        for name in (preferred, default_model_name()):
            entry = self.entry_named(name) if name else None
            if entry is not None:
                return entry
        return next((e for e in self.models if e.error is None), None)

    def import_bundle(self, source: Path, on_done: Callable[[ModelEntry], None], on_error: Callable[[str], None],
                      on_clash: Callable[[ImportClash], None], *, overwrite: bool = False,
                      rename_to: str | None = None) -> None:
        """Validate (graphs included) and copy a bundle into the user's models folder off the UI thread,
        then list the models again. `on_error` gets the BundleError's one-line reason; a taken name goes to
        `on_clash` instead (ask, then call again with `overwrite` or `rename_to`)."""

        def work() -> tuple[str, list[ModelEntry]] | ImportClash:
            try:
                name = install_bundle(source, overwrite=overwrite, rename_to=rename_to).name
            except BundleNameClash as clash:
                return ImportClash(clash.name, clash.shipped, suggest_free_name(clash.name))
            return name, list_models()

        def done(result: tuple[str, list[ModelEntry]] | ImportClash) -> None:
            if isinstance(result, ImportClash):
                on_clash(result)
                return
            name, self.models = result
            self.modelsChanged.emit(self.models)
            on_done(self.entry_named(name))

        self._runner.submit(work, done, on_error)

    # translator -------------------------------------------------------------------------------------
    def open(self, entry: ModelEntry, provider: str | None = None, direction: str = "",
             precision: str | None = None) -> None:
        """Open the bundle's translator (sessions + warm-up) in the background. A precision the bundle
        lacks falls back to fp32 inside the translator, which says so in `precision_note`."""
        self.provider = provider or self.provider
        self.precision = precision or self.precision
        chosen_provider, chosen_precision = self.provider, self.precision
        self.busyChanged.emit(True)

        def load():
            return open_translator(load_bundle(entry.path), provider=chosen_provider, precision=chosen_precision)

        def done(translator) -> None:
            self.entry, self.translator = entry, translator
            ids = [d.id for d in translator.bundle.directions]
            self.direction = direction if direction in ids else ids[0]
            self.busyChanged.emit(False)
            self.translatorChanged.emit(translator)
            self.directionChanged.emit(self.direction)

        def failed(message: str) -> None:
            self.busyChanged.emit(False)
            self.loadFailed.emit(f"could not open {entry.name}: {message}")

        self._runner.submit(load, done, failed, latest_only="model")

    def set_direction(self, direction: str) -> None:
        if direction != self.direction:
            self.direction = direction
            self.directionChanged.emit(direction)

    def set_blend(self, blend) -> None:
        """Make `blend` (a MixStyle of the current model and direction) available to Live, File and Batch."""
        self.blend = blend
        self.blend_key = (self.entry.name, self.direction) if blend is not None and self.entry else None
        self.blendChanged.emit(blend)

    def blend_for(self, model: str, direction: str):
        """The Mix blend if it was made for this model and direction (style codes are per domain), else None."""
        return self.blend if self.blend_key == (model, direction) else None

    def current_blend(self):
        return self.blend_for(self.entry.name, self.direction) if self.entry else None

    def report_timing(self, ms: float) -> None:
        self.timingReported.emit(float(ms))

    # naming -----------------------------------------------------------------------------------------
    def source_domain(self) -> str:
        """The current direction's source domain name ("dog" for dog -> cat); "" before a model is open and
        for TUNIT, whose source is any image."""
        if self.translator is None:
            return ""
        bundle = self.translator.bundle
        source = next((d.source for d in bundle.directions if d.id == self.direction), "")
        return next((d.name for d in bundle.domains if d.id == source), "")

    def has_style(self) -> bool:
        return bool(self.translator is not None and self.translator.capabilities.styles)

"""The model the whole window works with: the bundle list, the open translator, the direction, the
provider really in use and the Mix canvas blend that Live and File can use. Loading runs off the UI thread."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from desktop.runtime.bundle import (
    BundleNameClash,
    Direction,
    Domain,
    find_bundles,
    install_bundle,
    load_bundle,
    suggest_free_name,
)
from desktop.runtime.paths import default_model_name, shipped_models_dir
from desktop.runtime.translators import capabilities_of, open_translator

from .settings import Settings
from .tasks import TaskRunner


@dataclass(frozen=True)
class ModelEntry:
    """One line of the model picker: a loadable bundle, or a broken one with its error."""

    name: str
    label: str
    path: Path
    untrained: bool = False
    error: str | None = None
    domains: tuple[Domain, ...] = ()
    routes: tuple[Direction, ...] = ()  # the bundle's directions
    names: tuple[tuple[str, str], ...] = ()  # (domain id, name) the user gave domains, shown instead of the bundle's
    has_style: bool = False  # the model's capabilities (see desktop.runtime.translators.Capabilities)
    random_styles: bool = False
    shipped: bool = False  # ships with the app (else the user imported it)

    @property
    def directions(self) -> tuple[tuple[str, str], ...]:
        """(direction id, "cat -> dog") for each direction, named with the user's domain names where given."""
        return tuple((d.id, direction_label(self, d, dict(self.names))) for d in self.routes)

    def domain_name(self, domain_id: str) -> str:
        """What the user sees for a domain: their name for it, else the bundle's."""
        return shown_names(self.domains, dict(self.names)).get(domain_id, domain_id)


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


def shown_names(domains, names: Mapping[str, str] | None = None) -> dict[str, str]:
    """Domain id -> the name shown: the user's (`names`) where given, else the bundle's."""
    return {d.id: (names or {}).get(d.id) or d.name for d in domains}


def direction_label(bundle, direction, names: Mapping[str, str] | None = None) -> str:
    """"cat -> dog", from the bundle's domain names or the user's `names` for them ("any image -> cluster 3" for
    TUNIT, "any image -> fluffy cats" once the user named cluster 3)."""
    shown = shown_names(bundle.domains, names)
    source = "any image" if direction.source == "*" else shown.get(direction.source, direction.source)
    return f"{source} -> {shown.get(direction.target, direction.target)}"


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
                                  domains=tuple(b.domains), routes=tuple(b.directions),
                                  has_style=can.styles, random_styles=can.random_styles, shipped=is_shipped))
    for path, error in sorted(scan.errors.items()):
        short = error if len(error) <= 90 else error[:87] + "..."
        entries.append(ModelEntry(path.name, f"{path.name} (broken: {short})", path, error=error))
    return entries


class ModelSession(QObject):
    """Signals: modelsChanged(list[ModelEntry]; also when the user renames a domain), translatorChanged(translator
    or None), loadFailed(message), directionChanged(direction id), blendChanged(MixStyle or None),
    timingReported(ms per image), busyChanged(bool). The user's domain names live in `settings`."""

    modelsChanged = Signal(list)
    translatorChanged = Signal(object)
    loadFailed = Signal(str)
    directionChanged = Signal(str)
    blendChanged = Signal(object)
    timingReported = Signal(float)
    busyChanged = Signal(bool)

    def __init__(self, runner: TaskRunner, parent: QObject | None = None, settings: Settings | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._settings = settings
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
        self.models = self._named(list_models())
        self.modelsChanged.emit(self.models)
        return self.models

    def _named(self, entries: list[ModelEntry]) -> list[ModelEntry]:
        """`entries` with the user's domain names (read here, on the UI thread: QSettings is not shared)."""
        if self._settings is None:
            return entries
        return [replace(e, names=tuple(sorted(self._settings.domain_names(e.name).items()))) for e in entries]

    def rename_domain(self, domain_id: str, name: str) -> None:
        """Call a domain of the open model `name` (remembered; "" gives it back the bundle's name): every label
        built from the model's entry follows (modelsChanged)."""
        if self.entry is None or self._settings is None:
            return
        self._settings.set_domain_name(self.entry.name, domain_id, name)
        self.models = self._named(self.models)
        self.entry = self.entry_named(self.entry.name) or self.entry
        self.modelsChanged.emit(self.models)

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
            name, models = result
            self.models = self._named(models)
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

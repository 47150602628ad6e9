"""One translator per model family; :data:`RUNTIME_TRANSLATORS` is the explicit list (one line per family),
its family specs are in ``desktop/runtime/families.py``."""
from __future__ import annotations

import os

from ..bundle import Bundle, resolve_bundle
from .base import Content, StyledTranslator, TranslationError, TranslationResult, Translator
from .capabilities import Capabilities, capabilities_of
from .munit import MunitTranslator
from .tunit import TunitTranslator
from .ugatit import UgatitTranslator

RUNTIME_TRANSLATORS: dict[str, type[Translator]] = {
    "munit": MunitTranslator,
    "ugatit": UgatitTranslator,
    "tunit": TunitTranslator,
}


def open_translator(bundle: Bundle | str | os.PathLike, provider: str = "auto", precision: str = "fp32",
                    threads: int | None = None) -> Translator:
    """The translator for ``bundle`` (a loaded bundle, a bundle path or an installed model's name), with
    its sessions created on ``provider`` and warmed up."""
    if not isinstance(bundle, Bundle):
        bundle = resolve_bundle(bundle)
    return RUNTIME_TRANSLATORS[bundle.family](bundle, provider=provider, precision=precision, threads=threads)


__all__ = ["RUNTIME_TRANSLATORS", "Capabilities", "Content", "StyledTranslator", "TranslationError",
           "TranslationResult", "Translator", "capabilities_of", "open_translator"]

"""One translator per model family, found through the registry in ``desktop/runtime/families.py``."""
from __future__ import annotations

import os

from ..bundle import Bundle, resolve_bundle
from ..families import TRANSLATORS
from . import munit, tunit, ugatit  # noqa: F401  (each module registers its family's translator)
from .base import Content, StyledTranslator, TranslationError, TranslationResult, Translator


def open_translator(bundle: Bundle | str | os.PathLike, provider: str = "auto", precision: str = "fp32",
                    threads: int | None = None) -> Translator:
    """The translator for ``bundle`` (a loaded bundle, a bundle path or an installed model's name), with
    its sessions created on ``provider`` and warmed up."""
    if not isinstance(bundle, Bundle):
        bundle = resolve_bundle(bundle)
    return TRANSLATORS[bundle.family](bundle, provider=provider, precision=precision, threads=threads)


__all__ = ["Content", "StyledTranslator", "TranslationError", "TranslationResult", "Translator", "open_translator"]

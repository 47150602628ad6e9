"""Turn a job's :class:`JobStyle` into the style source each file is translated with."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np

from i2i_common.images import read_image

from ..style import ExplicitStyle, MixStyle, RandomStyle, ReferenceStyle, StyleSource, TypicalStyle
from .jobs import JobSpec


def file_seed(seed: int, rel_path: str) -> int:
    """A per-file seed derived from the job's seed and the file's relative path (stable across runs,
    machines and shards, so a resumed or sharded job draws the same style for the same file)."""
    digest = hashlib.sha256(f"{seed}\0".encode() + os.fsencode(rel_path)).digest()
    return int.from_bytes(digest[:4], "big")


class StylePlan:
    """Resolves the job's style once (reference images are encoded a single time)."""

    def __init__(self, translator: Any, spec: JobSpec) -> None:
        self._spec = spec.style
        self._fixed: Any = None
        self._random = False
        if not translator.capabilities.styles:
            return
        kind = spec.style.kind
        source: StyleSource | None = None
        if kind == "typical":
            source = TypicalStyle()
        elif kind == "code":
            source = ExplicitStyle(np.asarray(spec.style.code, dtype=np.float32))
        elif kind == "reference":
            source = ReferenceStyle(read_image(Path(spec.style.reference)))
        elif kind == "blend":
            codes = [np.asarray(c, dtype=np.float32) for c in spec.style.codes]
            source = MixStyle(codes, list(spec.style.weights))
        if source is not None:  # resolved (and checked against the model's style size) once per job
            self._fixed = ExplicitStyle(translator.style_code(source, spec.direction))
        self._random = kind == "random"
        if self._random:  # fails the job once (e.g. TUNIT has no prior) instead of every file
            translator.style_code(self.style_for(""), spec.direction)

    def style_for(self, rel_path: str) -> Any:
        """The style source for one file (None for models without style)."""
        if self._fixed is not None:
            return self._fixed
        if self._random:
            return RandomStyle(seed=file_seed(self._spec.seed, rel_path))
        return None

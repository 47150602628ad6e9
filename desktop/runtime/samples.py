"""The sample inputs shipped beside the models (``resources/samples``), named ``<domain>_<n>.<ext>``
(``dog_1.jpg``), so the app can offer the ones that fit the current direction."""
from __future__ import annotations

from pathlib import Path

from .paths import shipped_models_dir

SAMPLE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png"})


def sample_images(folder: Path | None = None) -> list[Path]:
    """Every shipped sample image, sorted by name."""
    folder = folder or shipped_models_dir().parent / "samples"
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SAMPLE_EXTENSIONS and p.is_file())


def samples_of(domain: str, samples: list[Path] | None = None) -> list[Path]:
    """The samples of one domain (by file-name prefix, case-insensitive); empty when none match."""
    samples = sample_images() if samples is None else samples
    prefix = domain.lower() + "_"
    return [p for p in samples if domain and p.stem.lower().startswith(prefix)]

"""Where the tests find things: the checkout, the real data beside it, the committed tiny bundles."""
from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
# tiny real ONNX bundles for every family, written by `python -m devkit.bundle_factory tests/fixtures/bundles`
# (tests/export checks they are still what it makes)
FIXTURE_BUNDLES = REPO / "tests" / "fixtures" / "bundles"
TINY_FAMILIES = tuple(sorted(p.name.removeprefix("tiny-") for p in FIXTURE_BUNDLES.glob("tiny-*") if p.is_dir()))

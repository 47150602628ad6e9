"""The torch-free runtime: bundles, inference sessions, translation, style math and frame sources.

It needs onnxruntime, which comes from one of the package's extras so that users pick the build
for their hardware.
"""
from __future__ import annotations

try:
    import onnxruntime as _onnxruntime  # noqa: F401  (checked here so every entry point fails the same way)
except ImportError as exc:
    raise ImportError(
        "i2i Studio needs onnxruntime, which is not installed. Install one of the extras: "
        'pip install "i2i-studio[cpu]" (any machine), "i2i-studio[cuda]" (NVIDIA GPU) '
        'or "i2i-studio[directml]" (Windows, any DirectX 12 GPU).'
    ) from exc

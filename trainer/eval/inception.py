"""Standard Inception features for KID/FID, from a local TorchScript file the user supplies.

Nothing is downloaded. Two conventions are understood (docs/evaluation.md tells how to get either):

- the StyleGAN2-ADA / clean-fid detector ``inception-2015-12-05.pt`` (TorchScript, the TF-FID
  Inception): its ``forward`` takes a uint8-valued image batch of any size and a ``return_features``
  flag, and returns the 2048-d pool features;
- any TorchScript module that takes float images in [0, 1] at 299x299 and returns the 2048-d features
  (or a list/tuple whose first item holds them), for example pytorch-fid's ``InceptionV3([3])`` traced
  with ``torch.jit.trace``.
"""
from __future__ import annotations

import warnings
import zipfile
from pathlib import Path

import cv2
import numpy as np
import torch

INPUT_SIZE = 299


class InceptionError(Exception):
    """The Inception weights file cannot be used; the message says why and what to do."""


class InceptionFeatures:
    """A loaded Inception feature network: :meth:`embed` maps uint8 RGB images to feature vectors."""

    def __init__(self, module: torch.jit.ScriptModule, path: Path) -> None:
        self.module = module.eval()
        self.path = path
        arguments = [arg.name for arg in module.forward.schema.arguments]
        self.takes_uint8 = "return_features" in arguments

    @torch.no_grad()
    def embed(self, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
        """Features [N, D] of uint8 RGB images [N, H, W, 3]."""
        chunks = []
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            if self.takes_uint8:
                x = torch.from_numpy(np.ascontiguousarray(batch)).permute(0, 3, 1, 2)
                out = self.module(x, return_features=True)
            else:
                resized = np.stack([cv2.resize(im, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR)
                                    for im in batch])
                x = torch.from_numpy(resized).permute(0, 3, 1, 2).float() / 255.0
                out = self.module(x)
            if isinstance(out, (list, tuple)):
                out = out[0]
            chunks.append(out.reshape(len(batch), -1).float().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def load_inception(path: str | Path) -> InceptionFeatures:
    """Load a TorchScript Inception from ``path``; raise :class:`InceptionError` with a clear reason."""
    path = Path(path)
    if not path.is_file():
        raise InceptionError(f"Inception weights not found: {path}")
    if not zipfile.is_zipfile(path):
        raise InceptionError(f"{path}: not a TorchScript file (see docs/evaluation.md for how to make one)")
    try:
        with warnings.catch_warnings():  # TorchScript is deprecated, but it is the format these files come in
            warnings.simplefilter("ignore", DeprecationWarning)
            module = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as exc:
        if _is_state_dict(path):
            raise InceptionError(
                f"{path}: a plain state_dict, not a TorchScript module; convert it once with the script "
                "in docs/evaluation.md") from None
        detail = (str(exc).strip().splitlines() or ["unknown error"])[0]
        raise InceptionError(f"{path}: cannot be loaded as TorchScript ({detail})") from None
    return InceptionFeatures(module, path)


def _is_state_dict(path: Path) -> bool:
    try:
        return isinstance(torch.load(path, map_location="cpu", weights_only=True), dict)
    except Exception:  # noqa: BLE001 - any failure means "not a readable state_dict"
        return False

"""Standard Inception features for KID/FID, from a local weights file the user supplies.

Nothing is downloaded. Three kinds of file are understood (docs/evaluation.md tells how to get them):

- a plain Inception v3 ``state_dict``: pytorch-fid's ``pt_inception-2015-12-05-*.pth`` (the TensorFlow
  FID network) or torchvision's ``inception_v3`` weights, run by :mod:`evaluation.inception_net`;
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
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np
import torch

from evaluation.inception_net import from_state_dict

INPUT_SIZE = 299


class InceptionError(Exception):
    """The Inception weights file cannot be used; the message says why and what to do."""


class InceptionFeatures:
    """A loaded Inception feature network: :meth:`embed` maps uint8 RGB images to feature vectors."""

    def __init__(self, module: torch.nn.Module, path: Path, takes_uint8: bool, kind: str) -> None:
        self.module = module.eval()
        self.path = path
        self.takes_uint8 = takes_uint8
        self.kind = kind  # what the file turned out to be, for the report

    @torch.no_grad()
    def embed(self, images: Sequence[np.ndarray], batch_size: int = 16) -> np.ndarray:
        """Features [N, D] of uint8 RGB images. The uint8 detector gets them at their own size when all
        sizes agree (it resizes itself); otherwise, and for the other kinds, they are resized to 299."""
        native = self.takes_uint8 and len({im.shape for im in images}) == 1
        chunks = []
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            if not native:
                batch = [cv2.resize(im, (INPUT_SIZE, INPUT_SIZE), interpolation=cv2.INTER_LINEAR) for im in batch]
            x = torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2)
            out = self.module(x, return_features=True) if self.takes_uint8 else self.module(x.float() / 255.0)
            if isinstance(out, (list, tuple)):
                out = out[0]
            chunks.append(out.reshape(len(batch), -1).float().numpy())
        return np.concatenate(chunks) if chunks else np.zeros((0, 0), np.float32)


def load_inception(path: str | Path) -> InceptionFeatures:
    """Load the Inception network in ``path``; raise :class:`InceptionError` with a clear reason."""
    path = Path(path)
    if not path.is_file():
        raise InceptionError(f"Inception weights not found: {path}")
    if zipfile.is_zipfile(path):
        try:
            with warnings.catch_warnings():  # TorchScript is deprecated, but it is what these files are
                warnings.simplefilter("ignore", DeprecationWarning)
                module = torch.jit.load(str(path), map_location="cpu")
        except RuntimeError:
            pass  # a zip, but not TorchScript: perhaps a state_dict saved by torch.save
        else:
            takes_uint8 = "return_features" in [arg.name for arg in module.forward.schema.arguments]
            return InceptionFeatures(module, path, takes_uint8, "TorchScript")
    state = _load_state_dict(path)
    if state is None:
        raise InceptionError(f"{path}: neither a TorchScript module nor an Inception v3 state_dict "
                             "(see docs/evaluation.md)")
    try:
        net = from_state_dict(state)
    except ValueError as exc:
        raise InceptionError(f"{path}: {exc}") from None
    variant = "TensorFlow FID variant" if net.fid else "torchvision variant"
    return InceptionFeatures(net, path, False, f"Inception v3 state_dict, {variant}")


def _load_state_dict(path: Path) -> dict[str, torch.Tensor] | None:
    """The tensors of a ``torch.save``d dict (loaded with ``weights_only=True``), or None."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure means "not a readable state_dict"
        return None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        return None
    return state

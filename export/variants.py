"""Precision variants of the fp32 graphs: fp16 (for GPUs) and int8 (static quantisation, for CPUs).

Both keep float32 inputs and outputs, so the runtime feeds every precision the same arrays. The fp16
conversion is onnxruntime's own (``onnxruntime.transformers.float16``); int8 uses
``onnxruntime.quantization.quantize_static`` with a calibration reader over real images.
"""
from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path

import onnx
from onnxruntime.quantization import CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process
from onnxruntime.transformers.float16 import convert_float_to_float16

from .family_exporter import Feeds

VARIANTS = ("fp16", "int8")
# Measured on the MUNIT graphs (docs/export.md): QOperator with every op quantised breaks the decoder
# at sizes other than the calibration size (14 dB); QDQ with only the convolutions and linear layers
# quantised keeps the normalisation arithmetic in float, is the most faithful and at least as fast.
INT8_FORMAT = QuantFormat.QDQ
INT8_OPS = ["Conv", "Gemm", "MatMul"]
# 7-bit weights. x86 CPUs without VNNI multiply uint8 activations by int8 weights with VPMADDUBSW, whose
# int16 pair sums saturate at full-range weights; VNNI CPUs do not. The same int8 graph then gives different
# pictures on different CPUs (the tiny fixture bundle: 5.4 levels), and the fidelity measured at export holds only
# on CPUs like the exporter's. With 7-bit weights the sums cannot saturate, so every x86 CPU computes the same
# integers; measured on the shipped cat2dog decoder: 28.8 dB against fp32 instead of 28.9 (docs/export.md).
INT8_REDUCE_RANGE = True


def to_fp16(src: Path, dst: Path) -> None:
    """Write an fp16 copy of ``src`` to ``dst`` with float32 inputs/outputs (casts inside)."""
    model = convert_float_to_float16(onnx.load(str(src)), keep_io_types=True)
    onnx.save(model, str(dst))


class FeedsReader(CalibrationDataReader):
    """Hands ``quantize_static`` one batch of calibration feeds at a time."""

    def __init__(self, feeds: Iterable[Feeds]):
        self._it: Iterator[Feeds] = iter(feeds)

    def get_next(self) -> Feeds | None:
        return next(self._it, None)


def to_int8(src: Path, dst: Path, calibration: Iterable[Feeds]) -> None:
    """Statically quantise ``src`` to int8 (per-channel 7-bit weights, uint8 activations) into ``dst``."""
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static logs advice and per-tensor notes at WARNING
    try:
        with tempfile.TemporaryDirectory() as tmp:
            prepared = Path(tmp) / "prepared.onnx"
            quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
            quantize_static(str(prepared), str(dst), FeedsReader(calibration), quant_format=INT8_FORMAT,
                            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            op_types_to_quantize=INT8_OPS,
                            calibrate_method=CalibrationMethod.MinMax, reduce_range=INT8_REDUCE_RANGE)
    finally:
        root.setLevel(level)


def convert(precision: str, src: Path, dst: Path, calibration: Iterable[Feeds]) -> None:
    """Make the ``precision`` variant of ``src``."""
    if precision == "fp16":
        to_fp16(src, dst)
    elif precision == "int8":
        to_int8(src, dst, calibration)
    else:
        raise ValueError(f"unknown precision {precision!r} (known: fp32, {', '.join(VARIANTS)})")

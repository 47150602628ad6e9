"""export/macs: multiply-accumulates counted from ONNX graphs, by hand on made-up graphs and the tiny fixture
bundles, against torch's count on the shipped bundles, per frame along each family's frame graphs."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from torch.utils.flop_counter import FlopCounterMode

from desktop.runtime.bundle import load_bundle
from export.macs import frame_macs, graph_macs, main
from export.onnx_export import ExportError
from export.registry import exporter_for
from trainer.models.ugatit import build_generator as build_ugatit

from repo_paths import FIXTURE_BUNDLES, REPO

# the tiny fixtures at 256x256 (devkit/bundle_factory.py): 3x3 convs, stride 2 down, a Linear on the style
CONTENT = 8 * 128 * 128 * 3 * 9 + 6 * 64 * 64 * 8 * 9  # 3 -> 8 -> 6 channels, each stride 2
STYLE_LINEAR = 4 * 12  # the decoder's Linear on the style code: the same at every image size
DECODER = STYLE_LINEAR + 3 * 256 * 256 * 6 * 9  # then 6 -> 3 at full size
UGATIT = 8 * 128 * 128 * 3 * 9 + 3 * 256 * 256 * 8 * 9


def made_up_graph() -> onnx.ModelProto:
    """x [N,4,8,8] -> ConvTranspose (4 -> 2, 3x3, stride 2); v [N,5] -> Gemm (5 -> 7); m [N,3,5] -> MatMul (5 -> 6)."""
    weights = [numpy_helper.from_array(np.zeros(shape, np.float32), name)
               for name, shape in (("w", (4, 2, 3, 3)), ("g", (7, 5)), ("k", (5, 6)))]
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], strides=[2, 2]),
             helper.make_node("Gemm", ["v", "g"], ["z"], transB=1),
             helper.make_node("MatMul", ["m", "k"], ["q"])]
    io = [helper.make_tensor_value_info(name, TensorProto.FLOAT, shape) for name, shape in
          (("x", ["n", 4, "h", "w"]), ("v", ["n", 5]), ("m", ["n", 3, 5]))]
    outs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, None) for name in "yzq"]
    return helper.make_model(helper.make_graph(nodes, "made_up", io, outs, weights),
                             opset_imports=[helper.make_opsetid("", 17)])


def test_each_counted_operator_by_hand():
    macs, outputs = graph_macs(made_up_graph(), {"x": [1, 4, 8, 8], "v": [1, 5], "m": [1, 3, 5]})
    assert macs == 4 * 8 * 8 * 2 * 9 + 5 * 7 + 3 * 6 * 5
    assert outputs == {"y": [1, 2, 17, 17], "z": [1, 7], "q": [1, 3, 6]}
    with pytest.raises(ExportError, match="graph input 'm': no shape given"):
        graph_macs(made_up_graph(), {"x": [1, 4, 8, 8], "v": [1, 5]})


@pytest.mark.parametrize("family, per_frame, fixed", [
    ("munit", CONTENT + DECODER, STYLE_LINEAR), ("ugatit", UGATIT, 0), ("tunit", CONTENT + DECODER, STYLE_LINEAR)])
def test_the_fixture_bundles_frames_by_hand(family, per_frame, fixed):
    bundle = load_bundle(FIXTURE_BUNDLES / f"tiny-{family}")
    assert [frame_macs(bundle, d.id) for d in bundle.directions] == [per_frame] * len(bundle.directions)
    assert frame_macs(bundle, height=128, width=64) == (per_frame - fixed) // 8 + fixed  # convs: an eighth


def test_int8_graphs_count_as_their_fp32_graphs():
    bundle = load_bundle(FIXTURE_BUNDLES / "tiny-munit")
    for role, feeds in (("content_encoder", {"image": [1, 3, 256, 256]}),
                        ("decoder", {"content": [1, 6, 64, 64], "style": [1, 4]})):
        counts = {p: graph_macs(onnx.load(str(bundle.graph_path(bundle.graph(role, domain="a", precision=p)))),
                                feeds)[0] for p in ("fp32", "int8")}
        assert counts == {"fp32": CONTENT if role == "content_encoder" else DECODER, "int8": counts["fp32"]}


def test_the_shipped_bundles_count_as_torch_does():
    munit = load_bundle(REPO / "resources" / "models" / "cat2dog-munit.i2i")
    ugatit = load_bundle(REPO / "resources" / "models" / "selfie2anime-ugatit.i2i")
    with torch.device("meta"):  # counted, not computed
        gens = exporter_for("munit").build(munit.provenance["config"], None)
        translator = build_ugatit(ugatit.provenance["config"]["model"]).eval()
        x = torch.zeros(1, 3, 256, 256)
        with FlopCounterMode(display=False) as munit_count:
            gens["b"].decode(gens["a"].content_encoder(x), torch.zeros(1, 8))
        with FlopCounterMode(display=False) as ugatit_count:
            translator(x)
    assert frame_macs(munit, "a2b") == munit_count.get_total_flops() // 2 == 8_918_501_376
    # the graph leaves out the two CAM logits' Linear layers (dim -> 1 each): the bundle does not return them
    assert frame_macs(ugatit) == ugatit_count.get_total_flops() // 2 - 2 * 64


def test_the_command_prints_each_direction_and_fails_on_a_broken_bundle(capsys, tmp_path):
    assert main([str(FIXTURE_BUNDLES / "tiny-ugatit"), "--size", "256"]) == 0
    out = capsys.readouterr().out
    assert out == f"tiny-ugatit (ugatit): GMACs per 256x256 frame: a2b {UGATIT / 1e9:.2f}, b2a {UGATIT / 1e9:.2f}\n"
    assert main([str(tmp_path / "nothing")]) == 1
    assert "export.macs:" in capsys.readouterr().err

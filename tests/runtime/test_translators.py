"""The three families' translators on tiny real ONNX bundles."""
from __future__ import annotations

import numpy as np
import pytest

from desktop.runtime.bundle import BundleError, load_bundle
from desktop.runtime.families import RUNTIME_FAMILIES
from desktop.runtime.style import ExplicitStyle, MixStyle, RandomStyle, ReferenceStyle, TypicalStyle
from desktop.runtime.translators import (
    RUNTIME_TRANSLATORS,
    Capabilities,
    StyledTranslator,
    TranslationError,
    capabilities_of,
    open_translator,
)

STAGES = ["preprocess", "content", "style", "decode", "postprocess"]


@pytest.fixture(scope="module")
def translators(tiny_bundles):
    return {family: open_translator(load_bundle(path)) for family, path in tiny_bundles.items()}


@pytest.fixture(scope="module")
def photo():
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (45, 61, 3), dtype=np.uint8)


def test_registry_covers_every_family():
    assert list(RUNTIME_TRANSLATORS) == list(RUNTIME_FAMILIES)
    assert all(cls.family == name for name, cls in RUNTIME_TRANSLATORS.items())


@pytest.mark.parametrize("family, expected", [
    ("munit", Capabilities(styles=True, random_styles=True, reference_styles=True, typical_style=True,
                           attention_map=False, clusters_as_domains=False, style_dim=4)),
    ("ugatit", Capabilities(styles=False, random_styles=False, reference_styles=False, typical_style=False,
                            attention_map=True, clusters_as_domains=False, style_dim=0)),
    ("tunit", Capabilities(styles=True, random_styles=False, reference_styles=True, typical_style=True,
                           attention_map=False, clusters_as_domains=True, style_dim=4)),
])
def test_capabilities_follow_family_and_bundle(translators, tiny_bundles, family, expected):
    tr = translators[family]
    assert tr.capabilities == expected == capabilities_of(load_bundle(tiny_bundles[family]))
    assert isinstance(tr, StyledTranslator) == expected.styles  # the class agrees with the spec


def test_translate_many_encodes_once_and_matches_translate(translators, photo, monkeypatch):
    tr = translators["munit"]
    styles = [RandomStyle(seed=3), TypicalStyle(), None]
    calls, encode = [], tr._content
    monkeypatch.setattr(tr, "_content", lambda tensor, d: calls.append(d) or encode(tensor, d))
    many = tr.translate_many(photo, "a2b", styles, mode="native")
    monkeypatch.undo()
    assert len(calls) == 1 and len(many) == 3
    assert list(many[0].timings) == STAGES and list(many[1].timings) == ["style", "decode", "postprocess"]
    for style, result in zip(styles[:2], many, strict=False):
        assert np.array_equal(result.image, tr.translate(photo, "a2b", style, mode="native").image)
    with pytest.raises(ValueError, match="no styles"):
        tr.translate_many(photo, "a2b", [])


def test_translate_many_without_style_translates_once(translators, photo):
    tr = translators["ugatit"]
    many = tr.translate_many(photo, "a2b", [RandomStyle(1), RandomStyle(2)])
    assert len(many) == 1 and many[0].style is None and many[0].heatmap is not None
    assert np.array_equal(many[0].image, tr.translate(photo, "a2b").image)


@pytest.mark.parametrize("family", ["munit", "ugatit", "tunit"])
def test_translate_keeps_size_and_reports_stages(translators, photo, family):
    tr = translators[family]
    assert tr.provider_info.active == "cpu" and tr.precision == "fp32"
    style = TypicalStyle() if family == "tunit" else RandomStyle(seed=1)
    res = tr.translate(photo, tr.directions[0].id, style=style, mode="fit")
    assert res.image.shape == photo.shape and res.image.dtype == np.uint8
    assert res.image.std() > 0  # a real network output, not a blank
    assert all(v >= 0 for v in res.timings.values())
    if tr.capabilities.styles:
        assert list(res.timings) == STAGES and res.style.shape == (4,) and res.heatmap is None
    else:
        assert list(res.timings) == ["preprocess", "decode", "postprocess"] and res.style is None


def test_munit_random_is_seeded_and_styles_differ(translators, photo):
    tr = translators["munit"]
    a = tr.translate(photo, "a2b", RandomStyle(seed=7))
    b = tr.translate(photo, "a2b", RandomStyle(seed=7))
    c = tr.translate(photo, "a2b", RandomStyle(seed=8))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.style, b.style)
    assert not np.array_equal(a.style, c.style) and not np.array_equal(a.image, c.image)


def test_munit_reference_explicit_and_mix(translators, photo):
    tr = translators["munit"]
    ref = np.random.default_rng(9).integers(0, 256, (70, 30, 3), dtype=np.uint8)
    ref_code = tr.style_code(ReferenceStyle(ref), "a2b")
    by_ref = tr.translate(photo, "a2b", ReferenceStyle(ref))
    np.testing.assert_allclose(by_ref.style, ref_code, rtol=1e-6)
    explicit = tr.translate(photo, "a2b", ExplicitStyle(ref_code))
    assert np.array_equal(explicit.image, by_ref.image)
    other = tr.style_code(RandomStyle(seed=2), "a2b")
    half = tr.translate(photo, "a2b", MixStyle([ReferenceStyle(ref), other], [0.5, 0.5]))
    np.testing.assert_allclose(half.style, (ref_code + other) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(tr.style_code(MixStyle([ref_code, other], [2, 0]), "a2b"), ref_code, rtol=1e-6)
    typical = tr.style_code(TypicalStyle(), "a2b")
    np.testing.assert_array_equal(typical, load_bundle(tr.bundle.path).array("style_mean", "b"))


def test_munit_content_is_reused(translators, photo):
    tr = translators["munit"]
    content = tr.encode_content(photo, "b2a", mode="native")
    assert content.value.shape == (1, 6, 11, 15)  # 44x60 input, content at a quarter
    codes = [tr.style_code(RandomStyle(seed=s), "b2a") for s in range(3)]
    outs = [tr.decode(content, c) for c in codes]
    assert all(list(o.timings) == ["decode", "postprocess"] for o in outs)
    assert len({o.image.tobytes() for o in outs}) == 3
    full = tr.translate(photo, "b2a", ExplicitStyle(codes[1]), mode="native")
    assert np.array_equal(full.image, outs[1].image)


def test_alpha_and_native_mode(translators):
    rgba = np.random.default_rng(3).integers(0, 256, (33, 47, 4), dtype=np.uint8)
    res = translators["munit"].translate(rgba, "a2b", RandomStyle(0), mode="native")
    assert res.image.shape == (33, 47, 4) and np.array_equal(res.image[..., 3], rgba[..., 3])


def test_ugatit_heatmap(translators, photo):
    tr = translators["ugatit"]
    assert not tr.capabilities.styles
    res = tr.translate(photo, "b2a")
    assert res.heatmap.shape == photo.shape[:2] and res.heatmap.dtype == np.float32
    assert 0.0 <= res.heatmap.min() and res.heatmap.max() <= 1.0 and res.heatmap.max() > 0.5
    assert not np.array_equal(res.image, tr.translate(photo, "a2b").image)  # one generator per direction


def test_tunit_clusters_reference_and_reuse(translators, photo):
    tr = translators["tunit"]
    styles = load_bundle(tr.bundle.path).array("cluster_styles")
    np.testing.assert_array_equal(tr.style_code(TypicalStyle(), "to_c2"), styles[2])
    probs = tr.classify(photo)
    assert probs.shape == (3,) and abs(float(probs.sum()) - 1.0) < 1e-5
    content = tr.encode_content(photo, "to_c0")
    mixed = tr.decode(content, tr.style_code(MixStyle([TypicalStyle(), ReferenceStyle(photo)]), "to_c0"))
    assert mixed.image.shape == photo.shape
    with pytest.raises(ValueError, match="TUNIT has no style prior"):
        tr.translate(photo, "to_c0", RandomStyle(1))


def test_bad_requests(translators, photo):
    tr = translators["munit"]
    with pytest.raises(BundleError, match="no direction 'x2y'"):
        tr.translate(photo, "x2y")
    with pytest.raises(ValueError, match="has 4 values, not 3"):
        tr.translate(photo, "a2b", ExplicitStyle(np.zeros(3)))
    with pytest.raises(TypeError, match="not a style source"):
        tr.style_code("random", "a2b")


@pytest.mark.parametrize("precision", ["int8", "fp16"])
def test_precision_variants_match_fp32(translators, tiny_bundles, photo, precision):
    variant = open_translator(tiny_bundles["munit"], precision=precision)
    assert variant.precision == precision and variant.precision_note is None
    assert {g.spec.precision for g in variant._graphs.values()} == {precision}
    got = variant.translate(photo, "a2b", RandomStyle(1)).image.astype(int)
    want = translators["munit"].translate(photo, "a2b", RandomStyle(1)).image.astype(int)
    assert got.shape == want.shape and np.abs(got - want).mean() < 8  # close to fp32, not identical


def test_missing_precision_falls_back(tiny_bundles):
    fp16 = open_translator(tiny_bundles["ugatit"], precision="fp16")  # no fp16 graphs: fp32 is used
    assert fp16.precision == "fp32" and "fp16 is not available" in fp16.precision_note
    with pytest.raises(ValueError, match="unknown precision"):
        open_translator(tiny_bundles["ugatit"], precision="fp8")


def test_open_by_path_and_name(tiny_archives):
    from desktop.runtime.bundle import install_bundle

    assert isinstance(open_translator(tiny_archives["tunit"]), StyledTranslator)
    install_bundle(tiny_archives["ugatit"])
    assert open_translator("tiny-ugatit").bundle.name == "tiny-ugatit"


def test_provider_fallback_is_reported(tiny_bundles):
    tr = open_translator(tiny_bundles["ugatit"], provider="coreml")
    assert tr.provider_info.active == "cpu" and "coreml is not available" in tr.provider_info.fallback_reason


def test_graph_mismatch_found_when_sessions_open(tiny_bundles, tmp_path):
    import json
    import shutil

    folder = shutil.copytree(tiny_bundles["tunit"], tmp_path / "t")
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    manifest["graphs"][1]["inputs"][1]["name"] = "code"
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(BundleError, match=r"generator.onnx: inputs are \['image', 'style'\]"):
        open_translator(folder)


def test_fixed_size_graph_run_error_is_one_line(translators):
    tr = translators["ugatit"]
    graph = tr._graph("generator", direction="a2b")
    with pytest.raises(TranslationError, match="a2b_generator.onnx failed: ") as err:
        graph.run(np.zeros((1, 4, 8, 8), np.float32))
    assert "\n" not in str(err.value)

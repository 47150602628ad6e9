"""Bundle loading, validation, archives, listing and installing, on tiny real bundles."""
from __future__ import annotations

import json
import os
import shutil
import stat
import zipfile
from pathlib import Path

import numpy as np
import pytest

from desktop.runtime import bundle as bundle_mod
from desktop.runtime.bundle import BundleError, Direction, find_bundles, install_bundle, load_bundle, resolve_bundle
from desktop.runtime.paths import cache_dir, user_models_dir


def copy_bundle(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def edit_manifest(folder: Path, change) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")


def graph_entry(manifest: dict, role: str) -> dict:
    return next(g for g in manifest["graphs"] if g["role"] == role)


@pytest.mark.parametrize("family", ["munit", "ugatit", "tunit"])
def test_folder_round_trip(tiny_bundles, family):
    b = load_bundle(tiny_bundles[family], check_graphs=True)
    assert b.family == family and b.name == f"tiny-{family}" and b.untrained
    assert b.path == b.source == tiny_bundles[family]
    assert b.image.train_size == 32 and b.image.sizes.multiple == 4
    assert (b.style is None) == (family == "ugatit")
    for g in b.graphs:
        assert (b.path / g.file).is_file() and len(g.sha256) == 64
    assert b.family_spec.name == family


def test_munit_fields(tiny_bundles):
    b = load_bundle(tiny_bundles["munit"])
    assert [d.name for d in b.domains] == ["cat", "dog"]
    assert b.direction("a2b") == Direction("a2b", "a", "b")
    assert b.precisions() == ["fp32", "fp16", "int8"]
    assert b.graph("decoder", domain="b", precision="int8").file == "b_decoder.int8.onnx"
    ugatit = load_bundle(tiny_bundles["ugatit"])
    assert ugatit.graph("generator", direction="a2b", precision="fp16").precision == "fp32"  # missing -> fp32
    assert b.array("style_mean", "b").shape == (b.style.dim,)
    assert b.style.prior == "normal" and b.license
    with pytest.raises(BundleError, match="no direction 'x2y'"):
        b.direction("x2y")


def test_tunit_any_source(tiny_bundles):
    b = load_bundle(tiny_bundles["tunit"])
    assert all(d.source == "*" for d in b.directions)
    assert b.array("cluster_styles").shape == (3, b.style.dim)
    assert b.style is not None and load_bundle(tiny_bundles["ugatit"]).style is None


def test_archive_round_trip(tiny_archives, tiny_bundles):
    archive = tiny_archives["munit"]
    b = load_bundle(archive, check_graphs=True)
    assert b.source == archive and b.path.is_relative_to(cache_dir())
    folder = load_bundle(tiny_bundles["munit"])
    assert [g.sha256 for g in b.graphs] == [g.sha256 for g in folder.graphs]
    again = load_bundle(archive)  # the extraction is cached by the archive's digest
    assert again.path == b.path
    (b.path / "a_decoder.onnx").write_bytes(b"damaged")  # a damaged cache is extracted again
    assert load_bundle(archive, check_graphs=True).path == b.path


# ---------------------------------------------------------------- validation errors


@pytest.fixture()
def munit_copy(tiny_bundles, tmp_path) -> Path:
    return copy_bundle(tiny_bundles["munit"], tmp_path / "m")


def test_missing_manifest(tmp_path):
    (tmp_path / "b").mkdir()
    with pytest.raises(BundleError, match="no manifest.json"):
        load_bundle(tmp_path / "b")


def test_no_such_path(tmp_path):
    with pytest.raises(BundleError, match="no such bundle"):
        load_bundle(tmp_path / "nothing")


def test_invalid_json(munit_copy):
    (munit_copy / "manifest.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(BundleError, match="not valid JSON"):
        load_bundle(munit_copy)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(schema_version=2), "unknown schema version 2 .this app reads version 1."),
    (lambda m: m.update(family="cyclegan"), "unknown family 'cyclegan' .known: munit, tunit, ugatit."),
    (lambda m: m.pop("image"), "manifest field manifest.image is missing"),
    (lambda m: m.update(name="a b/c"), "name 'a b/c' may only use letters"),
    (lambda m: m["directions"].append({"id": "a2z", "source": "a", "target": "z"}),
     "direction 'a2z' names an unknown domain"),
    (lambda m: graph_entry(m, "decoder").update(role="generator"), "role 'generator'.*not part of family munit"),
    (lambda m: m.update(style=None), "family munit needs a style object"),
    (lambda m: graph_entry(m, "decoder").update(file="../evil.onnx"), "must be a plain name"),
    (lambda m: m["arrays"][0].update(shape=[7]), r"the manifest says float32\[7\]"),
    (lambda m: graph_entry(m, "decoder").update(precision="fp8"), "precision 'fp8' is not one of"),
    (lambda m: m["graphs"].append(dict(graph_entry(m, "decoder"))), "a second fp32 decoder graph"),
])
def test_manifest_errors(munit_copy, change, message):
    edit_manifest(munit_copy, change)
    with pytest.raises(BundleError, match=message):
        load_bundle(munit_copy)


def test_missing_file(munit_copy):
    (munit_copy / "b_decoder.onnx").unlink()
    with pytest.raises(BundleError, match="listed file b_decoder.onnx is missing"):
        load_bundle(munit_copy)


def test_extra_file(munit_copy):
    (munit_copy / "notes.txt").write_text("hi", encoding="utf-8")
    with pytest.raises(BundleError, match="file notes.txt is not listed"):
        load_bundle(munit_copy)


def test_os_junk_is_ignored(munit_copy):
    (munit_copy / ".DS_Store").write_bytes(b"\0")
    assert load_bundle(munit_copy).name == "tiny-munit"


@pytest.mark.skipif(os.name == "nt", reason="symbolic links need privileges on Windows")
def test_symlinked_file_is_refused(munit_copy, tmp_path):
    target = munit_copy / "a_decoder.onnx"
    outside = tmp_path / "outside.onnx"
    os.replace(target, outside)
    target.symlink_to(outside)
    with pytest.raises(BundleError, match="a_decoder.onnx is not a regular file"):
        load_bundle(munit_copy)


def test_checksum_mismatch(munit_copy):
    with open(munit_copy / "a_style_encoder.onnx", "ab") as f:
        f.write(b"\0")
    with pytest.raises(BundleError, match="checksum mismatch for a_style_encoder.onnx"):
        load_bundle(munit_copy)


def test_missing_required_role(munit_copy):
    def drop(m):
        m["graphs"] = [g for g in m["graphs"] if not (g["role"] == "decoder" and g["domain"] == "a"
                                                       and g["precision"] == "fp32")]
    edit_manifest(munit_copy, drop)
    (munit_copy / "a_decoder.onnx").unlink()
    with pytest.raises(BundleError, match="missing the fp32 decoder graph"):
        load_bundle(munit_copy)


def test_required_array_missing(tiny_bundles, tmp_path):
    folder = copy_bundle(tiny_bundles["tunit"], tmp_path / "t")
    edit_manifest(folder, lambda m: m.update(arrays=[]))
    (folder / "cluster_styles.npy").unlink()
    with pytest.raises(BundleError, match="missing the cluster_styles array"):
        load_bundle(folder)


def test_pickled_array_is_refused(munit_copy):
    path = munit_copy / "b_style_mean.npy"
    np.save(path, np.array([{"x": 1}], dtype=object), allow_pickle=True)
    edit_manifest(munit_copy, lambda m: next(a for a in m["arrays"] if a["file"] == path.name)
                  .update(sha256=bundle_mod.sha256_file(path)))
    with pytest.raises(BundleError, match="not a plain .npy array"):
        load_bundle(munit_copy)


@pytest.mark.parametrize("change, message", [
    (lambda g: g["inputs"][0].update(name="picture"), r"inputs are \['image'\], the manifest says \['picture'\]"),
    (lambda g: g["outputs"][0].update(dtype="float16"), "output content is float32, the manifest says float16"),
    (lambda g: g["inputs"][0].update(shape=["batch", 3, "height"]), "has rank 4, the manifest says 3"),
    (lambda g: g["outputs"][0].update(shape=["batch", 7, "h4", "w4"]), "fixes axis 1 to 6, the manifest says 7"),
])
def test_graph_io_differs_from_manifest(munit_copy, change, message):
    edit_manifest(munit_copy, lambda m: change(graph_entry(m, "content_encoder")))
    load_bundle(munit_copy)  # the structure is fine; the graphs are checked when opened
    with pytest.raises(BundleError, match=message):
        load_bundle(munit_copy, check_graphs=True)


def test_unloadable_graph(munit_copy):
    (munit_copy / "a_decoder.onnx").write_bytes(b"not onnx")
    edit_manifest(munit_copy, lambda m: graph_entry(m, "decoder").update(
        sha256=bundle_mod.sha256_file(munit_copy / "a_decoder.onnx")))
    with pytest.raises(BundleError, match="a_decoder.onnx cannot be loaded"):
        load_bundle(munit_copy, check_graphs=True)


# ---------------------------------------------------------------- archives


def make_zip(path: Path, entries: dict[str, bytes], symlink: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return path


@pytest.mark.parametrize("entries, symlink, message", [
    ({"../evil.onnx": b"x"}, None, "would land outside"),
    ({"/abs.onnx": b"x"}, None, "would land outside"),
    ({"C:/win.onnx": b"x"}, None, "would land outside"),
    ({"sub/manifest.json": b"{}"}, None, "sub-folder"),
    ({"manifest.json": b"{}"}, "link.onnx", "symbolic link"),
])
def test_archive_entries_refused(tmp_path, entries, symlink, message):
    archive = make_zip(tmp_path / "bad.i2i", entries, symlink)
    with pytest.raises(BundleError, match=message):
        load_bundle(archive)
    assert not (tmp_path / "evil.onnx").exists() and not list((cache_dir() / "bundles").glob("*/*.onnx"))


def test_archive_bomb_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_mod.archive, "MAX_ARCHIVE_BYTES", 1000)
    archive = make_zip(tmp_path / "bomb.i2i", {"manifest.json": b"\0" * 5000})
    with pytest.raises(BundleError, match="limit 2 GiB"):
        load_bundle(archive)


def test_not_an_archive(tmp_path):
    (tmp_path / "model.i2i").write_text("hello", encoding="utf-8")
    with pytest.raises(BundleError, match="not a readable .i2i archive"):
        load_bundle(tmp_path / "model.i2i")
    (tmp_path / "model.txt").write_text("hello", encoding="utf-8")
    with pytest.raises(BundleError, match="not a bundle"):
        load_bundle(tmp_path / "model.txt")


def test_archive_with_broken_content(tiny_bundles, tmp_path):
    entries = {p.name: p.read_bytes() for p in tiny_bundles["ugatit"].iterdir()}
    entries["a2b_generator.onnx"] += b"tampered"
    with pytest.raises(BundleError, match="checksum mismatch for a2b_generator.onnx"):
        load_bundle(make_zip(tmp_path / "t.i2i", entries))


# ---------------------------------------------------------------- listing, installing, writing


def test_find_bundles_reports_broken_ones(tiny_bundles, tmp_path):
    shipped, user = tmp_path / "shipped", tmp_path / "user"
    copy_bundle(tiny_bundles["munit"], shipped / "tiny-munit")
    copy_bundle(tiny_bundles["ugatit"], shipped / "broken")
    (shipped / "broken" / "manifest.json").write_text("[]", encoding="utf-8")
    (shipped / "README.txt").write_text("not a bundle", encoding="utf-8")
    user_copy = copy_bundle(tiny_bundles["munit"], user / "mine")
    scan = find_bundles([shipped, user, tmp_path / "absent"])
    assert [b.name for b in scan.bundles] == ["tiny-munit", "tiny-munit@user"]  # the shipped one is never hidden
    assert scan.bundles[0].path == shipped / "tiny-munit" and scan.bundles[1].path == user_copy
    assert list(scan.errors) == [shipped / "broken"]
    assert "must hold a JSON object" in scan.errors[shipped / "broken"]


def test_find_bundles_default_dirs(tiny_bundles):
    install_bundle(tiny_bundles["tunit"])
    scan = find_bundles()
    assert "tiny-tunit" in [b.name for b in scan.bundles]
    assert resolve_bundle("tiny-tunit").family == "tunit"
    with pytest.raises(BundleError, match="no model named 'nope'"):
        resolve_bundle("nope")


def test_install_bundle(tiny_archives):
    b = install_bundle(tiny_archives["ugatit"])
    assert b.path == user_models_dir() / "tiny-ugatit" and b.source == b.path
    with pytest.raises(BundleError, match="already installed"):
        install_bundle(tiny_archives["ugatit"])
    again = install_bundle(tiny_archives["ugatit"], overwrite=True)
    assert again.name == "tiny-ugatit"
    assert sorted(p.name for p in user_models_dir().iterdir()) == ["tiny-ugatit"]  # no leftovers


def test_install_refuses_broken_bundle(munit_copy):
    os.remove(munit_copy / "a_decoder.onnx")
    with pytest.raises(BundleError):
        install_bundle(munit_copy)
    assert not user_models_dir().exists() or not any(user_models_dir().iterdir())

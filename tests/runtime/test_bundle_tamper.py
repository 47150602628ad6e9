"""Tampered archives, manifests and arrays: each is a one-line BundleError, never another exception, and a
refused archive leaves nothing in the cache. Every mutant is made here from the tiny real bundles."""
from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from desktop.cli import main
from desktop.runtime.bundle import BundleError, load_bundle, sha256_file
from desktop.runtime.bundle import cache as bundle_cache
from desktop.runtime.paths import user_models_dir

ESC = "\x1b"


def rehash(folder: Path) -> None:
    """Recompute every listed file's sha256, as a careful attacker would."""
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for entry in manifest["graphs"] + manifest["arrays"]:
        entry["sha256"] = sha256_file(folder / entry["file"])
    path.write_text(json.dumps(manifest), encoding="utf-8")


def edit(folder: Path, change) -> Path:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    change(manifest)
    path.write_text(json.dumps(manifest), encoding="utf-8")
    return folder


def zip_folder(folder: Path, archive: Path, extra: dict[str, bytes] | None = None) -> Path:
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, arcname=path.name)
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    return archive


def set_method(archive: Path, name: str, method: int) -> None:
    """Rewrite an entry's compression method in its local header and central directory entry."""
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as zf:
        local = zf.getinfo(name).header_offset
    data[local + 8:local + 10] = method.to_bytes(2, "little")
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        length = int.from_bytes(data[pos + 28:pos + 30], "little")
        if data[pos + 46:pos + 46 + length] == name.encode():
            data[pos + 10:pos + 12] = method.to_bytes(2, "little")
        pos = data.find(b"PK\x01\x02", pos + 4)
    archive.write_bytes(bytes(data))


def cache_entries() -> list[Path]:
    root = bundle_cache.bundles_cache()
    return sorted(root.iterdir()) if root.is_dir() else []


def refused(path: Path, message: str, check_graphs: bool = False) -> None:
    with pytest.raises(BundleError, match=message) as info:
        load_bundle(path, check_graphs=check_graphs)
    assert "\n" not in str(info.value)
    assert cache_entries() == []  # nothing left behind


@pytest.fixture()
def munit(tiny_bundles, tmp_path) -> Path:
    return Path(shutil.copytree(tiny_bundles["munit"], tmp_path / "m"))


# ---------------------------------------------------------------- archives


@pytest.mark.parametrize("method", [12, 14, 99])  # bzip2 and lzma headers over stored data, an unknown method
def test_unsupported_compression_method(munit, tmp_path, method):
    archive = zip_folder(munit, tmp_path / "m.i2i")
    set_method(archive, "a_decoder.onnx", method)
    refused(archive, f"compression method {method}")


def test_long_entry_name(munit, tmp_path):
    archive = zip_folder(munit, tmp_path / "m.i2i", {"x" * 295 + ".onnx": b"x"})
    refused(archive, "300-character name")


def test_unlisted_entry_is_refused_before_extraction(munit, tmp_path):
    archive = zip_folder(munit, tmp_path / "m.i2i", {"junk.bin": os.urandom(1 << 20)})
    refused(archive, "file junk.bin is not listed")


def test_corrupt_deflate_stream(munit, tmp_path):
    archive = tmp_path / "m.i2i"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(munit.iterdir()):
            zf.write(path, arcname=path.name)
    with zipfile.ZipFile(archive) as zf:
        info = zf.getinfo("a_decoder.onnx")
    data = bytearray(archive.read_bytes())
    start = info.header_offset + 30 + len(info.filename)
    data[start:start + 64] = bytes(64)  # garbage instead of the deflate stream
    archive.write_bytes(bytes(data))
    refused(archive, "not a readable .i2i archive")


def test_archive_refused_after_extraction_leaves_no_cache(munit, tmp_path):
    with open(munit / "a_decoder.onnx", "ab") as f:
        f.write(b"tampered")
    refused(zip_folder(munit, tmp_path / "m.i2i"), "checksum mismatch")


def test_archive_whose_graphs_are_refused_leaves_no_cache(munit, tmp_path):
    edit(munit, lambda m: next(g for g in m["graphs"] if g["role"] == "decoder")["outputs"][0].update(name="x"))
    archive = zip_folder(munit, tmp_path / "m.i2i")
    load_bundle(archive)  # the structure is fine
    refused(archive, "outputs are", check_graphs=True)


def test_archive_refused_by_its_translator_leaves_no_cache(munit, tmp_path):
    from desktop.runtime.translators import open_translator

    edit(munit, lambda m: next(g for g in m["graphs"] if g["role"] == "decoder")["outputs"][0].update(name="x"))
    bundle = load_bundle(zip_folder(munit, tmp_path / "m.i2i"))
    with pytest.raises(BundleError, match="outputs are"):
        open_translator(bundle)
    assert cache_entries() == []


def test_cache_stays_bounded(tiny_bundles, tmp_path):
    folder = Path(shutil.copytree(tiny_bundles["ugatit"], tmp_path / "u"))
    stale = bundle_cache.bundles_cache() / f"{bundle_cache.TEMP_PREFIX}killed"
    stale.mkdir(parents=True)
    long_ago = time.time() - 2 * bundle_cache.CACHE_GRACE_S
    os.utime(stale, (long_ago, long_ago))
    for i in range(bundle_cache.CACHE_KEEP + 3):
        edit(folder, lambda m, i=i: m.update(title=f"copy {i}"))  # another digest, another extraction
        load_bundle(zip_folder(folder, tmp_path / f"u{i}.i2i"))
        for entry in cache_entries():  # all used long ago: evictable
            os.utime(entry, (long_ago, long_ago))
    entries = cache_entries()
    assert len(entries) == bundle_cache.CACHE_KEEP and stale not in entries
    assert load_bundle(tmp_path / f"u{bundle_cache.CACHE_KEEP + 2}.i2i").title == f"copy {bundle_cache.CACHE_KEEP + 2}"


def test_recently_used_extractions_are_kept(tiny_bundles, tmp_path):
    folder = Path(shutil.copytree(tiny_bundles["ugatit"], tmp_path / "u"))
    for i in range(bundle_cache.CACHE_KEEP + 2):
        edit(folder, lambda m, i=i: m.update(title=f"copy {i}"))
        load_bundle(zip_folder(folder, tmp_path / f"u{i}.i2i"))
    assert len(cache_entries()) == bundle_cache.CACHE_KEEP + 2  # another app may be reading them


# ---------------------------------------------------------------- manifests


def write_raw_manifest(folder: Path, tail: str) -> None:
    """Append raw JSON text (``, "key": value``) to the manifest object."""
    path = folder / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8").rstrip()[:-1] + tail + "}", encoding="utf-8")


@pytest.mark.parametrize("tail, message", [
    (', "deep": ' + "[" * 100_000 + "]" * 100_000, "not valid JSON"),  # RecursionError in json
    (', "deep": ' + "[" * 40 + "]" * 40, "nests deeper than 32 levels"),
    (', "big": ' + "9" * 5000, "not valid JSON"),  # ValueError: too many digits
])
def test_unreadable_manifest_text(munit, tail, message):
    write_raw_manifest(munit, tail)
    with pytest.raises(BundleError, match=message):
        load_bundle(munit)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(provenance=[1, 2]), "manifest.provenance has the wrong type"),
    (lambda m: m.update(provenance="x"), "manifest.provenance has the wrong type"),
    (lambda m: m.update(verification=3), "manifest.verification has the wrong type"),
    (lambda m: m.update(license={"a": 1}), "manifest.license has the wrong type"),
    (lambda m: m.update(title=["t"]), "manifest.title has the wrong type"),
    (lambda m: m.update(untrained="yes"), "manifest.untrained has the wrong type"),
    (lambda m: m["image"]["sizes"].update(min=2000, max=100_000), r"image.sizes.max is 100000, outside 1..4096"),
    (lambda m: m["image"].update(sizes={"kind": "fixed", "height": 0, "width": 0}), "height is 0, outside"),
    (lambda m: m["image"].update(train_size=30000), r"image.train_size is 30000, outside 1..1024"),
    (lambda m: m["style"].update(dim=10**6), r"style.dim is 1000000, outside"),
    (lambda m: m["arrays"][0].update(shape=[100_000, 100_000]), "holds more than"),
    (lambda m: m["domains"].extend({"id": f"d{i}", "name": "x"} for i in range(300)), "302 domains"),
    (lambda m: m.update(graphs=m["graphs"] * 400), "items .limit 1024."),
    (lambda m: m.update(name="."), "name '.' may only use"),
    (lambda m: m.update(name=".."), "name '..' may only use"),
    (lambda m: m.update(name="-rf"), "may only use"),
    (lambda m: m.update(name="x" * 65), "at most 64 characters"),
    (lambda m: m.update(name="nul.model"), "reserved for a device"),
])
def test_manifest_values_refused(munit, change, message):
    edit(munit, change)
    with pytest.raises(BundleError, match=message):
        load_bundle(munit)


def test_text_is_sanitised_and_bounded(munit):
    edit(munit, lambda m: (m.update(title=f"{ESC}[31mEvil{ESC}[0m \u202etitle" + "x" * 500,
                                    license="line 1\nline 2\x07"),
                           m["domains"][0].update(name=f"cat{ESC}]0;pwned\x07"),
                           m["provenance"].update(dataset=f"{ESC}[2Jdata\r\nset")))
    b = load_bundle(munit)
    assert b.title.startswith("Evil title") and len(b.title) == 120 and b.title.endswith("…")
    assert b.domains[0].name == "cat" and b.provenance["dataset"] == "data set"
    assert b.license == "line 1\nline 2"


# ---------------------------------------------------------------- arrays


def replace_array(folder: Path, data: bytes) -> None:
    (folder / "b_style_mean.npy").write_bytes(data)
    rehash(folder)


def test_zero_byte_array(munit):
    replace_array(munit, b"")
    with pytest.raises(BundleError, match="b_style_mean.npy is not a plain .npy array"):
        load_bundle(munit)


def test_truncated_and_padded_arrays(munit):
    good = (munit / "b_style_mean.npy").read_bytes()
    for data in (good[:-3], good + b"\0" * 16, good[:20], b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__}\n"):
        replace_array(munit, data)
        with pytest.raises(BundleError, match="b_style_mean.npy"):
            load_bundle(munit)


def test_array_header_declaring_a_huge_shape(munit, tmp_path):
    big = tmp_path / "big.npy"
    with open(big, "wb") as f:
        np.lib.format.write_array_header_1_0(f, {"descr": "<f4", "fortran_order": False, "shape": (4,)})
    header = big.read_bytes().replace(b"(4,)", b"(4000000000,)".ljust(4))
    replace_array(munit, header + bytes(16))
    with pytest.raises(BundleError, match="b_style_mean.npy"):
        load_bundle(munit)


# ---------------------------------------------------------------- the listing


def test_one_bad_bundle_never_breaks_the_listing(tiny_bundles, capsys):
    models = user_models_dir()
    shutil.copytree(tiny_bundles["tunit"], models / "good")
    bad = Path(shutil.copytree(tiny_bundles["ugatit"], models / "bad"))
    edit(bad, lambda m: m.update(provenance=["not", "an", "object"]))
    evil = Path(shutil.copytree(tiny_bundles["munit"], models / "evil"))
    edit(evil, lambda m: (m.update(title=f"{ESC}[31mRED{ESC}[0m"), m["provenance"].update(dataset=f"{ESC}[2J")))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "tiny-tunit" in out and "tiny-munit" in out and "RED" in out
    assert "broken:" in out and "provenance has the wrong type" in out
    assert ESC not in out

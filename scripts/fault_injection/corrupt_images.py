"""Fault injection: hundreds of corrupt and odd image files through ``i2i translate`` and ``i2i batch``.

From a few real photographs it writes every supported format (baseline and progressive JPEG, PNG, lossy and
lossless WEBP, raw/LZW/deflate TIFF, BMP), then damages copies: truncations at many offsets (JPEG also with its
end marker put back), bit flips and byte shuffles in the header and in the data, declared sizes of 16000+
pixels a side, zero-byte files, wrong extensions, data appended after the end, and non-regular files (a FIFO,
a folder and a device named ``.jpg``). Each file goes through ``python -m desktop.cli translate`` in its own
process with a timeout, and then the whole folder through one ``python -m desktop.cli batch`` run.

A translate outcome is one of:
  refused             exit 1 or 2 with one ``i2i: error:`` line and nothing on stderr but the CLI's own lines
  refused+noise       the same, but a decoder library also printed to stderr (libtiff writes there directly)
  translated-equal    exit 0 and the input decodes visibly equal to its undamaged original (PSNR >= 40 dB)
  translated-damaged  exit 0, visibly different, but no checksum covers the changed bytes (a flip in JPEG,
                      WEBP, BMP or TIFF pixel data gives another valid image: no reader can tell)
  FAILED              a traceback, a hang, a crash, a valid file refused, or exit 0 on a damaged decode
                      that the format can detect (truncations, declared sizes, anything in a PNG)
In batch, each refused file must be ``failed`` with a reason and each translated one ``done``.

Usage: python scripts/fault_injection/corrupt_images.py [--data DIR] [--sources N] [--jobs J] [--out DIR]
Prints a table and writes ``corrupt_images.json`` to --out (default benchmarks/results/, git-ignored).
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))
from i2i_common.images import ImageReadError, read_image  # noqa: E402

MODEL = REPO / "resources" / "models" / "cat2dog-munit.i2i"
EQUAL_PSNR_DB = 40.0
FRACTIONS = (0.02, 0.1, 0.3, 0.5, 0.7, 0.9, 0.98, 0.999)
# format label -> (extension, Pillow save options)
ENCODINGS = {
    "jpeg": (".jpg", {"format": "JPEG", "quality": 90}),
    "jpeg-progressive": (".jpg", {"format": "JPEG", "quality": 90, "progressive": True}),
    "png": (".png", {"format": "PNG"}),
    "webp": (".webp", {"format": "WEBP", "quality": 85}),
    "webp-lossless": (".webp", {"format": "WEBP", "lossless": True}),
    "tiff": (".tif", {"format": "TIFF"}),
    "tiff-lzw": (".tif", {"format": "TIFF", "compression": "tiff_lzw"}),
    "tiff-deflate": (".tif", {"format": "TIFF", "compression": "tiff_adobe_deflate"}),
    "bmp": (".bmp", {"format": "BMP"}),
}
WRONG_EXTENSION = {".jpg": ".png", ".png": ".jpg", ".webp": ".tif", ".tif": ".webp", ".bmp": ".jpg"}


@dataclass
class Mutant:
    """One damaged or odd file, what was done to it, and what a correct reader must do with it."""
    name: str
    encoding: str
    kind: str
    expect: str  # "refuse", "decode" or "either" (then a decode must equal the original, or be undetectable)
    original: str = ""  # the undamaged file of the same encoding
    translate: dict = field(default_factory=dict)
    batch: str = ""
    verdict: str = ""


def encode(image: np.ndarray, options: dict) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, **options)
    return buffer.getvalue()


def header_end(data: bytes, encoding: str) -> int:
    """Where the pixel data starts, roughly: bytes before it are the header."""
    if encoding.startswith("jpeg"):
        return data.index(b"\xff\xda") + 12
    if encoding == "png":
        return data.index(b"IDAT") + 4
    if encoding.startswith("webp"):
        return 30
    if encoding == "bmp":
        return 54
    return 8 + 2 + 12 * 14  # TIFF: the first directory follows its 8-byte header in Pillow's files


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def declare_huge(data: bytes, encoding: str) -> bytes:
    """The same file with a header that claims a picture of at least 16383 x 16383 pixels."""
    raw = bytearray(data)
    if encoding.startswith("jpeg"):
        sof = next(i for i in range(2, len(raw) - 1) if raw[i] == 0xFF and raw[i + 1] in (0xC0, 0xC2))
        raw[sof + 5:sof + 9] = struct.pack(">HH", 65000, 65000)
    elif encoding == "png":
        ihdr = bytearray(raw[16:29])
        ihdr[0:8] = struct.pack(">II", 100000, 100000)
        raw[8:33] = png_chunk(b"IHDR", bytes(ihdr))
    elif encoding == "webp":  # VP8 key frame: 14-bit width and height after the start code
        start = raw.index(b"\x9d\x01\x2a") + 3
        raw[start:start + 4] = struct.pack("<HH", 16383, 16383)
    elif encoding == "webp-lossless":  # VP8L: 14-bit width-1 and height-1 after the signature byte
        bits = struct.unpack("<I", bytes(raw[21:25]))[0]
        raw[21:25] = struct.pack("<I", (bits & ~0xFFFFFFF) | 16383 | 16383 << 14)
    elif encoding == "bmp":
        raw[18:26] = struct.pack("<ii", 60000, 60000)
    else:  # TIFF: ImageWidth and ImageLength in the first directory
        ifd = struct.unpack("<I", bytes(raw[4:8]))[0]
        for entry in range(struct.unpack("<H", bytes(raw[ifd:ifd + 2]))[0]):
            at = ifd + 2 + 12 * entry
            tag, kind = struct.unpack("<HH", bytes(raw[at:at + 4]))
            if tag in (256, 257):
                raw[at + 8:at + 12] = struct.pack("<HH", 60000, 0) if kind == 3 else struct.pack("<I", 60000)
    return bytes(raw)


def mutations(data: bytes, encoding: str, rng: np.random.Generator) -> list[tuple[str, str, bytes]]:
    """(kind, expectation, bytes) for every way this file is damaged."""
    out: list[tuple[str, str, bytes]] = []
    for fraction in FRACTIONS:
        cut = data[: max(1, int(len(data) * fraction))]
        out.append((f"truncate-{fraction}", "either", cut))
        if encoding.startswith("jpeg"):
            out.append((f"truncate-{fraction}+eoi", "either", cut + b"\xff\xd9"))
    head = header_end(data, encoding)
    for region, low, high in (("header", 2, head), ("data", head, len(data))):
        for trial in range(3):
            flipped = bytearray(data)
            for _ in range(1 + trial):
                at = int(rng.integers(low, high))
                flipped[at] ^= 1 << int(rng.integers(0, 8))
            out.append((f"flip-{region}-{trial}", "either", bytes(flipped)))
        shuffled = bytearray(data)
        at = int(rng.integers(low, max(low + 1, high - 16)))
        window = bytearray(shuffled[at:at + 16])
        rng.shuffle(window)
        shuffled[at:at + 16] = window
        out.append((f"shuffle-{region}", "either", bytes(shuffled)))
    out.append(("huge-size", "refuse", declare_huge(data, encoding)))
    out.append(("appended-data", "decode", data + b"metadata written after the end of the image" * 8))
    return out


def build(data_dir: Path, work: Path, sources: int) -> list[Mutant]:
    """Write the originals and their mutants into ``work/in``; returns the mutants."""
    folder = work / "in"
    folder.mkdir(parents=True)
    photos = sorted(data_dir.glob("*/test*/*.jpg"))
    picks = [photos[i * len(photos) // sources] for i in range(sources)]
    rng = np.random.default_rng(10)
    mutants: list[Mutant] = []
    for s, photo in enumerate(picks):
        pixels = np.asarray(Image.open(photo).convert("RGB"))
        for encoding, (ext, options) in ENCODINGS.items():
            data = photo.read_bytes() if encoding == "jpeg" else encode(pixels, options)
            original = work / "originals" / f"s{s}_{encoding}{ext}"
            original.parent.mkdir(exist_ok=True)
            original.write_bytes(data)
            for kind, expect, damaged in mutations(data, encoding, rng):
                name = f"m{len(mutants):04d}_s{s}_{encoding}_{kind}{ext}"
                (folder / name).write_bytes(damaged)
                mutants.append(Mutant(name, encoding, kind, expect, str(original)))
            name = f"m{len(mutants):04d}_s{s}_{encoding}_wrong-extension{WRONG_EXTENSION[ext]}"
            (folder / name).write_bytes(data)
            mutants.append(Mutant(name, encoding, "wrong-extension", "decode", str(original)))
    for ext in sorted(set(WRONG_EXTENSION)):
        name = f"m{len(mutants):04d}_empty_zero-byte{ext}"
        (folder / name).write_bytes(b"")
        mutants.append(Mutant(name, "none", "zero-byte", "refuse"))
    specials = {"fifo.jpg": lambda p: os.mkfifo(p), "folder.jpg": lambda p: p.mkdir(),
                "device.jpg": lambda p: p.symlink_to("/dev/zero")}
    for name, make in specials.items():
        if name == "fifo.jpg" and not hasattr(os, "mkfifo"):
            continue
        make(folder / name)
        mutants.append(Mutant(name, "special", name.split(".")[0], "refuse"))
    return mutants


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    if a.shape != b.shape:
        return 0.0
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def detectable(mutant: Mutant) -> bool:
    """True when a correct reader can tell the damage: the file is cut, lies about its size, or is a PNG
    (every PNG chunk has a CRC). Flips elsewhere can give another valid picture."""
    return mutant.kind.startswith(("truncate", "huge", "zero")) or mutant.encoding == "png"


def judge(mutant: Mutant, folder: Path) -> str:
    run = mutant.translate
    if run["timed_out"]:
        return "FAILED: hang"
    if run["returncode"] not in (0, 1, 2):
        return f"FAILED: crash (exit {run['returncode']})"
    if "Traceback" in run["stderr"]:
        return "FAILED: traceback"
    if run["returncode"] != 0:
        if mutant.expect == "decode":
            return "FAILED: a valid file was refused"
        lines = [line for line in run["stderr"].splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("i2i: error:")]
        noise = [line for line in lines if not line.startswith("i2i: ")]  # "i2i: 1 of 1 images failed" is ours
        if len(errors) != 1:
            return "FAILED: not exactly one error line"
        return "refused+noise" if noise else "refused"
    try:
        decoded = read_image(folder / mutant.name)
        equal = psnr(decoded, read_image(mutant.original)) >= EQUAL_PSNR_DB
    except ImageReadError:
        return "FAILED: translate read a file the reader refuses"
    if equal:
        return "translated-equal"
    if mutant.expect == "decode":
        return "FAILED: a valid file decodes differently"
    if mutant.expect == "refuse" or detectable(mutant):
        return "FAILED: exit 0 on a damaged decode"
    return "translated-damaged"


def translate_one(mutant: Mutant, folder: Path, out: Path, env: dict, timeout: float) -> None:
    command = [sys.executable, "-m", "desktop.cli", "translate", str(folder / mutant.name), "-o",
               str(out / f"{Path(mutant.name).stem}.png"), "--model", str(MODEL), "--seed", "1"]
    started = time.perf_counter()
    try:
        proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        mutant.translate = {"returncode": proc.returncode, "stderr": proc.stderr[-2000:], "timed_out": False}
    except subprocess.TimeoutExpired as exc:
        stderr = exc.stderr.decode(errors="replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        mutant.translate = {"returncode": None, "stderr": stderr[-2000:], "timed_out": True}
    mutant.translate["seconds"] = round(time.perf_counter() - started, 2)


def run_batch(mutants: list[Mutant], folder: Path, work: Path, env: dict, timeout: float) -> dict:
    """One ``i2i batch`` over the whole folder; fills each mutant's ``batch`` state."""
    out, failures = work / "batch_out", work / "failures.csv"
    command = [sys.executable, "-m", "desktop.cli", "batch", str(folder), "-o", str(out), "--model", str(MODEL),
               "--direction", "a2b", "--seed", "1", "--queue", str(work / "queue.sqlite3"),
               "--failures", str(failures)]
    try:
        proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
        summary = {"returncode": proc.returncode, "timed_out": False, "traceback": "Traceback" in proc.stderr,
                   "stdout_tail": proc.stdout[-600:]}
    except subprocess.TimeoutExpired:
        summary = {"returncode": None, "timed_out": True, "traceback": False, "stdout_tail": ""}
    reasons = {}
    if failures.is_file():
        with failures.open(encoding="utf-8", newline="") as fh:
            reasons = {row["file"]: row["reason"] for row in csv.DictReader(fh)}
    for mutant in mutants:
        stem = Path(mutant.name).stem
        if mutant.name in reasons:
            mutant.batch = "failed" if reasons[mutant.name].strip() else "failed without a reason"
        elif any(out.glob(f"{stem}_a2b.*")):
            mutant.batch = "done"
        else:
            mutant.batch = "not listed"  # the batch scanner takes regular image files only
    return summary


def batch_consistent(mutant: Mutant) -> bool:
    if mutant.batch == "not listed":
        return mutant.encoding == "special"
    translated = mutant.translate.get("returncode") == 0
    return mutant.batch == ("done" if translated else "failed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data",
                        help="folder of real images (its */test*/*.jpg are used)")
    parser.add_argument("--sources", type=int, default=2, help="real photographs to damage (about 150 files each)")
    parser.add_argument("--jobs", type=int, default=2, help="translate processes at a time")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds before a translate counts as a hang")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="folder for the JSON")
    parser.add_argument("--keep", action="store_true", help="keep the generated files (printed path)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="i2i-corrupt-images-"))
    try:
        mutants = build(args.data, work, args.sources)
        folder, out = work / "in", work / "translate_out"
        out.mkdir()
        env = {**os.environ, "PYTHONPATH": str(REPO), "I2I_STUDIO_HOME": str(work / "home")}
        started = time.perf_counter()
        with ThreadPoolExecutor(args.jobs) as pool:
            list(pool.map(lambda m: translate_one(m, folder, out, env, args.timeout), mutants))
        translate_seconds = time.perf_counter() - started
        for mutant in mutants:
            mutant.verdict = judge(mutant, folder)
        batch = run_batch(mutants, folder, work, env, timeout=120 + 5 * len(mutants))
        report(mutants, batch, translate_seconds, args.out)
    finally:
        if args.keep:
            print(f"files kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    failed = sum(m.verdict.startswith("FAILED") for m in mutants)
    inconsistent = sum(not batch_consistent(m) for m in mutants)
    return 1 if failed or inconsistent or batch["timed_out"] or batch["traceback"] else 0


def report(mutants: list[Mutant], batch: dict, translate_seconds: float, out: Path) -> None:
    verdicts = Counter(m.verdict.split(":")[0] for m in mutants)
    print(f"{len(mutants)} files through `i2i translate` ({translate_seconds:.0f} s)")
    print(f"{'group':<18} {'files':>5}  " + "  ".join(f"{v:>18}" for v in sorted(verdicts)))
    groups = sorted({m.kind.split("-")[0] for m in mutants})
    for group in groups:
        members = [m for m in mutants if m.kind.split("-")[0] == group]
        counts = Counter(m.verdict.split(":")[0] for m in members)
        print(f"{group:<18} {len(members):>5}  " + "  ".join(f"{counts.get(v, 0):>18}" for v in sorted(verdicts)))
    print(f"{'all':<18} {len(mutants):>5}  " + "  ".join(f"{verdicts[v]:>18}" for v in sorted(verdicts)))
    for mutant in mutants:
        if mutant.verdict.startswith("FAILED"):
            print(f"  {mutant.verdict}: {mutant.name}: {mutant.translate.get('stderr', '').strip()[-160:]}")
    states = Counter(m.batch for m in mutants)
    inconsistent = [m for m in mutants if not batch_consistent(m)]
    print(f"`i2i batch` over the same folder: exit {batch['returncode']}, timed out {batch['timed_out']}, "
          f"traceback {batch['traceback']}; " + ", ".join(f"{k} {v}" for k, v in sorted(states.items()))
          + f"; disagreeing with translate: {len(inconsistent)}")
    for mutant in inconsistent[:20]:
        print(f"  batch {mutant.batch} / translate exit {mutant.translate.get('returncode')}: {mutant.name}")
    out.mkdir(parents=True, exist_ok=True)
    summary = {"files": len(mutants), "translate_seconds": round(translate_seconds, 1), "verdicts": dict(verdicts),
               "batch": {**batch, "states": dict(states), "disagreeing": len(inconsistent)},
               "mutants": [asdict(m) for m in mutants]}
    target = out / "corrupt_images.json"
    target.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    print(f"written {target}")


if __name__ == "__main__":
    sys.exit(main())

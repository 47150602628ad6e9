"""Fault injection at the file level: hundreds of tampered archives, manifests and ``.npy`` files through
``i2i models --check`` and ``i2i translate``, each in its own subprocess with a timeout and an address-space
limit, and each with its own empty data folder (so what it leaves in the cache is seen).

The mutants start from the committed tiny real MUNIT bundle (``tests/fixtures/bundles``, with int8 and fp16
variants; no torch needed), re-hashed after each change, so only the file-level defences can catch them: zip
tricks (compression methods, long, duplicate, unlisted, escaping, nested and linked entries, truncation), wrong
types and values in every manifest field, ANSI/bidi text in every string field, name tricks, huge sizes, deep
nesting, huge ints, and empty, truncated, padded, object or huge-shaped ``.npy`` files. Each mutant ends in one of:

- ``refused``: both commands exit 1/2 with a one-line ``i2i:`` message, no traceback, nothing left in the cache;
- ``worked``: both commands exit 0 (the tampering was harmless, e.g. a cleaned title);
- ``FAILED``: a traceback, a hang (timeout), a crash (signal), a multi-line error, an exit code that does not
  say the same thing for both commands (``--check`` ok, translate failing), an escape or bidi character on
  stdout/stderr, or an extraction left in the cache by a refused bundle.

Usage: ``python scripts/fault_injection/tampered_archives.py [--count 400] [--jobs 1] [--results DIR]``.
Prints a table and writes ``tampered_archives.json`` into ``--results`` (default ``benchmarks/results``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from desktop.runtime.bundle import sha256_file  # noqa: E402
from i2i_common.images import write_image  # noqa: E402

BASE = REPO / "tests" / "fixtures" / "bundles" / "tiny-munit"
TIMEOUT_S = 120
MEMORY_LIMIT = 6 * 1024**3  # address space of each child (onnxruntime reserves a lot of it)
OUTCOMES = ("refused", "worked", "FAILED")
UNSAFE = ("\x1b", "\x9b", "\u202e", "\u2066", "\x07")
ANSI = "\x1b[31mRED\x1b[0m\x1b]0;pwned\x07\u202eevil"
WRONG_VALUES: list[Any] = [None, True, 0, -1, 10**12, 1e308, "", "x" * 5000, [], {}, [1, "a"], {"k": []}]
NAMES = [".", "..", "-rf", "con", "NUL.x", "x" * 65, "x/y", "x\\y", "", "ü", "x.", " x", "a\nb", ANSI]

Mutation = Callable[[Path], str]  # changes the bundle folder, returns a description; may return an archive


@dataclass
class Mutant:
    """One tampered bundle: what is done, and how to build it (returns the folder or ``.i2i`` it wrote)."""

    kind: str
    what: str
    build: Callable[[Path], Path]


@dataclass
class Result:
    kind: str
    what: str
    outcome: str
    reason: str
    seconds: float


# ---------------------------------------------------------------- building mutants


def load_manifest(folder: Path) -> dict:
    return json.loads((folder / "manifest.json").read_text(encoding="utf-8"))


def save_manifest(folder: Path, manifest: Any, rehash: bool = True) -> None:
    if rehash and isinstance(manifest, dict):
        entries = [e for key in ("graphs", "arrays") if isinstance(manifest.get(key), list) for e in manifest[key]]
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("file"), str):
                name = entry["file"]
                if "/" not in name and len(name.encode("utf-8", "replace")) < 256 and (folder / name).is_file():
                    entry["sha256"] = sha256_file(folder / name)
    (folder / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")


def field_paths(value: Any, prefix: tuple = (), depth: int = 4) -> list[tuple]:
    """Every path to a value in the manifest (dict keys and list indices), down to ``depth``."""
    paths = [prefix] if prefix else []
    if depth and isinstance(value, dict):
        for key, item in value.items():
            paths += field_paths(item, prefix + (key,), depth - 1)
    elif depth and isinstance(value, list):
        for index, item in enumerate(value[:2]):
            paths += field_paths(item, prefix + (index,), depth - 1)
    return paths


def set_path(manifest: Any, path: tuple, value: Any) -> None:
    target = manifest
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def get_path(manifest: Any, path: tuple) -> Any:
    for key in path:
        manifest = manifest[key]
    return manifest


def zip_folder(folder: Path, archive: Path, method: int = zipfile.ZIP_STORED,
               extra: list[tuple[zipfile.ZipInfo | str, bytes]] | None = None) -> Path:
    with zipfile.ZipFile(archive, "w", compression=method) as zf:
        for path in sorted(folder.iterdir()):
            zf.write(path, arcname=path.name)
        for info, data in extra or []:
            zf.writestr(info, data)
    return archive


def set_method(archive: Path, method: int) -> None:
    """Rewrite every entry's compression method (local headers and central directory)."""
    data = bytearray(archive.read_bytes())
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        pos = data.find(signature)
        while pos >= 0:
            data[pos + offset:pos + offset + 2] = method.to_bytes(2, "little")
            pos = data.find(signature, pos + 4)
    archive.write_bytes(bytes(data))


def npy_bytes(shape: tuple, descr: str = "<f4", fortran: bool = False, data: bytes | None = None) -> bytes:
    import io
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": fortran, "shape": shape})
    header = buffer.getvalue()
    return header + (data if data is not None else bytes(int(np.prod(shape)) * 4))


def manifest_mutations(base: dict) -> list[tuple[str, str, Callable[[dict], Any]]]:
    """(kind, description, change) for every field: wrong values, ANSI in strings, names, sizes."""
    out: list[tuple[str, str, Callable[[dict], Any]]] = []
    for path in field_paths(base):
        for value in WRONG_VALUES:
            out.append(("field", f"{'.'.join(map(str, path))} = {json.dumps(value)[:24]}",
                        lambda m, p=path, v=value: set_path(m, p, v)))
        if isinstance(get_path(base, path), str):
            out.append(("ansi", f"ANSI in {'.'.join(map(str, path))}",
                        lambda m, p=path: set_path(m, p, ANSI + get_path(m, p))))
        out.append(("field", f"drop {'.'.join(map(str, path))}",
                    lambda m, p=path: get_path(m, p[:-1]).pop(p[-1])))
    for name in NAMES:
        out.append(("name", f"name {name!r}", lambda m, n=name: m.update(name=n)))
    for key, value in [("max", 10**6), ("max", 0), ("min", -5), ("multiple", 0), ("multiple", 10**9),
                       ("min", 4000)]:
        out.append(("size", f"sizes.{key} = {value}", lambda m, k=key, v=value: m["image"]["sizes"].update({k: v})))
    for h, w in [(0, 0), (2000, 2000), (10**6, 1), (-1, 64)]:
        out.append(("size", f"fixed {h}x{w}",
                    lambda m, h=h, w=w: m["image"].update(sizes={"kind": "fixed", "height": h, "width": w})))
    for train in (0, 30000, 2**40, 1025):
        out.append(("size", f"train_size {train}", lambda m, t=train: m["image"].update(train_size=t)))
    for dim in (0, 9, 10**6):
        out.append(("size", f"style.dim {dim}", lambda m, d=dim: m["style"].update(dim=d)))
    out.append(("size", "array shape 10^5 x 10^5", lambda m: m["arrays"][0].update(shape=[10**5, 10**5])))
    out.append(("size", "graphs x 500", lambda m: m.update(graphs=m["graphs"] * 500)))
    out.append(("size", "300 domains", lambda m: m["domains"].extend({"id": f"d{i}", "name": "d"}
                                                                       for i in range(300))))
    return out


def raw_manifest_mutations() -> list[tuple[str, str, Callable[[str], str]]]:
    """(kind, description, change of the manifest's JSON text)."""
    def tail(text: str) -> Callable[[str], str]:
        return lambda raw: raw.rstrip()[:-1] + text + "}"
    return [
        ("json", "nesting 10^5", tail(', "deep": ' + "[" * 100_000 + "]" * 100_000)),
        ("json", "nesting 40", tail(', "deep": ' + "[" * 40 + "]" * 40)),
        ("json", "int of 5000 digits", tail(', "big": ' + "9" * 5000)),
        ("json", "NaN normalisation", lambda raw: raw.replace('"mean": [', '"mean": [NaN, ', 1)),
        ("json", "not UTF-8", lambda raw: raw.replace('"title": "', '"title": "\udcff', 1)),
        ("json", "5 MiB manifest", tail(', "pad": "' + "x" * (5 * 1024**2) + '"')),
        ("json", "truncated", lambda raw: raw[: len(raw) // 2]),
        ("json", "a list", lambda raw: "[" + raw + "]"),
        ("json", "empty", lambda raw: ""),
    ]


def npy_mutations() -> list[tuple[str, str, bytes]]:
    good_header = npy_bytes((4,))
    return [
        ("npy", "zero bytes", b""),
        ("npy", "magic only", b"\x93NUMPY\x01\x00"),
        ("npy", "truncated data", good_header[:-3]),
        ("npy", "padded data", good_header + bytes(64)),
        ("npy", "huge shape in header", npy_bytes((4 * 10**9,), data=bytes(16))),
        ("npy", "object dtype", npy_bytes((4,), descr="|O", data=b"\x80\x04K\x01.")),
        ("npy", "big-endian", npy_bytes((4,), descr=">f4")),
        ("npy", "fortran 2-D", npy_bytes((2, 2), fortran=True)),
        ("npy", "version 3", good_header.replace(b"\x01\x00", b"\x03\x00", 1)),
        ("npy", "header garbage", b"\x93NUMPY\x01\x00\x10\x00{'descr': __import__}\n"),
    ]


def archive_mutations(folder: Path) -> list[tuple[str, str, Callable[[Path], None]]]:
    """(kind, description, build(archive path)) for zip tricks on the untampered folder."""
    def plain(**kw: Any) -> Callable[[Path], None]:
        return lambda archive: zip_folder(folder, archive, **kw) and None

    def methods(method: int) -> Callable[[Path], None]:
        return lambda archive: (zip_folder(folder, archive), set_method(archive, method))[-1]

    def link(archive: Path) -> None:
        info = zipfile.ZipInfo("link.onnx")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zip_folder(folder, archive, extra=[(info, b"/etc/passwd")])

    def encrypted(archive: Path) -> None:
        info = zipfile.ZipInfo("x.npy")
        info.flag_bits |= 0x1
        zip_folder(folder, archive, extra=[(info, b"x")])

    def truncated(archive: Path) -> None:
        zip_folder(folder, archive)
        archive.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])

    def bitflip(archive: Path) -> None:
        zip_folder(folder, archive, method=zipfile.ZIP_DEFLATED)
        data = bytearray(archive.read_bytes())
        data[len(data) // 3] ^= 0xFF
        archive.write_bytes(bytes(data))

    out: list[tuple[str, str, Callable[[Path], None]]] = [
        ("zip", "stored", plain()),
        ("zip", "deflated", plain(method=zipfile.ZIP_DEFLATED)),
        ("zip", "bzip2 (valid)", plain(method=zipfile.ZIP_BZIP2)),
        ("zip", "lzma (valid)", plain(method=zipfile.ZIP_LZMA)),
        ("zip", "symlink entry", link),
        ("zip", "encrypted flag", encrypted),
        ("zip", "truncated archive", truncated),
        ("zip", "bit flip in deflate data", bitflip),
        ("zip", "not a zip", lambda archive: archive.write_bytes(b"hello")),
        ("zip", "empty zip", lambda archive: zipfile.ZipFile(archive, "w").close()),
    ]
    for method in (1, 6, 9, 12, 14, 93, 99, 65535):
        out.append(("zip", f"method field {method}", methods(method)))
    for name in ["x" * 300 + ".onnx", "../evil.onnx", "/abs.onnx", "C:/win.onnx", "sub/x.onnx", "sub/",
                 "a\\b.onnx", "manifest.json", ".hidden", "\x1b[31m.onnx", "junk.bin"]:
        out.append(("zip", f"extra entry {name[:30]!r}", plain(extra=[(name, b"x")])))
    out.append(("zip", "unlisted 100 MiB of zeros (deflated)",
                plain(method=zipfile.ZIP_DEFLATED, extra=[("big.bin", bytes(100 * 1024**2))])))
    return out


def build_mutants(base: Path) -> list[Mutant]:
    """Every mutant, as a folder or ``.i2i`` (manifest and npy mutants alternate between the two)."""
    manifest = load_manifest(base)
    mutants: list[Mutant] = []

    def publish(kind: str, what: str, change: Callable[[Path], None]) -> None:
        as_archive = len(mutants) % 2 == 1

        def build(target: Path) -> Path:
            folder = target.with_suffix("")
            shutil.copytree(base, folder)
            change(folder)
            if not as_archive:
                return folder
            archive = zip_folder(folder, target.with_suffix(".i2i"))
            shutil.rmtree(folder)
            return archive
        mutants.append(Mutant(kind, what + (" (.i2i)" if as_archive else ""), build))

    for kind, what, change in manifest_mutations(manifest):
        def apply(folder: Path, change=change) -> None:
            m = load_manifest(folder)
            try:
                change(m)
            except (KeyError, IndexError, TypeError, AttributeError):
                pass  # the path vanished under an earlier change: the mutant is the untampered bundle
            save_manifest(folder, m)
        publish(kind, what, apply)
    for kind, what, change in raw_manifest_mutations():
        def apply_raw(folder: Path, change=change) -> None:
            path = folder / "manifest.json"
            path.write_bytes(change(path.read_text(encoding="utf-8")).encode("utf-8", "surrogateescape"))
        publish(kind, what, apply_raw)
    array_file = manifest["arrays"][0]["file"]
    for kind, what, data in npy_mutations():
        def apply_npy(folder: Path, data=data) -> None:
            (folder / array_file).write_bytes(data)
            save_manifest(folder, load_manifest(folder))
        publish(kind, what, apply_npy)
    for kind, what, make in archive_mutations(base):
        mutants.append(Mutant(kind, what, lambda target, make=make: (make(target.with_suffix(".i2i")),
                                                                      target.with_suffix(".i2i"))[1]))
    return mutants


# ---------------------------------------------------------------- running them


def limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def run_cli(args: list[str], home: Path) -> tuple[int | None, str, str]:
    env = dict(os.environ, I2I_STUDIO_HOME=str(home), OMP_NUM_THREADS="1")
    try:
        done = subprocess.run([sys.executable, "-m", "desktop.cli", *args], cwd=REPO, env=env,
                              capture_output=True, timeout=TIMEOUT_S, preexec_fn=limit_memory,
                              text=True, errors="replace")
    except subprocess.TimeoutExpired:
        return None, "", ""
    return done.returncode, done.stdout, done.stderr


def classify(mutant: Mutant, image: Path, scratch: Path) -> Result:
    start = time.perf_counter()
    home = Path(tempfile.mkdtemp(prefix="home-", dir=scratch))
    path = mutant.build(Path(tempfile.mkdtemp(prefix="mutant-", dir=scratch)) / "bundle")
    runs = [run_cli(["models", "--check", str(path)], home),
            run_cli(["translate", str(image), "-o", str(home / "out"), "--model", str(path), "--seed", "0"], home)]
    reason = ""
    codes = [code for code, _, _ in runs]
    for (code, out, err), name in zip(runs, ("check", "translate")):
        if code is None:
            reason = f"{name}: hang (> {TIMEOUT_S} s)"
        elif code < 0:
            reason = f"{name}: killed by signal {-code}"
        elif "Traceback" in err or "Traceback" in out:
            reason = f"{name}: traceback: {err.strip().splitlines()[-1][:120]}"
        elif any(ch in out or ch in err for ch in UNSAFE):
            reason = f"{name}: escape/control character reached the terminal"
        elif code != 0 and (code not in (1, 2) or len(err.strip().splitlines()) != 1):
            reason = f"{name}: exit {code} with {len(err.strip().splitlines())} error lines"
        if reason:
            break
    cache = home / "cache" / "bundles"
    left = sorted(cache.iterdir()) if cache.is_dir() else []
    if not reason and codes[0] != codes[1] and 0 in codes:
        reason = f"check exit {codes[0]}, translate exit {codes[1]}"
    if not reason and codes[0] != 0 and left:
        reason = f"refused, but left {len(left)} extraction(s) in the cache"
    if reason:
        outcome = "FAILED"
    elif codes == [0, 0]:
        outcome, reason = "worked", ""
    else:
        outcome, reason = "refused", runs[0][2].strip() or runs[1][2].strip()
    shutil.rmtree(home, ignore_errors=True)
    shutil.rmtree(path.parent, ignore_errors=True)
    return Result(mutant.kind, mutant.what, outcome, reason[:200], time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=400, help="mutants to run (spread over every kind)")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tampered-archives-") as tmp:
        scratch = Path(tmp)
        image = write_image(scratch / "input.png",
                            np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8))
        mutants = build_mutants(BASE)  # read only: each mutant starts from its own copy
        step = max(1, len(mutants) / max(args.count, 1))
        chosen = [mutants[int(i * step)] for i in range(min(args.count, len(mutants)))]
        print(f"{len(mutants)} mutants built; running {len(chosen)} (jobs {args.jobs}, timeout {TIMEOUT_S} s, "
              f"address space {MEMORY_LIMIT / 1024**3:.0f} GiB)", flush=True)
        with ThreadPoolExecutor(args.jobs) as pool:
            results = list(pool.map(lambda m: classify(m, image, scratch), chosen))
    totals = Counter(r.outcome for r in results)
    print(f"\n{'kind':<8}" + "".join(f"{o:>9}" for o in (*OUTCOMES, "total")))
    for kind in sorted({r.kind for r in results}):
        counts = [sum(r.kind == kind and r.outcome == o for r in results) for o in OUTCOMES]
        print(f"{kind:<8}" + "".join(f"{n:>9}" for n in (*counts, sum(counts))))
    print(f"{'all':<8}" + "".join(f"{n:>9}" for n in (*(totals[o] for o in OUTCOMES), len(results))))
    for r in results:
        if r.outcome == "FAILED":
            print(f"FAILED  {r.kind:<6} {r.what[:60]!r}: {r.reason}")
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / "tampered_archives.json"
    out.write_text(json.dumps({"totals": dict(totals), "results": [asdict(r) for r in results]}, indent=1),
                   encoding="utf-8")
    print(f"wrote {out}")
    return 1 if totals["FAILED"] else 0


if __name__ == "__main__":
    sys.exit(main())

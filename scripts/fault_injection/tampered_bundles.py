"""Fault injection at the graph level: hundreds of tampered bundles through ``i2i models --check`` and
``i2i translate``, each in its own subprocess with a timeout and an address-space limit.

The mutants start from the tiny real bundles of every family (``devkit/bundle_factory.py``; needs torch
and onnx, like the tests) and are re-hashed after each change, so only the graph-level defences can catch
them: bit flips and rescaled weights, NaN/inf in arrays and normalisation, a NaN or black decoder, an
inserted Loop/If/custom op, a wrong style dim, empty or huge sizes, huge or lying weight dims, a Resize
scale a thousand times too large, a tampered self-test record. Each mutant ends in one of:

- ``refused``: ``translate`` (and ``--check``) exit 1/2 with one-line ``i2i:`` messages, no traceback;
- ``fine``: ``translate`` exits 0 and its output is within the bundle's self-test tolerance of the
  untampered bundle's output for the same input and style;
- ``drift``: ``translate`` exits 0 with an output further than that from the untampered one, but neither
  flat nor more than ``GARBAGE_LEVELS`` away (the tampering passed the self-test, and shows a little);
- ``FAILED``: a traceback, a hang (timeout), a crash (signal), a garbage image with exit 0 (flat, or more
  than ``GARBAGE_LEVELS`` from the untampered output), or ``--check`` saying ok for a bundle that then
  fails to translate.

Usage: ``python scripts/fault_injection/tampered_bundles.py [--count 300] [--jobs 2] [--results DIR]``.
Prints a table and writes ``tampered_bundles.json`` into ``--results`` (default ``benchmarks/results``).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import devkit.bundle_mutants as bm  # noqa: E402  (needs onnx)
from desktop.runtime.selftest import output_stats, self_test_images  # noqa: E402
from devkit.bundle_factory import TINY_BUNDLE_FAMILIES, build_bundle  # noqa: E402
from i2i_common.images import read_image, write_image  # noqa: E402

GARBAGE_LEVELS = 16.0  # a digest this far (0-255 levels) from the untampered output is a different picture
FLAT_STD = 1.0  # an output whose channels all vary less than this is flat
OUTCOMES = ("refused", "fine", "drift", "FAILED")

Mutation = Callable[[np.random.Generator, Path, dict], str]  # changes the folder, returns a description


def _graph_files(manifest: dict) -> list[str]:
    return [g["file"] for g in manifest["graphs"]]


def _float_weights(model: onnx.ModelProto) -> list[str]:
    kinds = (onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16)
    return [t.name for t in model.graph.initializer if t.data_type in kinds and np.prod(t.dims) > 1]


def _pick(rng: np.random.Generator, items: list) -> Any:
    return items[int(rng.integers(len(items)))]


def _edit_weight(rng: np.random.Generator, folder: Path, manifest: dict,
                 change: Callable[[np.ndarray], np.ndarray]) -> str:
    """Apply ``change`` to a random float weight of a random float graph; returns "file:weight"."""
    file = _pick(rng, [f for f in _graph_files(manifest) if ".int8." not in f])
    model = onnx.load(str(folder / file))
    name = _pick(rng, _float_weights(model))
    bm.set_values(model, name, change)
    onnx.save(model, str(folder / file))
    bm.rehash(folder)
    return f"{file}:{name}"


def bit_flip(rng, folder, manifest) -> str:
    index, bit = int(rng.integers(1 << 30)), int(rng.integers(32))
    return f"{_edit_weight(rng, folder, manifest, lambda w: bm.flip_bit(w, index, bit))}[{index}] bit {bit}"


def scale_weight(rng, folder, manifest) -> str:
    factor = float(_pick(rng, [0.0, -1.0, 1e-3, 1e3, 1e30]))
    with np.errstate(over="ignore"):  # 1e30 overflows float16 weights to inf, as intended
        return f"{_edit_weight(rng, folder, manifest, lambda w: w * factor)} x {factor:g}"


def array_values(rng, folder, manifest) -> str:
    if not manifest["arrays"]:
        return normalisation(rng, folder, manifest)
    file = _pick(rng, [a["file"] for a in manifest["arrays"]])
    value = float(_pick(rng, [np.nan, np.inf, -np.inf, 1e30]))
    index = int(rng.integers(1 << 20))
    bm.edit_array(folder, file, lambda v: np.where(np.arange(v.size).reshape(v.shape) == index % v.size, value, v))
    return f"{file}[{index}] = {value}"


def normalisation(rng, folder, manifest) -> str:
    key, value = _pick(rng, ["mean", "std"]), float(_pick(rng, [np.nan, np.inf, -np.inf]))
    channel = int(rng.integers(3))
    bm.edit_manifest(folder, lambda m: m["image"]["normalization"][key].__setitem__(channel, value))
    return f"normalization.{key}[{channel}] = {value}"


def decoder(rng, folder, manifest) -> str:
    candidates = [f for f in _graph_files(manifest) if "decoder" in f or "generator" in f]
    file, change = _pick(rng, candidates), _pick(rng, [bm.nan_decoder, bm.black_decoder])
    if ".int8." in file:
        file = file.replace(".int8.", ".")
    bm.edit_graph(folder, file, change)
    return f"{file}: {change.__name__}"


def control_flow(rng, folder, manifest) -> str:
    file = _pick(rng, _graph_files(manifest))
    kind = _pick(rng, ["loop", "if", "custom", "sin"])
    change = {"loop": bm.insert_loop, "if": bm.insert_if, "custom": lambda m: bm.insert_op(m, "Evil", "com.evil"),
              "sin": lambda m: bm.insert_op(m, "Sin")}[kind]
    bm.edit_graph(folder, file, change)
    return f"{file}: {kind}"


def style_dim(rng, folder, manifest) -> str:
    if manifest["style"] is None:
        return sizes(rng, folder, manifest)
    dim = int(_pick(rng, [1, 3, 5, 9, 64]))
    drop = bool(rng.integers(2))
    bm.edit_manifest(folder, lambda m: (m["style"].update(dim=dim), m.pop("self_test") if drop else None))
    return f"style.dim = {dim}{' (self_test removed)' if drop else ''}"


def sizes(rng, folder, manifest) -> str:
    choice = _pick(rng, [{"kind": "fixed", "height": 0, "width": 0}, {"kind": "fixed", "height": 1, "width": 1},
                         {"kind": "fixed", "height": 5000, "width": 5000},
                         {"kind": "multiple", "multiple": 4, "min": 2000, "max": 2000},
                         {"kind": "multiple", "multiple": 4, "min": 8, "max": 1 << 16}])
    train = int(_pick(rng, [manifest["image"]["train_size"], 30000]))
    bm.edit_manifest(folder, lambda m: m["image"].update(sizes=choice, train_size=train))
    return f"sizes {choice}, train_size {train}"


def weight_dims(rng, folder, manifest) -> str:
    file = _pick(rng, _graph_files(manifest))
    kind = _pick(rng, ["huge", "double", "negative"])
    def change(model):
        tensor = bm.initializer(model, _pick(rng, [t.name for t in model.graph.initializer if t.dims]))
        dims = list(tensor.dims)
        tensor.dims[:] = {"huge": [1 << 20, 1 << 20], "double": [dims[0] * 2, *dims[1:]],
                          "negative": [-1, *dims[1:]]}[kind]
    bm.edit_graph(folder, file, change)
    return f"{file}: {kind} dims"


def resize_scale(rng, folder, manifest) -> str:
    """A constant Resize scale multiplied by 1000: the graph asks for a million times the pixels."""
    for file in rng.permutation(_graph_files(manifest)):
        model = onnx.load(str(folder / file))
        if bm.scale_resize(model):
            onnx.save(model, str(folder / file))
            bm.rehash(folder)
            return f"{file}: Resize scales x 1000"
    return weight_dims(rng, folder, manifest)


def self_test_record(rng, folder, manifest) -> str:
    kind = _pick(rng, ["shift", "tolerance", "garbage"])
    def change(m):
        entry = m["self_test"]["precisions"]["fp32"]
        case = _pick(rng, sorted(entry["outputs"]))
        if kind == "shift":
            entry["outputs"][case]["mean"][0] = min(255.0, entry["outputs"][case]["mean"][0] + 40)
        elif kind == "tolerance":
            entry["tolerance"] = -1
        else:
            entry["outputs"][case] = "garbage"
    bm.edit_manifest(folder, change)
    return f"self_test: {kind}"


MUTATIONS: dict[str, Mutation] = {f.__name__: f for f in (
    bit_flip, scale_weight, array_values, normalisation, decoder, control_flow, style_dim, sizes, weight_dims,
    resize_scale, self_test_record)}
# the order mutants are made in; bit flips, the commonest corruption, make up a quarter of them
KINDS = ["bit_flip", "bit_flip", "bit_flip", *(k for k in MUTATIONS if k != "bit_flip")]


@dataclass
class Run:
    rc: int | None  # None: timed out
    stderr: str
    seconds: float

    def verdict(self) -> str:
        """ok / refused / FAILED:<why>."""
        lines = [line for line in self.stderr.splitlines() if line.strip()]
        if self.rc is None:
            return "FAILED:hang"
        if self.rc < 0:
            return f"FAILED:signal {-self.rc}"
        if "Traceback" in self.stderr:
            return "FAILED:traceback"
        if self.rc == 0:
            return "ok"
        if self.rc in (1, 2) and lines and all(line.startswith("i2i:") for line in lines):
            return "refused"
        return f"FAILED:exit {self.rc} {lines[-1][:80] if lines else '(no message)'}"


def run_cli(args: list[str], env: dict, timeout: float, memory: int) -> Run:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    start = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, "-m", "desktop.cli", *args], capture_output=True, text=True,
                              env=env, timeout=timeout, preexec_fn=limit, cwd=REPO)
        return Run(proc.returncode, proc.stderr, time.monotonic() - start)
    except subprocess.TimeoutExpired:
        return Run(None, "", time.monotonic() - start)


def translate_args(bundle: Path, family: str, precision: str, image: Path, out: Path) -> list[str]:
    style = ["--style", "typical"] if family == "tunit" else ([] if family == "ugatit" else ["--seed", "1"])
    return ["translate", str(image), "-o", str(out), "--model", str(bundle), "--provider", "cpu",
            "--precision", precision, *style]


def precision_of(description: str) -> str:
    return next((p for p in ("fp16", "int8") if f".{p}." in description), "fp32")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="mutants to make (default 300)")
    parser.add_argument("--jobs", type=int, default=2, help="mutants run at the same time (default 2)")
    parser.add_argument("--kinds", default=",".join(MUTATIONS), help="mutation kinds to make (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per command (default 60)")
    parser.add_argument("--memory-gib", type=float, default=4.0, help="RLIMIT_AS per command (default 4 GiB)")
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temporary one)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="i2i-tampered-", dir=args.work))
    env = {**os.environ, "PYTHONPATH": str(REPO), "I2I_STUDIO_HOME": str(work / "home"), "OMP_NUM_THREADS": "1"}
    os.environ["I2I_STUDIO_HOME"] = env["I2I_STUDIO_HOME"]
    memory = int(args.memory_gib * 1024**3)
    originals = {f: build_bundle(f, work / "originals" / f, int8=True, fp16=True) for f in TINY_BUNDLE_FAMILIES}
    image = work / "input.png"
    write_image(image, self_test_images(args.seed + 7, 40, 48)[0])

    references: dict[tuple[str, str], Any] = {}
    for family, bundle in originals.items():
        for precision in bundle.precisions():
            out = work / "reference" / f"{family}-{precision}.png"
            run = run_cli(translate_args(bundle.path, family, precision, image, out), env, args.timeout, memory)
            if run.rc != 0:
                raise SystemExit(f"untampered {family} {precision} failed to translate: {run.stderr.strip()}")
            tolerance = bundle.manifest["self_test"]["precisions"][precision]["tolerance"]
            references[family, precision] = (output_stats(read_image(out)), tolerance)

    kinds = [k for k in KINDS if k in args.kinds.split(",")]
    rng = np.random.default_rng(args.seed)
    plans = []
    for i in range(args.count):
        rounds, turn = divmod(i, len(TINY_BUNDLE_FAMILIES))
        family, kind = TINY_BUNDLE_FAMILIES[turn], kinds[rounds % len(kinds)]
        folder = bm.copy_bundle(originals[family].path, work / "mutants" / f"{i:04d}-{family}-{kind}")
        description = MUTATIONS[kind](rng, folder, bm.read_manifest(folder))
        plans.append((i, family, kind, description, folder))

    def judge(plan) -> dict[str, Any]:
        i, family, kind, description, folder = plan
        precision = precision_of(description)
        check = run_cli(["models", "--check", str(folder)], env, args.timeout, memory)
        out = work / "outputs" / f"{i:04d}.png"
        translate = run_cli(translate_args(folder, family, precision, image, out), env, args.timeout, memory)
        check_v, translate_v = check.verdict(), translate.verdict()
        outcome, reason = "refused", ""
        if translate_v.startswith("FAILED") or check_v.startswith("FAILED"):
            outcome, reason = "FAILED", translate_v if translate_v.startswith("FAILED") else f"check {check_v}"
        elif translate_v == "ok" and not out.is_file():
            outcome, reason = "FAILED", "exit 0 without an output"
        elif translate_v == "ok":
            expected, tolerance = references[family, precision]
            stats = output_stats(read_image(out))
            deviation = stats.deviation(expected)
            reason = f"deviation {deviation:.1f} (tolerance {tolerance:.1f})"
            if max(stats.std) < FLAT_STD or deviation > GARBAGE_LEVELS:
                outcome, reason = "FAILED", f"garbage image with exit 0: {reason}, std {max(stats.std):.1f}"
            else:
                outcome = "fine" if deviation <= tolerance else "drift"
        elif check_v == "ok":
            outcome, reason = "FAILED", "--check said ok, translate refused"
        lines = [line for line in translate.stderr.splitlines() if line.startswith("i2i: error:")]
        return {"id": i, "family": family, "kind": kind, "mutation": description, "precision": precision,
                "outcome": outcome, "reason": reason, "check": {**asdict(check), "verdict": check_v},
                "translate": {**asdict(translate), "verdict": translate_v},
                "message": lines[0] if lines else check.stderr.strip()[:300]}

    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        results = list(pool.map(judge, plans))
    elapsed = time.monotonic() - start

    table = Counter((r["kind"], r["outcome"]) for r in results)
    print(f"{'mutation':<18}{'tried':>7}" + "".join(f"{o:>9}" for o in OUTCOMES))
    totals = Counter(r["outcome"] for r in results)
    for kind in [*dict.fromkeys(kinds), "total"]:
        row = [totals[o] if kind == "total" else table[kind, o] for o in OUTCOMES]
        print(f"{kind:<18}{sum(row):>7}" + "".join(f"{n:>9}" for n in row))
    print(f"({elapsed:.0f} s, {args.jobs} jobs)")
    for r in results:
        if r["outcome"] in ("drift", "FAILED"):
            print(f"{r['outcome']} {r['id']:04d} {r['family']} {r['mutation']}: {r['reason']}")
    args.results.mkdir(parents=True, exist_ok=True)
    report = {"count": len(results), "seed": args.seed, "seconds": elapsed, "jobs": args.jobs,
              "timeout_s": args.timeout, "memory_gib": args.memory_gib, "totals": dict(totals), "results": results}
    path = args.results / "tampered_bundles.json"
    path.write_text(json.dumps(report, indent=2), encoding="utf-8")
    print(f"wrote {path}")
    return 1 if totals["FAILED"] else 0


if __name__ == "__main__":
    sys.exit(main())

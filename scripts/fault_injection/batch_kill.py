"""Kill -9 a real ``i2i batch`` at random moments of a job (and right after it finishes), re-run, repeat.

Checks after every round and at the end: no output half-written (each output decodes), no output
rewritten once written (file identity and mtime are kept), no temporary file left after a completed
run, every input translated exactly once, inputs unchanged (SHA-256). Prints a table and writes JSON.

    python scripts/fault_injection/batch_kill.py --files 300 --kills 60 [--model NAME|PATH] [--results DIR]

Without ``--model`` a tiny untrained bundle is built (needs torch: this is a development tool).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from i2i_common.atomic import TEMP_NAME, write_bytes  # noqa: E402


def make_inputs(folder: Path, count: int, size: int, rng: np.random.Generator) -> dict[str, str]:
    """``count`` small noisy JPEGs in two sub-folders; returns name -> SHA-256."""
    for k in range(count):
        path = folder / f"d{k % 2}" / f"img_{k:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 256, (size, size, 3), np.uint8))
    return hashes(folder)


def hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def tiny_model(work: Path) -> str:
    from devkit.bundle_factory import build_bundle  # torch is fine here: this harness is not the app

    return str(build_bundle("munit", work / "tiny-munit").path)


def job_state(queue: Path) -> str | None:
    try:
        with sqlite3.connect(f"file:{queue}?mode=ro", uri=True, timeout=5) as db:
            row = db.execute("SELECT state FROM jobs ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return None
    return None if row is None else row[0]


def snapshot(out: Path) -> dict[str, tuple[int, int, int]]:
    """Output name -> (inode, mtime_ns, size) of the finished outputs; temps are not outputs."""
    return {p.relative_to(out).as_posix(): (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in out.rglob("*.png") if p.is_file() and not TEMP_NAME.match(p.name)}


def temps(out: Path) -> list[str]:
    return [p.name for p in out.rglob(".*") if TEMP_NAME.match(p.name)] if out.exists() else []


def undecodable(out: Path, names) -> list[str]:
    return [n for n in names if cv2.imread(str(out / n), cv2.IMREAD_UNCHANGED) is None]


def run_cycle(cycle: int, command: list[str], env: dict, duration: float, after_done: float,
              pick: random.Random, rows: list[dict]) -> dict:
    """Kill one job again and again until a run finishes it by itself, then run it once more (it must say
    'already done' and rewrite nothing). Appends a row per round to ``rows``; returns the job's findings."""
    out, queue = Path(command[command.index("-o") + 1]), Path(command[command.index("--queue") + 1])
    seen: dict[str, tuple[int, int, int]] = {}
    rewritten: set[str] = set()
    half_written: set[str] = set()

    def observe() -> int:
        now = snapshot(out)
        rewritten.update(name for name, ident in now.items() if seen.setdefault(name, ident) != ident)
        half_written.update(undecodable(out, now))
        return len(now)

    finished = False
    while not finished:
        aim = "after done" if pick.random() < after_done else "random"
        child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        t0 = time.perf_counter()
        if aim == "after done":
            while child.poll() is None and job_state(queue) != "done":
                time.sleep(0.002)
        else:
            deadline = t0 + pick.uniform(0, duration * 1.1)
            while child.poll() is None and time.perf_counter() < deadline:
                time.sleep(0.005)
        killed = child.poll() is None
        if killed:
            child.send_signal(signal.SIGKILL)
        finished = child.wait() == 0 and not killed
        rows.append({"cycle": cycle, "round": len(rows) + 1, "aim": aim, "at_s": round(time.perf_counter() - t0, 3),
                     "killed": killed, "outputs": observe(), "temps_left": len(temps(out))})
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    observe()
    inputs = Path(command[command.index("batch") + 1])
    expected = {Path(rel).with_name(Path(rel).stem + "_a2b.png").as_posix() for rel in hashes(inputs)}
    last = snapshot(out)
    return {"final_exit": again.returncode, "already_done": "already done" in again.stderr,
            "outputs": len(last), "missing": set(expected - last.keys()), "unexpected": set(last.keys() - expected),
            "rewritten": rewritten, "half_written": half_written, "temps_after_final_run": set(temps(out))}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--after-done", type=float, default=0.2,
                        help="share of the kills aimed at the moment the job is marked done")
    parser.add_argument("--size", type=int, default=192, help="side of the generated inputs (pixels)")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    rng, pick = np.random.default_rng(args.seed), random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="i2i-batch-kill-") as tmp:
        work = Path(tmp)
        model = args.model or tiny_model(work)
        inputs = work / "in"
        before = make_inputs(inputs, args.files, args.size, rng)
        env = {**os.environ, "PYTHONPATH": str(REPO), "I2I_STUDIO_HOME": str(work / "home")}

        def batch(target: Path, queue_file: Path) -> list[str]:
            return [sys.executable, "-m", "desktop.cli", "batch", str(inputs), "-o", str(target), "--model", model,
                    "--recursive", "--queue", str(queue_file), "--seed", "3"]

        # one undisturbed timing run elsewhere, to aim the kills over the whole job (start-up included)
        started = time.perf_counter()
        timing = subprocess.run(batch(work / "timing", work / "timing.sqlite3"), env=env, capture_output=True,
                                text=True, timeout=3600)
        duration = time.perf_counter() - started
        if timing.returncode != 0:
            print(f"the undisturbed run failed: {timing.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1

        rows, cycles = [], []
        while sum(r["killed"] for r in rows) < args.kills and len(cycles) < 2 * args.kills + 5:
            n = len(cycles) + 1
            cycles.append(run_cycle(n, batch(work / f"out{n}", work / f"q{n}.sqlite3"), env, duration,
                                    args.after_done, pick, rows))
        summary = {
            "files": args.files, "cycles": len(cycles), "kills": sum(r["killed"] for r in rows), "rounds": len(rows),
            "kills_aimed_after_done": sum(r["killed"] and r["aim"] == "after done" for r in rows),
            "job_duration_s": round(duration, 2),
            "bad_final_exits": [c["final_exit"] for c in cycles if c["final_exit"] != 0],
            "not_already_done": sum(not c["already_done"] for c in cycles),
            "outputs": sum(c["outputs"] for c in cycles), "expected": len(cycles) * args.files,
            **{key: sorted(set().union(*(c[key] for c in cycles))) for key in
               ("missing", "unexpected", "rewritten", "half_written", "temps_after_final_run")},
            "inputs_unchanged": hashes(inputs) == before,
        }
    ok = (summary["outputs"] == summary["expected"] and not summary["bad_final_exits"]
          and not summary["not_already_done"] and summary["inputs_unchanged"]
          and not any(summary[key] for key in ("missing", "unexpected", "rewritten", "half_written",
                                               "temps_after_final_run")))
    print(f"{'job':>3} {'round':>5} {'aim':>10} {'at s':>7} {'killed':>6} {'outputs':>7} {'temps':>5}")
    for r in rows:
        print(f"{r['cycle']:>3} {r['round']:>5} {r['aim']:>10} {r['at_s']:>7.2f} {str(r['killed']):>6} "
              f"{r['outputs']:>7} "
              f"{r['temps_left']:>5}")
    print(f"\n{summary['kills']} kills ({summary['kills_aimed_after_done']} right after 'done') in "
          f"{summary['rounds']} rounds, {summary['cycles']} jobs of {args.files} files "
          f"({summary['job_duration_s']} s undisturbed)")
    print(f"outputs {summary['outputs']}/{summary['expected']}, missing {len(summary['missing'])}, "
          f"rewritten {len(summary['rewritten'])}, half-written {len(summary['half_written'])}, "
          f"temps left {len(summary['temps_after_final_run'])}, re-runs not 'already done' "
          f"{summary['not_already_done']}, inputs unchanged {summary['inputs_unchanged']} "
          f"-> {'PASS' if ok else 'FAIL'}")
    args.results.mkdir(parents=True, exist_ok=True)
    report = args.results / "batch_kill.json"
    write_bytes(report, (json.dumps({"summary": summary, "ok": ok, "rounds": rows}, indent=2) + "\n").encode())
    print(f"wrote {report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

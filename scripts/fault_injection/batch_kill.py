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


def make_inputs(folder: Path, count: int, rng: np.random.Generator) -> dict[str, str]:
    """``count`` small noisy JPEGs in two sub-folders; returns name -> SHA-256."""
    for k in range(count):
        path = folder / f"d{k % 2}" / f"img_{k:04d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), rng.integers(0, 256, (48, 64, 3), np.uint8))
    return hashes(folder)


def hashes(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def tiny_model(work: Path) -> str:
    sys.path.insert(0, str(REPO / "tests"))
    from bundle_factory import build_bundle  # torch is fine here: this harness is not the app

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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--kills", type=int, default=60)
    parser.add_argument("--after-done", type=float, default=0.2,
                        help="share of the kills aimed at the moment the job is marked done")
    parser.add_argument("--model", default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    rng, pick = np.random.default_rng(args.seed), random.Random(args.seed)

    with tempfile.TemporaryDirectory(prefix="i2i-batch-kill-") as tmp:
        work = Path(tmp)
        model = args.model or tiny_model(work)
        inputs, out, queue = work / "in", work / "out", work / "queue.sqlite3"
        before = make_inputs(inputs, args.files, rng)
        env = {**os.environ, "PYTHONPATH": str(REPO), "I2I_STUDIO_HOME": str(work / "home")}

        def batch(target: Path, queue_file: Path) -> list[str]:
            return [sys.executable, "-m", "desktop.cli", "batch", str(inputs), "-o", str(target), "--model", model,
                    "--recursive", "--queue", str(queue_file), "--seed", "3"]

        command = batch(out, queue)
        # one undisturbed timing run elsewhere, to aim the kills over the whole job (start-up included)
        started = time.perf_counter()
        timing = subprocess.run(batch(work / "timing", work / "timing.sqlite3"), env=env, capture_output=True,
                                text=True, timeout=3600)
        duration = time.perf_counter() - started
        if timing.returncode != 0:
            print(f"the undisturbed run failed: {timing.stderr.strip().splitlines()[-1:]}", file=sys.stderr)
            return 1

        rows, seen, rewritten, half_written = [], {}, set(), set()
        for round_no in range(args.kills):
            after_done = pick.random() < args.after_done
            child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            t0 = time.perf_counter()
            if after_done:
                while child.poll() is None and job_state(queue) != "done":
                    time.sleep(0.002)
            else:
                time.sleep(pick.uniform(0, duration * 1.1))
            alive = child.poll() is None
            child.send_signal(signal.SIGKILL) if alive else None
            child.wait()
            now = snapshot(out)
            for name, ident in now.items():
                if name in seen and seen[name] != ident:
                    rewritten.add(name)
                seen.setdefault(name, ident)
            half_written.update(undecodable(out, now))
            rows.append({"round": round_no + 1, "aim": "after done" if after_done else "random",
                         "at_s": round(time.perf_counter() - t0, 3), "killed": alive, "outputs": len(now),
                         "temps_left": len(temps(out))})

        final = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
        last = snapshot(out)
        for name, ident in last.items():
            if name in seen and seen[name] != ident:
                rewritten.add(name)
        expected = {Path(rel).with_name(Path(rel).stem + "_a2b.png").as_posix() for rel in before}
        summary = {
            "files": args.files, "kills": sum(r["killed"] for r in rows), "rounds": len(rows),
            "aimed_after_done": sum(r["aim"] == "after done" for r in rows),
            "job_duration_s": round(duration, 2), "final_exit": final.returncode,
            "final_says": (final.stdout.strip().splitlines() or [""])[-1],
            "outputs": len(last), "missing": sorted(expected - last.keys()),
            "unexpected": sorted(last.keys() - expected),
            "rewritten": sorted(rewritten), "half_written": sorted(half_written),
            "temps_after_final_run": temps(out), "inputs_unchanged": hashes(inputs) == before,
        }
    ok = (not summary["missing"] and not summary["unexpected"] and not summary["rewritten"]
          and not summary["half_written"] and not summary["temps_after_final_run"] and summary["inputs_unchanged"]
          and summary["final_exit"] == 0)
    print(f"{'round':>5} {'aim':>10} {'at s':>7} {'killed':>6} {'outputs':>7} {'temps':>5}")
    for r in rows:
        print(f"{r['round']:>5} {r['aim']:>10} {r['at_s']:>7.2f} {str(r['killed']):>6} {r['outputs']:>7} "
              f"{r['temps_left']:>5}")
    print(f"\n{summary['kills']} kills in {summary['rounds']} rounds of a {args.files}-file job "
          f"({summary['job_duration_s']} s undisturbed); final run: exit {summary['final_exit']}, "
          f"'{summary['final_says']}'")
    print(f"outputs {summary['outputs']}/{len(expected)}, missing {len(summary['missing'])}, "
          f"rewritten {len(summary['rewritten'])}, half-written {len(summary['half_written'])}, "
          f"temps left {len(summary['temps_after_final_run'])}, inputs unchanged {summary['inputs_unchanged']}"
          f" -> {'PASS' if ok else 'FAIL'}")
    args.results.mkdir(parents=True, exist_ok=True)
    report = args.results / "batch_kill.json"
    write_bytes(report, (json.dumps({"summary": summary, "ok": ok, "rounds": rows}, indent=2) + "\n").encode())
    print(f"wrote {report}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""Quality per hour of training: one config trained with different overrides for the same wall time, one variant
after the other on this machine, each run exported (fp32) and judged by ``i2i-eval`` on the dataset's test
folders, so a setting that trains faster per image is compared by what it buys in the same time (batch size,
bf16, channels_last, widths).

    python benchmarks/quality_per_hour.py --config munit_cpu --data ../shared/data/cat2dog --minutes 15 \\
        --work /tmp/qph --variant batch1 train.batch_size=1 --variant batch8 train.batch_size=8

Each run is stopped with SIGTERM (the trainer saves a checkpoint and exits) after ``--minutes``; the runs,
bundles and i2i-eval reports stay in ``--work`` (outside the repository: they are large). Prints a table and
writes benchmarks/results/quality_per_hour.json. One run per variant: run-to-run noise is not measured.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from student import quality  # noqa: E402

from desktop.runtime.bundle import resolve_bundle  # noqa: E402
from i2i_common.atomic import write_bytes  # noqa: E402
from trainer.metrics import read_metrics  # noqa: E402
from trainer.provenance import hardware  # noqa: E402


def train_for(config: str, data: Path, out: Path, overrides: list[str], minutes: float, threads: int) -> dict:
    """Train ``config`` with ``overrides`` into ``out`` for ``minutes`` of wall time; iterations and images seen."""
    command = [sys.executable, "-m", "trainer.cli", "--config", config, "--data", str(data), "--out", str(out),
               "--device", "cpu", "--threads", str(threads), "--no-progress", *overrides]
    with (out.parent / f"{out.name}.log").open("w") as log:
        process = subprocess.Popen(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        try:
            process.wait(timeout=minutes * 60)
        except subprocess.TimeoutExpired:
            process.send_signal(signal.SIGTERM)
            process.wait()
    if process.returncode not in (0, 130):
        raise SystemExit(f"training {out.name} failed (exit {process.returncode}): see {out.parent / out.name}.log")
    batch = int(tomllib.loads((out / "config.toml").read_text())["train"]["batch_size"])
    iterations = int(read_metrics(out / "metrics.csv")[-1]["iteration"])
    return {"iterations": iterations, "images_seen": iterations * batch, "batch_size": batch}


def export(run: Path, data: Path, bundle: Path) -> None:
    """The run's newest checkpoint as an fp32 bundle."""
    command = [sys.executable, "-m", "export.cli", "--run", str(run), "--data", str(data), "--out", str(bundle),
               "--precisions", "fp32", "--overwrite"]
    subprocess.run(command, cwd=REPO, check=True, stdout=subprocess.DEVNULL)


def print_table(rows: list[dict]) -> None:
    """One line per (variant, direction): iterations, images seen, the target rate of each style mode, KID."""
    modes = list(next(iter(rows[0]["quality"].values()))["target_rate"])
    print(f"{'variant':<12} {'iterations':>10} {'images':>8} {'direction':<9} "
          + " ".join(f"{m:>9}" for m in modes) + f" {'KID x100':>9}")
    for row in rows:
        for direction, f in row["quality"].items():
            rates = " ".join(f"{f['target_rate'].get(m, float('nan')):>9.2f}" for m in modes)
            print(f"{row['variant']:<12} {row['iterations']:>10} {row['images_seen']:>8} {direction:<9} {rates} "
                  f"{f['kid_x100']:>9.1f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="shipped config name or TOML file")
    parser.add_argument("--data", type=Path, required=True, help="dataset with train and test folders")
    parser.add_argument("--variant", nargs="+", action="append", required=True, metavar="NAME [KEY=VALUE ...]",
                        help="a name and the overrides it trains with (repeat for each variant)")
    parser.add_argument("--minutes", type=float, default=15.0, help="wall time per variant (default 15)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run (default 2)")
    parser.add_argument("--work", type=Path, required=True, help="folder for the runs, bundles and reports")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "quality_per_hour.json")
    args = parser.parse_args(argv)
    if args.work.exists() and any(args.work.iterdir()):
        parser.error(f"--work {args.work} is not empty: give a new folder")
    args.work.mkdir(parents=True, exist_ok=True)

    rows = []
    for name, *overrides in args.variant:
        run, bundle = args.work / name, args.work / f"{name}.i2i"
        started = time.monotonic()
        row = {"variant": name, "overrides": overrides,
               **train_for(args.config, args.data, run, overrides, args.minutes, args.threads)}
        row["train_seconds"] = round(time.monotonic() - started, 1)
        export(run, args.data, bundle)
        row["quality"] = quality(resolve_bundle(str(bundle)), args.data, args.work / f"{name}_eval")
        rows.append(row)
    print(f"{args.config} on {args.data}, {args.minutes:g} min per variant, {args.threads} threads ({hardware()})")
    print_table(rows)
    report = {"config": args.config, "data": str(args.data), "minutes": args.minutes, "threads": args.threads,
              "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"), "machine": hardware(), "rows": rows}
    write_bytes(args.out, (json.dumps(report, indent=2) + "\n").encode("utf-8"))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

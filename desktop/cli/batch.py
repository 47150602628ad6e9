"""``i2i batch``: translate a folder headless with the app's batch engine and a progress bar."""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys
from pathlib import Path

from tqdm import tqdm

from i2i_common.filenames import printable

from ..runtime.batch import (
    BatchEngine,
    BatchQueue,
    ItemState,
    JobSpec,
    JobState,
    JobStyle,
    Progress,
    QueueError,
)
from ..runtime.paths import default_model_name
from ..runtime.translators import capabilities_of
from .translate import model_and_direction

FINISHED = (JobState.DONE, JobState.CANCELLED, JobState.FAILED)


def parse_shard(text: str) -> tuple[int, int]:
    """``"K/N"`` -> (K, N), 1 <= K <= N."""
    try:
        k, n = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shard must look like K/N (e.g. 2/8), got {text!r}") from None
    if not (n >= 1 and 1 <= k <= n):
        raise argparse.ArgumentTypeError(f"shard K/N needs 1 <= K <= N, got {text}")
    return k, n


HELP = "translate a folder of images with the app's batch engine (resumable, --shard K/N for clusters)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``batch`` options to ``parser``."""
    parser.add_argument("input", type=Path, help="folder of images to translate")
    parser.add_argument("-o", "--output", type=Path, required=True, help="folder for the results")
    parser.add_argument("--model", default=None,
                        help=f"bundle name (installed or shipped) or path (default {default_model_name()})")
    parser.add_argument("--direction", default=None, help="direction id, e.g. a2b (default: the model's first)")
    parser.add_argument("--style", default="random",
                        help="'random' (a seeded draw per image), 'typical' (the target domain's typical "
                             "style) or the path of a reference image")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random styles")
    parser.add_argument("--recursive", action="store_true", help="include sub-folders")
    parser.add_argument("--flat", action="store_true", help="do not mirror sub-folders in the output")
    parser.add_argument("--pattern", default="{stem}_{direction}.{ext}",
                        help="output name; fields: {stem} {ext} {direction} {model} {source_ext}")
    parser.add_argument("--format", choices=("png", "jpg"), default="png", dest="output_format")
    parser.add_argument("--skip-existing", action="store_true", help="leave files whose output exists")
    parser.add_argument("--shard", type=parse_shard, default=(1, 1), metavar="K/N",
                        help="process only shard K of N (stable per file name: N machines cover the folder once)")
    parser.add_argument("--provider", default="auto", help="onnxruntime provider (auto, cpu, cuda, directml, ...)")
    parser.add_argument("--queue", type=Path, default=None,
                        help="queue database (default: queue.sqlite3 in the user's data folder)")
    parser.add_argument("--failures", type=Path, default=None, help="write the failed files to this CSV")
    parser.add_argument("--include-outputs", action="store_true",
                        help="also translate files that earlier jobs of the queue wrote (left out by default)")


def spec_from_args(args: argparse.Namespace) -> JobSpec:
    """The job the arguments describe; the model and direction default as in ``i2i translate``. Random
    styles are refused here, before the job is queued, for a model that cannot draw them."""
    bundle, direction = model_and_direction(args.model, args.direction)
    can = capabilities_of(bundle)
    if args.style == "random" and can.styles and not can.random_styles:
        raise ValueError(f"{bundle.name} has no style prior to sample from: "
                         "use --style typical or --style PATH (a reference image)")
    if args.style in ("random", "typical"):
        style = JobStyle(args.style, seed=args.seed)
    else:
        style = JobStyle("reference", reference=str(Path(args.style).resolve()))
    return JobSpec(
        input_dir=str(args.input.resolve()),
        output_dir=str(args.output.resolve()),
        model=args.model or default_model_name(),
        direction=direction,
        style=style,
        recursive=args.recursive,
        output_format=args.output_format,
        pattern=args.pattern,
        keep_structure=not args.flat,
        skip_existing=args.skip_existing,
        shard=args.shard,
        provider=args.provider,
        include_outputs=args.include_outputs,
    )


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse, before any work, what would only fail later (raises ValueError with one line)."""
    if not args.input.is_dir():
        raise ValueError(f"input folder not found: {args.input}")
    if args.style not in ("random", "typical") and not Path(args.style).is_file():
        raise ValueError(f"reference image not found: {args.style}")
    if args.failures is not None:
        folder = args.failures.parent
        if args.failures.is_dir():
            raise ValueError(f"--failures {args.failures} is a folder; name a CSV file")
        if not folder.is_dir():
            raise ValueError(f"--failures {args.failures}: folder {folder} does not exist")
        if not os.access(folder, os.W_OK):
            raise ValueError(f"--failures {args.failures}: folder {folder} is not writable")


def run(args: argparse.Namespace) -> int:
    """Add (or continue) the job and run it; exit status 0 only when every file was translated or skipped."""
    try:
        check_arguments(args)
        spec = spec_from_args(args)
        queue = BatchQueue(args.queue)
    except (ValueError, QueueError) as exc:
        print(f"i2i batch: {printable(exc)}", file=sys.stderr)
        return 2
    try:
        return _run_job(queue, spec, args.failures)
    except (sqlite3.Error, OSError) as exc:  # the queue's disk filled up or vanished during the run
        print(f"i2i batch: the queue {queue.path} could not be updated: {printable(exc)}", file=sys.stderr)
        return 1


def _run_job(queue: BatchQueue, spec: JobSpec, failures_csv: Path | None) -> int:
    job_id = queue.find_same(spec)
    reopened = False
    if job_id is None:
        job_id = queue.add_job(spec)
    elif queue.job(job_id).state in FINISHED:
        queue.reopen(job_id)  # only files added since, or whose output vanished, are done again
        reopened = True
    else:
        print(f"resuming job {job_id} where it stopped", file=sys.stderr)
        queue.set_job_state(job_id, JobState.QUEUED)
    done_before = queue.job(job_id).counts[ItemState.DONE]

    bar: tqdm | None = None

    def show(progress: Progress) -> None:
        nonlocal bar
        if bar is None:  # created at the first file, so loading the model and listing files are not timed
            bar = tqdm(total=progress.total, initial=progress.finished - 1, unit="img", desc=spec.direction,
                       dynamic_ncols=True)
        bar.set_postfix(failed=progress.failed, skipped=progress.skipped, refresh=False)
        bar.update(progress.finished - bar.n)

    engine = BatchEngine(queue, on_progress=show)
    try:
        engine.run(job_id)
    except KeyboardInterrupt:
        queue.set_job_state(job_id, JobState.QUEUED, "interrupted")
        print("\ninterrupted: run the same command again to resume", file=sys.stderr)
        return 130
    finally:
        if bar is not None:
            bar.close()
    already_done = reopened and queue.job(job_id).counts[ItemState.DONE] == done_before
    if already_done:
        print(f"already done: job {job_id} ran with these settings and nothing is missing", file=sys.stderr)
    return report(queue, job_id, failures_csv, earlier=already_done)


def report(queue: BatchQueue, job_id: int, failures_csv: Path | None, earlier: bool = False) -> int:
    """Print the outcome (``earlier``: the counts are those of a previous run of the same job, nothing ran
    now); returns the exit status."""
    job = queue.job(job_id)
    if job.state == JobState.RUNNING:
        print(f"job {job_id} is being run by another i2i process; its outputs go to {job.spec.output_dir}",
              file=sys.stderr)
        return 1
    counts = job.counts
    print(f"{job.state.value}: {counts[ItemState.DONE]} translated, {counts[ItemState.SKIPPED]} skipped, "
          f"{counts[ItemState.FAILED]} failed" + (" by an earlier run" if earlier else "")
          + (f" ({job.message})" if job.message else ""))
    failures = queue.failures(job_id)
    for item in failures[:10]:
        print(f"  failed: {printable(item.rel_path)}: {item.reason}", file=sys.stderr)
    if len(failures) > 10:
        print(f"  ... and {len(failures) - 10} more", file=sys.stderr)
    if failures_csv is not None:
        try:
            queue.export_failures_csv(job_id, failures_csv)
        except OSError as exc:
            print(f"i2i batch: cannot write {failures_csv}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0 if job.state == JobState.DONE and not failures else 1

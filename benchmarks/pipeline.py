"""How much of the model's speed the app's pipelines keep.

1. Live: output FPS of ``LivePipeline`` fed by a source faster than the model, vs the model's raw
   inference rate (``translator.translate`` in a loop) on the same frames.
2. Batch: end-to-end files/s of ``BatchEngine`` (read, translate, atomic write, SQLite bookkeeping) on a
   folder of real images, vs raw inference throughput on the same images already decoded.

One run measures everything, prints a table with the ratios and writes benchmarks/results/pipeline.json.

    python benchmarks/pipeline.py [--model NAME_OR_PATH] [--frames 60] [--seconds 5] [--files 60]

Without --model it uses the first bundle in resources/models, or builds the tiny test bundle.
"""
from __future__ import annotations

import argparse
import json
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from desktop.runtime.batch import BatchEngine, BatchQueue, JobSpec, JobStyle  # noqa: E402
from desktop.runtime.bundle import find_bundles, resolve_bundle  # noqa: E402
from desktop.runtime.live import LivePipeline  # noqa: E402
from desktop.runtime.style import ExplicitStyle, RandomStyle  # noqa: E402
from desktop.runtime.translators import open_translator  # noqa: E402
from i2i_common.images import read_image  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "cat2dog" / "testA"


class LoopSource:
    """A camera made of frames in memory, repeating them for ever."""

    def __init__(self, frames: list[np.ndarray]):
        self._frames = frames
        self._next = 0
        self.size = (frames[0].shape[1], frames[0].shape[0])

    def open(self) -> None:
        self._next = 0

    def read(self) -> np.ndarray:
        frame = self._frames[self._next % len(self._frames)]
        self._next += 1
        return frame

    def close(self) -> None:
        pass


def pick_bundle(name: str | None, work: Path):
    if name:
        return resolve_bundle(name)
    shipped = find_bundles([REPO / "resources" / "models"]).bundles
    if shipped:
        return shipped[0]
    from devkit.bundle_factory import build_bundle  # torch is fine here: benchmarks are not the app

    return build_bundle("munit", work / "tiny-munit")


def raw_rate(translator, images: list[np.ndarray], direction: str, style, seconds: float,
             mode: str = "fit") -> float:
    """Images per second of translate() alone, cycling through ``images`` for at least ``seconds``
    (and at least once through them), after one warm-up; ``mode`` "native" runs at the images' own size."""
    translator.translate(images[0], direction, style=style, mode=mode)
    count, start = 0, time.perf_counter()
    while count < len(images) or time.perf_counter() - start < seconds:
        translator.translate(images[count % len(images)], direction, style=style, mode=mode)
        count += 1
    return count / (time.perf_counter() - start)


def live_rate(translator, frames: list[np.ndarray], direction: str, style, camera_fps: float,
              seconds: float, min_outputs: int = 4) -> dict:
    """Output FPS of the live pipeline fed by a camera running at ``camera_fps``: outputs counted between
    the first and the last output of a window of at least ``seconds`` and ``min_outputs`` frames."""
    stamps: list[float] = []
    pipe = LivePipeline(LoopSource(frames), translator, direction, style=style, max_capture_fps=camera_fps,
                        on_frame=lambda frame: stamps.append(time.perf_counter()))
    pipe.start()
    while not stamps:  # warm-up done, first output out: start the clock
        time.sleep(0.001)
    first = pipe.stats
    while len(stamps) < min_outputs or stamps[-1] - stamps[0] < seconds:
        time.sleep(0.01)
    last = pipe.stats
    pipe.stop()
    outputs = list(stamps)
    captured = last.captured - first.captured
    return {"camera_fps": camera_fps, "capture_fps": last.capture_fps,
            "output_fps": (len(outputs) - 1) / (outputs[-1] - outputs[0]),
            "dropped_share": (last.dropped - first.dropped) / max(1, captured),
            "latency_ms_last": last.latency_ms}


def batch_rate(bundle, files: list[Path], direction: str, work: Path) -> float:
    folder = work / "batch-in"
    folder.mkdir()
    for path in files:
        shutil.copyfile(path, folder / path.name)
    queue = BatchQueue(work / "queue.sqlite3")
    queue.add_job(JobSpec(str(folder), str(work / "batch-out"), str(bundle.path), direction,
                          style=JobStyle("random", seed=0), provider="cpu"))
    engine = BatchEngine(queue)
    engine.translator_for(queue.jobs()[0].spec)  # open (and warm up) the model outside the timing
    start = time.perf_counter()
    engine.run()
    elapsed = time.perf_counter() - start
    done = len(list((work / "batch-out").iterdir()))
    assert done == len(files), f"batch wrote {done} of {len(files)} files"
    return len(files) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None)
    parser.add_argument("--direction", default=None)
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each rate is measured")
    parser.add_argument("--files", type=int, default=60)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results" / "pipeline.json")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bundle = pick_bundle(args.model, work)
        direction = args.direction or bundle.directions[0].id
        translator = open_translator(bundle, provider="cpu")
        paths = sorted(args.data.glob("*.jpg"))
        if not paths:
            parser.error(f"no .jpg images in {args.data} (give a folder of images, e.g. DATASET/testA)")
        images = [read_image(p) for p in paths[: args.files]]
        frames = [images[i % len(images)] for i in range(args.frames)]
        style = None
        if translator.capabilities.styles:
            style = ExplicitStyle(np.asarray(translator.style_code(RandomStyle(seed=0), direction)))

        raw_fps = raw_rate(translator, frames, direction, style, args.seconds)
        # a camera twice as fast as the model (at least 30 fps): the model is the bottleneck, frames drop
        live = live_rate(translator, frames, direction, style, max(30.0, 2 * raw_fps), args.seconds)
        raw_img_s = raw_rate(translator, images, direction, style, args.seconds)
        batch_img_s = batch_rate(bundle, paths[: args.files], direction, work)

    result = {
        "model": bundle.name, "direction": direction, "provider": "cpu",
        "image_size": list(images[0].shape[:2]), "frames": args.frames, "files": args.files,
        "machine": platform.platform(), "python": platform.python_version(),
        "live": {"raw_inference_fps": raw_fps, **live, "ratio": live["output_fps"] / raw_fps},
        "batch": {"raw_inference_img_s": raw_img_s, "batch_img_s": batch_img_s,
                  "ratio": batch_img_s / raw_img_s},
    }
    print(f"model {bundle.name} ({direction}), {images[0].shape[1]}x{images[0].shape[0]} images, CPU")
    print(f"{'pipeline':<8} {'raw model':>12} {'pipeline':>12} {'ratio':>7}")
    print(f"{'live':<8} {raw_fps:>8.1f} fps {live['output_fps']:>8.1f} fps {result['live']['ratio']:>7.2f}"
          f"   (camera {live['capture_fps']:.0f} fps, {100 * live['dropped_share']:.0f}% of frames dropped, "
          f"latency {live['latency_ms_last']:.1f} ms)")
    print(f"{'batch':<8} {raw_img_s:>6.1f} img/s {batch_img_s:>6.1f} img/s {result['batch']['ratio']:>7.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()

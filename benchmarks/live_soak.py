"""Live pipeline soak (runtime level, no GUI): a generated video, looped at 30 fps, through a real model
that raises on a share of the frames. Reports survival, frames captured / translated / dropped / skipped,
RSS at the start and the end, and how long stop() took.

    PYTHONPATH=. python benchmarks/live_soak.py [--minutes 3] [--fail-rate 0.01] [--model NAME_OR_PATH]
                                                [--threads 1] [--out benchmarks/results]

Without --model it uses the first bundle in resources/models (or builds the tiny test bundle).
"""
from __future__ import annotations

import argparse
import json
import platform
import random
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from pipeline import pick_bundle  # noqa: E402

from desktop.runtime.frames import VideoFileSource  # noqa: E402
from desktop.runtime.live import LivePipeline  # noqa: E402
from desktop.runtime.style import RandomStyle  # noqa: E402
from desktop.runtime.translators import open_translator  # noqa: E402

SAMPLE_EVERY_S = 10.0


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; elsewhere the peak from getrusage)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_video(path: Path, frames: int = 90, size: tuple[int, int] = (320, 240)) -> Path:
    """An MP4 of a bright disc moving over a gradient (3 s at 30 fps)."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    if not writer.isOpened():
        raise SystemExit("live_soak: OpenCV cannot write an MP4 here")
    for i in range(frames):
        frame = np.tile(np.linspace(30, 200, width, dtype=np.uint8)[None, :, None], (height, 1, 3))
        cv2.circle(frame, (20 + (i * 3) % (width - 40), height // 2), 25, (40, 220, 255), -1)
        writer.write(frame)
    writer.release()
    return path


class Unreliable:
    """A real translator that raises on a random share of the frames (never on the warm-up)."""

    def __init__(self, inner, fail_rate: float, seed: int = 1):
        self._inner, self._rate, self._rng = inner, fail_rate, random.Random(seed)
        self.calls = self.raised = 0
        self._lock = threading.Lock()

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def translate(self, *args, **kwargs):
        with self._lock:
            self.calls += 1
            fail = self.calls > 1 and self._rng.random() < self._rate
            self.raised += fail
        if fail:
            raise RuntimeError(f"injected failure on call {self.calls}")
        return self._inner.translate(*args, **kwargs)


def soak(translator, video: Path, seconds: float) -> dict:
    """Run the pipeline for ``seconds``; samples of stats and RSS every ``SAMPLE_EVERY_S``."""
    errors: list[str] = []
    first = threading.Event()
    pipe = LivePipeline(VideoFileSource(video, loop=True), translator, "a2b", style=RandomStyle(seed=3),
                        max_capture_fps=30.0, on_frame=lambda frame: first.set(), on_error=errors.append)
    pipe.start()
    if not first.wait(120):
        pipe.stop()
        return {"survived": False, "error": errors[0] if errors else "no frame within 120 s"}
    rss_start, started = rss_mb(), time.monotonic()
    samples = []
    while time.monotonic() - started < seconds and not errors:
        time.sleep(min(SAMPLE_EVERY_S, max(0.0, seconds - (time.monotonic() - started))))
        stats = pipe.stats
        samples.append({"t_s": round(time.monotonic() - started, 1), "rss_mb": round(rss_mb(), 1),
                        "captured": stats.captured, "produced": stats.produced, "skipped": stats.skipped})
    elapsed = time.monotonic() - started
    stats = pipe.stats
    stop_started = time.monotonic()
    pipe.stop()
    stop_ms = (time.monotonic() - stop_started) * 1000
    ended = all(not t.is_alive() for t in threading.enumerate() if t.name.startswith("live-"))
    return {
        "survived": not errors, "error": errors[0] if errors else None, "seconds": round(elapsed, 1),
        "captured": stats.captured, "produced": stats.produced, "dropped": stats.dropped,
        "skipped": stats.skipped, "injected": translator.raised, "last_error": stats.last_error,
        "output_fps": round(stats.produced / elapsed, 2), "rss_start_mb": round(rss_start, 1),
        "rss_end_mb": round(rss_mb(), 1), "rss_max_mb": max([s["rss_mb"] for s in samples] or [rss_start]),
        "stop_ms": round(stop_ms, 1), "threads_ended_after_stop": ended, "samples": samples,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--fail-rate", type=float, default=0.01, help="share of frames the model raises on")
    parser.add_argument("--model", help="installed model name or bundle path")
    parser.add_argument("--threads", type=int, default=1, help="onnxruntime threads (the machine may be shared)")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="folder for the JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="live-soak-") as tmp:
        work = Path(tmp)
        bundle = pick_bundle(args.model, work)
        translator = Unreliable(open_translator(bundle, provider="cpu", threads=args.threads), args.fail_rate)
        result = soak(translator, make_video(work / "soak.mp4"), args.minutes * 60)
    result = {"model": getattr(bundle, "name", str(bundle)), "fail_rate": args.fail_rate,
              "threads": args.threads, "python": platform.python_version(), "machine": platform.machine(),
              **result}
    rows = [(key, result[key]) for key in ("survived", "error", "seconds", "captured", "produced", "dropped",
                                           "skipped", "injected", "last_error", "output_fps", "rss_start_mb",
                                           "rss_end_mb", "rss_max_mb", "stop_ms", "threads_ended_after_stop")
            if key in result]
    width = max(len(key) for key, _ in rows)
    print(f"live soak: {result['model']}, {args.minutes:g} min, fail rate {args.fail_rate:g}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "live_soak.json"
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {target}")
    return 0 if result["survived"] else 1


if __name__ == "__main__":
    sys.exit(main())

"""GUI soak: the real main window (offscreen Qt) running Live for minutes and a Batch job of thousands of files.

Scenarios (each in its own child process, so an interpreter abort is a row of the table, not the end of
the harness: the PySide6 6.12.0 / Python 3.11 signal refcount leak ends in SIGABRT, "Fatal Python error"):

- ``live``: the Live tab on a generated looping video file (30 fps) through the shipped default model, for
  ``--minutes``. Reports frames translated and shown per second.
- ``batch``: ``--files`` generated JPEGs added through the Batch tab's form and run to the end. Reports
  files per second and checks that every input has an output.

Both report survival (exit status, abort or not) and the child's resident memory at start, peak and end
(psutil when installed, else /proc/self/statm). Dialogs the app would open are recorded, not shown.

    python benchmarks/gui_soak.py [--scenarios live,batch] [--minutes 10] [--files 2000]
                                  [--python OTHER_INTERPRETER] [--out benchmarks/results]

The child runs with ``--python`` (default: this interpreter) from the repository root, so another venv's
PySide6 can be soaked with this checkout. It needs no torch.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MODEL = "cat2dog-munit"
SAMPLE_EVERY_MS = 1000


# ---- measurements shared by the children ------------------------------------------------------------

def rss_mb() -> float:
    """Resident memory of this process in MiB."""
    try:
        import psutil
    except ImportError:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    return psutil.Process().memory_info().rss / 2**20


class ProgressLog:
    """JSON lines, one per sample, flushed at once: what a child reached survives its abort."""

    def __init__(self, path: Path) -> None:
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 (kept open for the child's life)
        self._start = time.monotonic()

    def write(self, **fields) -> None:
        fields.update(t=round(time.monotonic() - self._start, 2), rss_mb=round(rss_mb(), 1))
        self._file.write(json.dumps(fields) + "\n")
        self._file.flush()


def _open_window(home: Path):
    """The app's main window with its own settings and data folder, shown offscreen, model opened."""
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication, QMessageBox

    from desktop.ui.main_window import MainWindow
    from desktop.ui.settings import Settings

    dialogs: list[str] = []
    for name in ("warning", "information", "critical"):  # a modal box would stall the soak: record it
        setattr(QMessageBox, name, staticmethod(lambda _parent, title, text, *_a, **_k: dialogs.append(
            f"{title}: {text}")))
    app = QApplication.instance() or QApplication([])
    settings = Settings(QSettings(str(home / "settings.ini"), QSettings.Format.IniFormat))
    settings.set_model(MODEL)
    window = MainWindow(settings)
    window.show()
    deadline = time.monotonic() + 300
    while window.session.translator is None:
        if time.monotonic() > deadline:
            raise SystemExit(f"the model did not open: {window.statusBar().currentMessage()}")
        app.processEvents()
        time.sleep(0.01)
    return app, window, dialogs


def _run_until(app, done, log_sample) -> None:
    """Spin the Qt event loop, logging a sample every second, until `done()` is true."""
    from PySide6.QtCore import QTimer

    timer = QTimer()

    def tick() -> None:
        log_sample()
        if done():
            timer.stop()
            app.quit()

    timer.timeout.connect(tick)
    timer.start(SAMPLE_EVERY_MS)
    app.exec()


def _generated_video(path: Path, frames: int = 90, size: tuple[int, int] = (320, 240)) -> Path:
    import cv2
    import numpy as np

    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, size)
    if not writer.isOpened():
        raise SystemExit("OpenCV cannot write an mp4v video here")
    rng = np.random.default_rng(0)
    for i in range(frames):
        frame = rng.integers(0, 60, (size[1], size[0], 3), dtype=np.uint8)
        cv2.circle(frame, (20 + 3 * i, size[1] // 2), 40, (40, 160, 230), -1)
        cv2.rectangle(frame, (size[0] - 60 - i, 20), (size[0] - 20 - i, 80), (200, 200, 200), -1)
        writer.write(frame)
    writer.release()
    return path


def child_live(minutes: float, progress: Path, home: Path) -> int:
    log = ProgressLog(progress)
    app, window, dialogs = _open_window(home)
    tab = window.live
    window.tabs.setCurrentWidget(tab)
    tab.set_video(_generated_video(home / "soak.mp4"))
    if not tab.start():
        raise SystemExit(f"live did not start: {tab.message.text()}")
    log.write(phase="start")
    end = time.monotonic() + minutes * 60

    def sample() -> None:
        stats = tab.last_frame.stats if tab.last_frame is not None else None
        log.write(phase="run", frames_shown=tab.frames_shown, produced=stats.produced if stats else 0,
                  captured=stats.captured if stats else 0, dropped=stats.dropped if stats else 0,
                  output_fps=round(stats.output_fps, 2) if stats else 0.0, running=tab.running())

    stopped_early: list[str] = []

    def done() -> bool:
        if tab.pipeline is None:  # the pipeline ended before its time (an error: see the message)
            stopped_early.append(tab.message.text())
        return bool(stopped_early) or time.monotonic() >= end

    _run_until(app, done, sample)  # quitting closes the window: Live stops as on a user's quit
    log.write(phase="final", message=stopped_early[0] if stopped_early else "ran to the end", dialogs=dialogs)
    return 1 if stopped_early else 0


def _generated_jpegs(folder: Path, count: int) -> None:
    import cv2
    import numpy as np

    folder.mkdir(parents=True)
    rng = np.random.default_rng(1)
    for i in range(count):
        image = rng.integers(0, 255, (96, 96, 3), dtype=np.uint8)
        cv2.circle(image, (int(rng.integers(20, 76)), int(rng.integers(20, 76))), 18, (30, 120, 220), -1)
        if not cv2.imwrite(str(folder / f"img{i:05d}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 90]):
            raise SystemExit(f"cannot write the inputs in {folder}")


def child_batch(files: int, progress: Path, home: Path) -> int:
    from desktop.runtime.batch import ItemState, JobState

    log = ProgressLog(progress)
    _generated_jpegs(home / "in", files)
    app, window, dialogs = _open_window(home)
    tab = window.batch
    window.tabs.setCurrentWidget(tab)
    form = tab.form
    form.input_dir.setText(str(home / "in"))
    form.output_dir.setText(str(home / "out"))
    form.output_format.setCurrentText("jpg")
    form.add_button.click()
    job_id = tab.selected_job()
    if job_id is None:
        raise SystemExit(f"the job was not added: {tab.message.text()}")
    log.write(phase="start")
    finished_states = (JobState.DONE, JobState.FAILED, JobState.CANCELLED, JobState.PAUSED)

    def sample() -> None:
        job = tab.queue.job(job_id)
        log.write(phase="run", state=job.state.value, finished=job.finished, total=job.total,
                  done=job.counts.get(ItemState.DONE, 0), failed=job.counts.get(ItemState.FAILED, 0))

    _run_until(app, lambda: tab.queue.job(job_id).state in finished_states, sample)
    job = tab.queue.job(job_id)
    outputs = sum(1 for _ in (home / "out").rglob("*.jpg"))
    log.write(phase="final", state=job.state.value, message=job.message, done=job.counts.get(ItemState.DONE, 0),
              failed=job.counts.get(ItemState.FAILED, 0), outputs=outputs, dialogs=dialogs)
    return 0 if job.state == JobState.DONE and outputs == files else 1


# ---- the harness ---------------------------------------------------------------------------------------

def _read_samples(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    samples = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            samples.append(json.loads(line))
        except json.JSONDecodeError:  # the last line of a killed child may be cut short
            break
    return samples


def _outcome(returncode: int | None) -> str:
    if returncode is None:
        return "hung (killed by the harness)"
    if returncode == 0:
        return "survived"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"aborted ({name})" if -returncode == signal.SIGABRT else f"killed ({name})"
    return f"failed (exit {returncode})"


def run_scenario(name: str, python: str, minutes: float, files: int, workdir: Path) -> dict:
    """Run one scenario in a child process and summarise what it logged."""
    progress, stderr_path, home = workdir / f"{name}.jsonl", workdir / f"{name}.stderr", workdir / f"{name}-home"
    home.mkdir()  # the child's data folder, settings and inputs: removed with `workdir`, even after an abort
    argv = [python, str(Path(__file__).resolve()), "--child", name, "--progress", str(progress),
            "--minutes", str(minutes), "--files", str(files)]
    env = dict(os.environ, QT_QPA_PLATFORM=os.environ.get("QT_QPA_PLATFORM", "offscreen"), I2I_STUDIO_HOME=str(home))
    limit = minutes * 60 * 2 + 600 if name == "live" else files * 2 + 600
    started = time.monotonic()
    with open(stderr_path, "wb") as stderr:
        child = subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
        try:
            returncode: int | None = child.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
            returncode = None
    wall = time.monotonic() - started
    samples = _read_samples(progress)
    errors = stderr_path.read_text(encoding="utf-8", errors="replace").splitlines()
    fatal = next((line for line in errors if line.startswith("Fatal Python error")), None)
    runs = [s for s in samples if s.get("phase") == "run"]
    start = next((s for s in samples if s.get("phase") == "start"), None)
    last = runs[-1] if runs else {}
    final = next((s for s in samples if s.get("phase") == "final"), None)
    seconds = (last["t"] - start["t"]) if runs and start else 0.0
    result = {
        "scenario": name, "outcome": _outcome(returncode), "returncode": returncode, "fatal_error": fatal,
        "last_stderr": errors[-3:], "wall_s": round(wall, 1), "run_s": round(seconds, 1),
        "rss_mb": {"start": start["rss_mb"] if start else None,
                   "peak": max((s["rss_mb"] for s in samples), default=None),
                   "end": samples[-1]["rss_mb"] if samples else None,
                   "tenths": [runs[round(i * (len(runs) - 1) / 10)]["rss_mb"] for i in range(11)] if runs else []},
        "final": final,
    }
    if name == "live":
        result.update(frames_translated=last.get("produced", 0), frames_shown=last.get("frames_shown", 0),
                      frames_dropped=last.get("dropped", 0),
                      translated_per_s=round(last.get("produced", 0) / seconds, 2) if seconds else 0.0,
                      shown_per_s=round(last.get("frames_shown", 0) / seconds, 2) if seconds else 0.0)
    else:
        done = (final or last).get("done", 0)
        result.update(files=files, done=done, failed=(final or last).get("failed", 0),
                      outputs=(final or {}).get("outputs"),
                      files_per_s=round(last.get("finished", 0) / seconds, 2) if seconds else 0.0)
    return result


def _versions(python: str) -> dict:
    probe = ("import json, platform, PySide6, onnxruntime; print(json.dumps({'python': platform.python_version(), "
             "'pyside6': PySide6.__version__, 'onnxruntime': onnxruntime.__version__}))")
    done = subprocess.run([python, "-c", probe], cwd=REPO, capture_output=True, text=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 else {"error": done.stderr.strip()[-300:]}


def print_table(results: list[dict], versions: dict) -> None:
    print(f"Python {versions.get('python')}, PySide6 {versions.get('pyside6')}, "
          f"onnxruntime {versions.get('onnxruntime')}, {platform.machine()}, {os.cpu_count()} CPUs")
    print(f"{'scenario':<8} {'outcome':<26} {'run s':>7} {'rate':>16} {'RSS MiB start/peak/end':>24}")
    for r in results:
        rate = (f"{r['translated_per_s']:.1f} frames/s" if r["scenario"] == "live"
                else f"{r['files_per_s']:.1f} files/s")
        rss = r["rss_mb"]
        memory = "/".join("-" if v is None else f"{v:.0f}" for v in (rss["start"], rss["peak"], rss["end"]))
        print(f"{r['scenario']:<8} {r['outcome']:<26} {r['run_s']:>7.0f} {rate:>16} {memory:>24}")
        if r["scenario"] == "live":
            print(f"{'':<8} {r['frames_translated']} frames translated, {r['frames_shown']} shown, "
                  f"{r['frames_dropped']} dropped")
        else:
            print(f"{'':<8} {r['done']} done, {r['failed']} failed, {r['outputs']} outputs of {r['files']} files")
        if r["fatal_error"]:
            print(f"{'':<8} {r['fatal_error']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenarios", default="live,batch", help="comma-separated: live, batch")
    parser.add_argument("--minutes", type=float, default=10.0, help="how long Live runs")
    parser.add_argument("--files", type=int, default=2000, help="how many files the batch job has")
    parser.add_argument("--python", default=sys.executable, help="interpreter the scenarios run in")
    parser.add_argument("--out", type=Path, default=REPO / "benchmarks" / "results", help="folder for the JSON")
    parser.add_argument("--child", choices=("live", "batch"), help=argparse.SUPPRESS)
    parser.add_argument("--progress", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        sys.path.insert(0, str(REPO))
        home = Path(os.environ["I2I_STUDIO_HOME"])
        return (child_live(args.minutes, args.progress, home) if args.child == "live"
                else child_batch(args.files, args.progress, home))

    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    unknown = set(scenarios) - {"live", "batch"}
    if unknown or not scenarios:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown)) or '(none)'}")
    args.out.mkdir(parents=True, exist_ok=True)
    versions = _versions(args.python)
    with tempfile.TemporaryDirectory(prefix="gui-soak-") as tmp:
        results = [run_scenario(name, args.python, args.minutes, args.files, Path(tmp)) for name in scenarios]
    print_table(results, versions)
    tag = f"py{versions.get('python', 'unknown')}-pyside{versions.get('pyside6', 'unknown')}"
    path = args.out / f"gui_soak-{tag}.json"
    path.write_text(json.dumps({"versions": versions, "minutes": args.minutes, "results": results}, indent=2),
                    encoding="utf-8")
    print(f"wrote {path}")
    return 0 if all(r["outcome"] == "survived" for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())

"""The batch engine: runs the queue's jobs in order, one file at a time, on a worker thread (or inline).

Pause, cancel and stop are cooperative: they take effect between two files. A file is marked done only
after its output has been written atomically, so a crash loses at most the file in flight, and
:meth:`BatchQueue.recover_running` settles that one on the next run.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from ..bundle import BundleError, resolve_bundle
from ..images import ImageReadError, ImageWriteError, read_image, write_image
from ..translators.base import TranslationError
from .jobs import ItemState, JobSpec, JobState
from .scan import list_inputs, output_relpath, select_shard
from .store import BatchQueue, Item, Job
from .styles import StylePlan

WRITE_FAILURE_PREFIX = "cannot write"
# After this many failed writes in a row, with none succeeding in this run, the job pauses:
# the output folder is read-only, full or gone, and every further file would fail the same way.
WRITE_FAILURE_LIMIT = 3


@dataclass(frozen=True)
class Progress:
    """Where a running job stands, sent after every file."""

    job_id: int
    total: int
    done: int
    failed: int
    skipped: int
    current: str  # the file just handled (relative path)
    files_per_s: float  # throughput of this run
    eta_s: float | None  # None until the first file of this run has finished

    @property
    def finished(self) -> int:
        return self.done + self.failed + self.skipped


ProgressCallback = Callable[[Progress], None]
StateCallback = Callable[[int, JobState, str], None]


class _WriteFailure(Exception):
    """The output of one file could not be written."""


class BatchEngine:
    """Runs jobs from a :class:`BatchQueue`.

    ``on_progress(Progress)`` and ``on_state(job_id, JobState, message)`` are called from the thread that
    runs the jobs (the worker after :meth:`start`); a GUI forwards them to its own thread.
    ``open_translator(bundle, provider)`` is injectable for tests and benchmarks.
    """

    def __init__(
        self,
        queue: BatchQueue,
        on_progress: ProgressCallback | None = None,
        on_state: StateCallback | None = None,
        open_translator: Callable[..., Any] | None = None,
    ) -> None:
        self.queue = queue
        self._on_progress = on_progress or (lambda progress: None)
        self._on_state = on_state or (lambda job_id, state, message: None)
        self._open_translator = open_translator or _default_open_translator
        self._translator_key: tuple[str, str] | None = None
        self._translator: Any = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._running_job: int | None = None
        self._request: tuple[JobState, str] | None = None  # what the running job should do next
        self._stopping = threading.Event()

    # ---- control (any thread) -------------------------------------------------------------------
    def start(self) -> None:
        """Run the queue on a worker thread until no job is runnable (no-op if already running)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self.run, name="batch-engine", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the worker to finish; True if it has."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
            return not thread.is_alive()
        return True

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def running_job(self) -> int | None:
        return self._running_job

    def pause(self, job_id: int | None = None) -> None:
        """Pause a job (default: the running one) after the file in flight; it stays paused across restarts."""
        self._control(job_id, JobState.PAUSED, "paused by the user")

    def cancel(self, job_id: int | None = None) -> None:
        """Cancel a job (default: the running one); files already written stay."""
        self._control(job_id, JobState.CANCELLED, "cancelled by the user")

    def stop(self) -> None:
        """Quit: stop after the file in flight and leave the job queued, so the next run resumes it."""
        self._stopping.set()
        self.wait()

    def resume(self, job_id: int) -> None:
        """Queue a paused (or cancelled) job again and start the worker."""
        self.queue.set_job_state(job_id, JobState.QUEUED)
        self._on_state(job_id, JobState.QUEUED, "")
        self.start()

    def _control(self, job_id: int | None, state: JobState, message: str) -> None:
        with self._lock:
            if job_id is None or job_id == self._running_job:
                if self._running_job is not None:
                    self._request = (state, message)
                return
        if self.queue.job(job_id).state in (JobState.QUEUED, JobState.PAUSED, JobState.RUNNING):
            self.queue.set_job_state(job_id, state, message)
            self._on_state(job_id, state, message)

    # ---- running ------------------------------------------------------------------------------
    def run(self, job_id: int | None = None) -> None:
        """Run runnable jobs in queue order in this thread (only ``job_id`` if given) until none is left
        or a pause/stop request arrives. Jobs another process is running (locked) are left to it."""
        busy_elsewhere: set[int] = set()
        while not self._stopping.is_set():
            job = self.queue.next_runnable(job_id, exclude=busy_elsewhere)
            if job is None:
                return
            lock = self.queue.job_lock(job.id)
            if not lock.acquire():
                busy_elsewhere.add(job.id)
                continue
            try:
                job = self.queue.find(job.id)  # re-read under the lock: it may have finished meanwhile
                if job is None or not job.runnable:
                    continue
                with self._lock:
                    self._running_job = job.id
                try:
                    state, message = self._run_job(job)
                finally:
                    with self._lock:
                        self._running_job = None
                        self._request = None
                self.queue.set_job_state(job.id, state, message)
            finally:
                lock.release()
            self._on_state(job.id, state, message)
            if state in (JobState.PAUSED, JobState.QUEUED):
                return

    def _run_job(self, job: Job) -> tuple[JobState, str]:
        spec = job.spec
        self.queue.set_job_state(job.id, JobState.RUNNING)
        self._on_state(job.id, JobState.RUNNING, "")
        try:
            translator = self.translator_for(spec)
            if not job.scanned:
                self._scan(job)
            self.queue.recover_running(job.id, Path(spec.output_dir))
            plan = StylePlan(translator, spec)
        except (BundleError, ImageReadError, TranslationError, OSError, ValueError, KeyError) as exc:
            return JobState.FAILED, _one_line(exc)

        job = self.queue.job(job.id)
        counts = {s: job.counts[s] for s in (ItemState.DONE, ItemState.FAILED, ItemState.SKIPPED)}
        started = time.perf_counter()
        handled = 0
        write_failures = 0
        written = 0
        for item in self.queue.items(job.id, ItemState.PENDING):
            if self._stopping.is_set():
                return JobState.QUEUED, "interrupted; resumes on the next run"
            with self._lock:
                request = self._request
            if request is not None:
                return request
            state, reason = self._process(item, spec, translator, plan)
            if reason.startswith(WRITE_FAILURE_PREFIX):
                write_failures += 1
            elif state == ItemState.DONE:
                written += 1
                write_failures = 0
            counts[state] += 1
            handled += 1
            rate = handled / max(time.perf_counter() - started, 1e-9)
            remaining = job.total - sum(counts.values())
            self._on_progress(
                Progress(job.id, job.total, counts[ItemState.DONE], counts[ItemState.FAILED],
                         counts[ItemState.SKIPPED], item.rel_path, rate, remaining / rate)
            )
            if write_failures >= WRITE_FAILURE_LIMIT and written == 0:
                return JobState.PAUSED, f"paused: no output could be written ({reason})"
        return JobState.DONE, ""

    def _process(self, item: Item, spec: JobSpec, translator: Any, plan: StylePlan) -> tuple[ItemState, str]:
        """Translate one file; returns its final state and failure reason (already stored)."""
        self.queue.start_item(item.id)
        try:
            rgb = read_image(Path(spec.input_dir) / item.rel_path)
            result = translator.translate(rgb, spec.direction, style=plan.style_for(item.rel_path), mode="fit")
            _write_output(Path(spec.output_dir) / item.out_path, result.image)
        except ImageReadError as exc:
            state, reason = ItemState.FAILED, _one_line(exc)
        except _WriteFailure as exc:
            state, reason = ItemState.FAILED, str(exc)
        except Exception as exc:  # a model error on one odd image must not stop the batch
            state, reason = ItemState.FAILED, f"translation failed: {_one_line(exc)}"
        else:
            state, reason = ItemState.DONE, ""
        self.queue.finish_item(item.id, state, reason)
        return state, reason

    def _scan(self, job: Job) -> None:
        """Record the job's file list: shard selection, output names, skip-existing, name collisions."""
        spec = job.spec
        input_dir, output_dir = Path(spec.input_dir), Path(spec.output_dir)
        rel_paths = select_shard(list_inputs(input_dir, spec.recursive, exclude=output_dir), spec.shard)
        claimed: dict[str, str] = {}
        entries = []
        for rel in rel_paths:
            out = output_relpath(rel, spec)
            if out.casefold() in claimed:
                entries.append((rel, out, ItemState.FAILED,
                                f"output name {out} is already used by {claimed[out.casefold()]}"))
                continue
            claimed[out.casefold()] = rel
            if spec.skip_existing and (output_dir / out).exists():
                entries.append((rel, out, ItemState.SKIPPED, "output exists"))
            else:
                entries.append((rel, out, ItemState.PENDING, ""))
        self.queue.set_items(job.id, entries)

    def translator_for(self, spec: JobSpec) -> Any:
        """The translator a job needs (opened once and reused while jobs use the same model)."""
        key = (spec.model, spec.provider)
        if key != self._translator_key:
            self._translator = None  # free the previous model's sessions first
            bundle = resolve_bundle(spec.model)
            bundle.direction(spec.direction)  # fails early, with the bundle's message, on a bad direction
            self._translator = self._open_translator(bundle, spec.provider)
            self._translator_key = key
        return self._translator



def _write_output(path: Path, image: np.ndarray) -> None:
    """Write atomically (JPEG drops alpha); any failure becomes a one-line reason naming the file."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _WriteFailure(f"{WRITE_FAILURE_PREFIX} {path}: {exc.strerror or exc}") from None
    try:
        write_image(path, image, overwrite=True)
    except ImageWriteError as exc:
        raise _WriteFailure(f"{WRITE_FAILURE_PREFIX}: {exc}") from None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _default_open_translator(bundle: Any, provider: str) -> Any:
    from ..translators import open_translator

    return open_translator(bundle, provider=provider)

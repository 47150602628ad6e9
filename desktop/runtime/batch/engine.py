"""The batch engine: runs the queue's jobs in order, one file at a time, on a worker thread (or inline).

Pause, cancel and stop are cooperative: they take effect between two files. A file is marked done only
after its output has been written atomically, so a crash loses at most the file in flight, and
:meth:`BatchQueue.recover_running` settles that one on the next run.
"""
from __future__ import annotations

import errno
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np

from i2i_common.atomic import remove_stale_temps, write_bytes
from i2i_common.images import ImageReadError, ImageWriteError, encode_image, read_image

from ..bundle import BundleError, resolve_bundle
from ..providers import first_line
from ..translators import TranslationError, open_translator
from .guard import InputGuard
from .jobs import ItemState, JobSpec, JobState
from .scan import plan_items
from .store import BatchQueue, Item, Job
from .styles import StylePlan

WRITE_FAILURE_PREFIX = "cannot write"
# After this many failed writes in a row, with none succeeding in this run, the job pauses:
# the output folder is read-only, full or gone, and every further file would fail the same way.
WRITE_FAILURE_LIMIT = 3
# Write errors that say the target cannot take any file now: the job pauses at once, the file stays to do.
PAUSING_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS})


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
    """The output of one file could not be written (``errno`` when the operating system said why)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.errno = code


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
        self._recheck = False  # start() came while the worker was finishing: it looks at the queue again

    # ---- control (any thread) -------------------------------------------------------------------
    def start(self) -> None:
        """Run the queue on a worker thread until no job is runnable (no-op if already running)."""
        with self._lock:
            if self._thread is not None:  # running, or about to exit: make it check the queue once more
                self._recheck = True
                return
            self._stopping.clear()
            self._thread = threading.Thread(target=self._work, name="batch-engine", daemon=True)
            self._thread.start()

    def _work(self) -> None:
        """The worker: run the queue, and again if start() was called meanwhile (a Resume clicked while the
        paused job's worker was still finishing); the exit decision is taken under the lock start() takes."""
        while True:
            self.run()
            with self._lock:
                if not self._recheck or self._stopping.is_set():
                    self._thread = None
                    return
                self._recheck = False

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
        run_started = time.time()
        self.queue.set_job_state(job.id, JobState.RUNNING)
        self._on_state(job.id, JobState.RUNNING, "")
        try:
            translator = self.translator_for(spec)
            if not job.scanned:
                self._scan(job)
            self.queue.recover_running(job.id, Path(spec.output_dir))
            plan = StylePlan(translator, spec)
        except (BundleError, ImageReadError, TranslationError, OSError, ValueError, KeyError) as exc:
            return JobState.FAILED, first_line(exc)
        items = self.queue.items(job.id)
        guard = InputGuard(Path(spec.input_dir), [item.rel_path for item in items])
        _remove_stale_temps(Path(spec.output_dir), items, run_started)

        tally = _Tally(self.queue.job(job.id), self._on_progress)
        outcome = JobState.DONE, ""
        in_flight: tuple[Item, Future] | None = None  # the previous file's write, overlapping this file's model run
        output_dir = Path(spec.output_dir)
        with ThreadPoolExecutor(1, "batch-read") as reader, ThreadPoolExecutor(1, "batch-write") as writer:
            pending = [item for item in items if item.state == ItemState.PENDING]
            for item, read in _read_ahead(reader, pending, spec):
                interruption = self._interruption(job.id)
                if interruption is not None:
                    outcome = interruption
                    break
                self.queue.start_item(item.id)
                image, reason = _translate(read, item, spec, translator, plan)
                if in_flight is not None:
                    pause = self._settle(in_flight, tally)
                    in_flight = None
                    if pause is None and tally.writes_hopeless:
                        pause = f"paused: no output could be written ({tally.last_reason})"
                    if pause is not None:
                        self.queue.finish_item(item.id, ItemState.PENDING)  # not tried: it stays to do
                        outcome = JobState.PAUSED, pause
                        break
                if image is None:
                    self.queue.finish_item(item.id, ItemState.FAILED, reason)
                    tally.add(item, ItemState.FAILED, reason)
                else:
                    in_flight = item, writer.submit(_write_output, output_dir / item.out_path, image, guard)
            if in_flight is not None:
                pause = self._settle(in_flight, tally)
                if pause is not None:
                    outcome = JobState.PAUSED, pause
        return outcome

    def _interruption(self, job_id: int) -> tuple[JobState, str] | None:
        """What the running job must do instead of its next file (stop, pause, cancel), if anything.
        Requests come from this engine's controls or, through the queue, from another process."""
        if self._stopping.is_set():
            return JobState.QUEUED, "interrupted; resumes on the next run"
        with self._lock:
            if self._request is not None:
                return self._request
        stored = self.queue.state_of(job_id)
        if stored is None:
            return JobState.CANCELLED, "removed from the queue"
        return stored if stored[0] in (JobState.PAUSED, JobState.CANCELLED) else None

    def _settle(self, in_flight: tuple[Item, Future], tally: _Tally) -> str | None:
        """Wait for a file's write; it becomes done only now, after the atomic rename. Returns why the job
        must pause when the target cannot take any file (full, over quota, read-only): that file stays to do."""
        item, future = in_flight
        try:
            future.result()
        except _WriteFailure as exc:
            if exc.errno in PAUSING_ERRNOS:
                self.queue.finish_item(item.id, ItemState.PENDING)
                return f"paused: {exc}; free space or fix the folder, then resume"
            state, reason = ItemState.FAILED, str(exc)
        else:
            state, reason = ItemState.DONE, ""
        self.queue.finish_item(item.id, state, reason)
        tally.add(item, state, reason)
        return None

    def _scan(self, job: Job) -> None:
        """Record the job's file list (:func:`plan_items`); what earlier jobs wrote is not an input."""
        folders, files = self.queue.known_outputs(job.id)
        self.queue.set_items(job.id, plan_items(job.spec, folders, files))

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



class _Tally:
    """Counts of a running job, its progress reports and whether writing has any chance."""

    def __init__(self, job: Job, on_progress: ProgressCallback) -> None:
        self._job = job
        self._on_progress = on_progress
        self.counts = {s: job.counts[s] for s in (ItemState.DONE, ItemState.FAILED, ItemState.SKIPPED)}
        self._started = time.perf_counter()
        self._handled = 0
        self._write_failures = 0
        self._written = 0
        self.last_reason = ""

    @property
    def writes_hopeless(self) -> bool:
        """True after WRITE_FAILURE_LIMIT failed writes in a row with none succeeding in this run."""
        return self._write_failures >= WRITE_FAILURE_LIMIT and self._written == 0

    def add(self, item: Item, state: ItemState, reason: str) -> None:
        if reason.startswith(WRITE_FAILURE_PREFIX):
            self._write_failures += 1
            self.last_reason = reason
        elif state == ItemState.DONE:
            self._written += 1
            self._write_failures = 0
        self.counts[state] += 1
        self._handled += 1
        rate = self._handled / max(time.perf_counter() - self._started, 1e-9)
        remaining = self._job.total - sum(self.counts.values())
        self._on_progress(Progress(self._job.id, self._job.total, self.counts[ItemState.DONE],
                                   self.counts[ItemState.FAILED], self.counts[ItemState.SKIPPED],
                                   item.rel_path, rate, remaining / rate))


def _read_ahead(pool: ThreadPoolExecutor, items: list[Item], spec: JobSpec) -> Iterator[tuple[Item, Future]]:
    """Each item with the future of its decoded image; the next file is read while this one is used."""
    folder = Path(spec.input_dir)
    waiting: tuple[Item, Future] | None = None
    for item in items:
        future = pool.submit(read_image, folder / item.rel_path)
        if waiting is not None:
            yield waiting
        waiting = item, future
    if waiting is not None:
        yield waiting


def _translate(read: Future, item: Item, spec: JobSpec, translator: Any,
               plan: StylePlan) -> tuple[np.ndarray | None, str]:
    """The translated image, or None and the reason it could not be made."""
    try:
        rgb = read.result()
        result = translator.translate(rgb, spec.direction, style=plan.style_for(item.rel_path), mode="fit")
    except ImageReadError as exc:
        return None, first_line(exc)
    except Exception as exc:  # a model error on one odd image must not stop the batch
        return None, f"translation failed: {first_line(exc)}"
    return result.image, ""


def _write_output(path: Path, image: np.ndarray, guard: InputGuard) -> None:
    """Write atomically (JPEG drops alpha), never onto an input; any failure becomes a one-line reason
    naming the file, with the operating system's error number when there is one."""
    victim = guard.input_at(path)
    if victim is not None:
        raise _WriteFailure(f"refused to write {path}: it is the input {victim}")
    try:
        write_bytes(path, encode_image(image, path.suffix))  # creates the folder too
    except ImageWriteError as exc:
        raise _WriteFailure(f"{WRITE_FAILURE_PREFIX}: {exc}") from None
    except OSError as exc:
        raise _WriteFailure(f"{WRITE_FAILURE_PREFIX} {path}: {exc.strerror or exc}", exc.errno) from None


def _remove_stale_temps(output_dir: Path, items: list[Item], older_than: float) -> None:
    """Delete the temporary files a killed run left beside this job's outputs (ours, older than this run)."""
    names: dict[str, set[str]] = defaultdict(set)
    for item in items:
        out = PurePosixPath(item.out_path)
        names[os.path.join(output_dir, *out.parent.parts)].add(out.name)
    for folder, targets in names.items():
        remove_stale_temps(Path(folder), targets, older_than)


def _default_open_translator(bundle: Any, provider: str) -> Any:
    return open_translator(bundle, provider=provider)

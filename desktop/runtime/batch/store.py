"""The batch queue, kept in SQLite so that it survives quitting and crashes.

One row per job (settings as JSON, state, position in the queue) and one row per input file (state,
failure reason). Each thread gets its own connection and every call is one transaction, so the queue
can be used from the GUI thread, the engine's worker thread and another process (the CLI) at once;
WAL mode keeps readers and the writer out of each other's way. ``synchronous=NORMAL`` skips the fsync
per commit: a crash of the program loses nothing, a power cut may lose the last commits, which the
re-check of unfinished files (:meth:`BatchQueue.recover_running`) repairs.
"""
from __future__ import annotations

import csv
import io
import os
import sqlite3
import threading
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from i2i_common.atomic import write_bytes as atomic_write_bytes
from i2i_common.filenames import printable

from ..paths import user_data_dir
from .joblock import JobLock
from .jobs import ItemState, JobSpec, JobState

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    position INTEGER NOT NULL,
    spec TEXT NOT NULL,
    state TEXT NOT NULL,
    message TEXT NOT NULL DEFAULT '',
    scanned INTEGER NOT NULL DEFAULT 0,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    rel_path TEXT NOT NULL,
    out_path TEXT NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    started REAL,
    UNIQUE (job_id, rel_path)
);
CREATE INDEX IF NOT EXISTS items_by_job_state ON items (job_id, state);
"""

# mtime resolution is 2 s on FAT file systems; an output this much older than its item's start is stale.
MTIME_SLACK_S = 2.0


class QueueError(Exception):
    """The queue file cannot be used (not a queue, a folder, no space, no permission); one line."""


def _to_db(path: str) -> str | bytes:
    """A relative path as SQLite stores it: text, or the raw bytes of a name that is not valid UTF-8."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return os.fsencode(path)
    return path


def _from_db(value: str | bytes) -> str:
    return os.fsdecode(value) if isinstance(value, bytes) else value


def default_queue_path() -> Path:
    """``queue.sqlite3`` in the user's data folder."""
    return user_data_dir() / "queue.sqlite3"


@dataclass(frozen=True)
class Job:
    """A snapshot of one job row with its per-state file counts."""

    id: int
    position: int
    spec: JobSpec
    state: JobState
    message: str
    scanned: bool
    counts: dict[ItemState, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def runnable(self) -> bool:
        """Queued, or left running by an interrupted run."""
        return self.state in (JobState.QUEUED, JobState.RUNNING)

    @property
    def finished(self) -> int:
        """Files that need no more work (done, failed or skipped)."""
        return self.total - self.counts[ItemState.PENDING] - self.counts[ItemState.RUNNING]


@dataclass(frozen=True)
class Item:
    """One input file of a job."""

    id: int
    rel_path: str
    out_path: str
    state: ItemState
    reason: str


class BatchQueue:
    """The persistent job queue (``path`` defaults to the user's data folder)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_queue_path()
        self._local = threading.local()
        if self.path.is_dir():
            raise QueueError(f"the batch queue {self.path} is a folder; name a file "
                             f"(e.g. {self.path / 'queue.sqlite3'})")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._connect() as db:
                db.executescript(SCHEMA)
        except (sqlite3.Error, OSError) as exc:
            self.close()
            raise QueueError(f"cannot use {self.path} as the batch queue: {exc}") from None

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, inside one transaction."""
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        with db:
            yield db

    def close(self) -> None:
        """Close this thread's connection (others close when their thread's queue object is collected)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None

    # ---- jobs -------------------------------------------------------------------------------
    def add_job(self, spec: JobSpec) -> int:
        """Append a job at the end of the queue; returns its id."""
        with self._connect() as db:
            (last,) = db.execute("SELECT COALESCE(MAX(position), -1) FROM jobs").fetchone()
            cur = db.execute(
                "INSERT INTO jobs (position, spec, state, created) VALUES (?, ?, ?, ?)",
                (last + 1, spec.to_json(), JobState.QUEUED.value, time.time()),
            )
            assert cur.lastrowid is not None  # an INSERT always sets it
            return cur.lastrowid

    def job(self, job_id: int) -> Job:
        """The job with this id (KeyError if it was removed)."""
        job = self.find(job_id)
        if job is None:
            raise KeyError(f"no batch job {job_id}")
        return job

    def find(self, job_id: int) -> Job | None:
        """The job with this id, or None."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, position, spec, state, message, scanned FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
            return None if row is None else self._job_from_row(db, row)

    def state_of(self, job_id: int) -> tuple[JobState, str] | None:
        """A job's state and message without its file counts (cheap enough to poll per file), or None."""
        with self._connect() as db:
            row = db.execute("SELECT state, message FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return None if row is None else (JobState(row[0]), row[1])

    def jobs(self) -> list[Job]:
        """All jobs in queue order."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, position, spec, state, message, scanned FROM jobs ORDER BY position"
            ).fetchall()
            return [self._job_from_row(db, row) for row in rows]

    @staticmethod
    def _job_from_row(db: sqlite3.Connection, row: tuple) -> Job:
        counts = {state: 0 for state in ItemState}
        for state, n in db.execute(
            "SELECT state, COUNT(*) FROM items WHERE job_id = ? GROUP BY state", (row[0],)
        ):
            counts[ItemState(state)] = n
        return Job(row[0], row[1], JobSpec.from_json(row[2]), JobState(row[3]), row[4], bool(row[5]), counts)

    def next_runnable(self, job_id: int | None = None, exclude: Collection[int] = ()) -> Job | None:
        """The first job (in queue order) that is queued or was running, not in ``exclude``;
        only ``job_id`` if given. (A job another process is running is skipped by its lock, see
        :meth:`job_lock`.)"""
        for job in self.jobs():
            if job.runnable and job.id not in exclude and (job_id is None or job.id == job_id):
                return job
        return None

    def job_lock(self, job_id: int) -> JobLock:
        """The lock an engine holds while it runs the job."""
        return JobLock(self.path.parent / f"{self.path.stem}-locks" / f"job-{job_id}.lock")

    def find_same(self, spec: JobSpec) -> int | None:
        """The id of the newest job with exactly these settings, in any state (CLI re-runs continue it)."""
        with self._connect() as db:
            rows = db.execute("SELECT id, spec FROM jobs ORDER BY id DESC").fetchall()
        return next((int(job_id) for job_id, text in rows if JobSpec.from_json(text) == spec), None)

    def reopen(self, job_id: int) -> None:
        """Queue a job again for what is missing only: files added to its input folder since its scan (the
        next run lists the folder again) and outputs that vanished. Files done stay done."""
        output_dir = Path(self.job(job_id).spec.output_dir)
        with self._connect() as db:
            rows = db.execute("SELECT id, out_path FROM items WHERE job_id = ? AND state = ?",
                              (job_id, ItemState.DONE.value)).fetchall()
            lost = [(ItemState.PENDING.value, item_id) for item_id, out in rows
                    if not (output_dir / _from_db(out)).is_file()]
            db.executemany("UPDATE items SET state = ? WHERE id = ?", lost)
            db.execute("UPDATE jobs SET scanned = 0, state = ?, message = '' WHERE id = ?",
                       (JobState.QUEUED.value, job_id))

    def known_outputs(self, except_job: int) -> tuple[list[Path], set[str]]:
        """What the queue's jobs wrote: the output folders of the jobs other than ``except_job`` (not those
        that are also the job's input folder), and the absolute paths of every output recorded as written
        (done, or in flight when a run stopped)."""
        with self._connect() as db:
            specs = {job_id: JobSpec.from_json(text) for job_id, text in db.execute("SELECT id, spec FROM jobs")}
            rows = db.execute("SELECT job_id, out_path FROM items WHERE state IN (?, ?)",
                              (ItemState.DONE.value, ItemState.RUNNING.value)).fetchall()
        roots = {job_id: os.path.abspath(Path(spec.output_dir).resolve()) for job_id, spec in specs.items()}
        files = {os.path.join(roots[job_id], *PurePosixPath(_from_db(out)).parts) for job_id, out in rows}
        folders = [Path(spec.output_dir) for job_id, spec in specs.items()  # an in-place job's folder holds
                   if job_id != except_job and spec.output_dir != spec.input_dir]  # photos too: files only
        return folders, files

    def set_job_state(self, job_id: int, state: JobState, message: str = "") -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET state = ?, message = ? WHERE id = ?",
                       (state.value, printable(message), job_id))

    def reorder(self, job_ids: list[int]) -> None:
        """Put the listed jobs first, in this order; the others keep their relative order after them."""
        with self._connect() as db:
            rest = [
                jid for (jid,) in db.execute("SELECT id FROM jobs ORDER BY position") if jid not in job_ids
            ]
            for position, jid in enumerate([*job_ids, *rest]):
                db.execute("UPDATE jobs SET position = ? WHERE id = ?", (position, jid))

    def move_job(self, job_id: int, index: int) -> None:
        """Move one job to ``index`` in the queue order (0 = first)."""
        order = [job.id for job in self.jobs() if job.id != job_id]
        order.insert(max(0, min(index, len(order))), job_id)
        self.reorder(order)

    def remove_job(self, job_id: int) -> None:
        """Forget a job and its file list (its outputs stay on disk)."""
        with self._connect() as db:
            db.execute("DELETE FROM jobs WHERE id = ?", (job_id,))
        self.job_lock(job_id).path.unlink(missing_ok=True)

    # ---- items ------------------------------------------------------------------------------
    def set_items(self, job_id: int, entries: list[tuple[str, str, ItemState, str]]) -> None:
        """Record the job's file list once: ``(rel_path, out_path, state, reason)`` per file."""
        with self._connect() as db:
            db.executemany(
                "INSERT OR IGNORE INTO items (job_id, rel_path, out_path, state, reason) VALUES (?, ?, ?, ?, ?)",
                [(job_id, _to_db(rel), _to_db(out), state.value, printable(reason))
                 for rel, out, state, reason in entries],
            )
            db.execute("UPDATE jobs SET scanned = 1 WHERE id = ?", (job_id,))

    def items(self, job_id: int, state: ItemState | None = None) -> list[Item]:
        query = "SELECT id, rel_path, out_path, state, reason FROM items WHERE job_id = ?"
        args: tuple = (job_id,)
        if state is not None:
            query += " AND state = ?"
            args += (state.value,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY id", args).fetchall()
        return [Item(r[0], _from_db(r[1]), _from_db(r[2]), ItemState(r[3]), r[4]) for r in rows]

    def start_item(self, item_id: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE items SET state = ?, started = ? WHERE id = ?",
                (ItemState.RUNNING.value, time.time(), item_id),
            )

    def finish_item(self, item_id: int, state: ItemState, reason: str = "") -> None:
        with self._connect() as db:
            db.execute("UPDATE items SET state = ?, reason = ? WHERE id = ?",
                       (state.value, printable(reason), item_id))

    def recover_running(self, job_id: int, output_dir: Path) -> int:
        """Re-check files left 'running' by a crash or a kill; returns how many were found already written.

        Outputs are written atomically before an item is marked done, so an output file that is at least
        as new as the item's start is complete: the item is done. Anything else goes back to pending.
        """
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, out_path, started FROM items WHERE job_id = ? AND state = ?",
                (job_id, ItemState.RUNNING.value),
            ).fetchall()
            written = 0
            for item_id, out_path, started in rows:
                out = output_dir / _from_db(out_path)
                done = out.is_file() and out.stat().st_mtime >= (started or 0) - MTIME_SLACK_S
                written += done
                state = ItemState.DONE if done else ItemState.PENDING
                db.execute("UPDATE items SET state = ? WHERE id = ?", (state.value, item_id))
            return written

    def failures(self, job_id: int) -> list[Item]:
        """The files that failed, with their reasons."""
        return self.items(job_id, ItemState.FAILED)

    def export_failures_csv(self, job_id: int, path: Path) -> int:
        """Write the failures as CSV (``file,reason``, paths relative to the input folder), atomically."""
        failures = self.failures(job_id)
        text = io.StringIO()
        writer = csv.writer(text)
        writer.writerow(["file", "reason"])
        writer.writerows((printable(item.rel_path), item.reason) for item in failures)
        atomic_write_bytes(Path(path), text.getvalue().encode("utf-8"))
        return len(failures)

"""A batch process that dies mid-job (hard exit, no clean-up) resumes without redoing or losing files."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from desktop.runtime.batch import BatchEngine, BatchQueue, ItemState, JobSpec, JobState
from desktop.runtime.translators import open_translator

from batch_support import GOOD, CountingTranslator, make_photo_folder, tree_hashes

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Runs the engine in a child process and kills it with os._exit() at the worst moment: right after the
# output of file number CRASH_AT was written, before the queue could record it as done.
CHILD = textwrap.dedent("""
    import os, sys
    from desktop.runtime.batch import BatchEngine, BatchQueue
    from desktop.runtime.batch.store import BatchQueue as Store

    crash_at = int(sys.argv[1])
    finished = Store.finish_item
    count = 0

    def finish_then_maybe_die(self, item_id, state, reason=""):
        global count
        count += 1
        if count == crash_at:
            os._exit(3)
        finished(self, item_id, state, reason)

    Store.finish_item = finish_then_maybe_die
    BatchEngine(BatchQueue()).run()
    sys.exit(0)
""")


def test_killed_engine_resumes_without_redoing_or_losing_files(tmp_path, shared_data, tiny_bundles):
    photos = make_photo_folder(tmp_path, shared_data)
    inputs_before = tree_hashes(photos)
    out = tmp_path / "out"
    queue = BatchQueue()
    job_id = queue.add_job(JobSpec(str(photos), str(out), str(tiny_bundles["munit"]), "a2b", recursive=True))

    crash_at = 3
    env = {**os.environ, "PYTHONPATH": REPO}
    child = subprocess.run([sys.executable, "-c", CHILD, str(crash_at)], env=env, cwd=tmp_path,
                           capture_output=True, text=True, timeout=120)
    assert child.returncode == 3, child.stderr

    job = queue.job(job_id)
    assert job.state == JobState.RUNNING  # what a crash leaves behind
    assert job.counts[ItemState.RUNNING] >= 1 and job.finished == crash_at - 1
    written = {p.relative_to(out).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
               for p in out.rglob("*.png")}
    # the crash hit right after a write, before its bookkeeping: one more output than files marked done
    assert len(written) == job.counts[ItemState.DONE] + 1

    made = []
    engine = BatchEngine(queue, open_translator=lambda b, p: made.append(
        CountingTranslator(open_translator(b, provider=p))) or made[-1])
    engine.run()

    job = queue.job(job_id)
    assert job.state == JobState.DONE
    assert job.counts[ItemState.DONE] == len(GOOD) and job.counts[ItemState.FAILED] == 1
    outputs = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert len(outputs) == len(GOOD)  # nothing lost, no temporary files left
    assert set(written) <= set(outputs)
    assert made[0].calls == len(GOOD) - len(written)  # nothing translated twice
    for rel, (mtime, data) in written.items():  # the files written before the crash were not redone
        path = out / rel
        assert path.stat().st_mtime_ns == mtime and path.read_bytes() == data
    assert tree_hashes(photos) == inputs_before

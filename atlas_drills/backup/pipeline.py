"""Hashing and writing a member's data on two threads while the main thread reads (and decompresses) the next chunk.

One core alone cannot read, decompress, hash (sha256, ~1.6 GiB/s) and write a large file at the speed of two:
hashlib, os.write, readv and the zstd decoder all release the GIL on large buffers, so three threads overlap them.
Every chunk goes to both workers, in order; the reader hands out views of a small ring of buffers (`lend`) and,
before it reads into a buffer again, waits here until both workers are done with every view of it. Memory stays a
few buffers whatever the size of the backup.

The main thread keeps every decision: it parses, checks the rules and limits, compares the digest and size once
both workers have finished a member, and raises. A worker only records what went wrong (a write error, say) for the
main thread to raise. On any error the main thread cancels (the workers drop what is queued), waits until nothing is
in flight, then closes the file: no thread writes after a refusal, and no descriptor is closed under a write.
"""

from __future__ import annotations

import hashlib
import os
import queue
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Final

from atlas_drills.backup.errors import BackupEnvironmentError
from atlas_drills.backup.interrupts import signals_held

# Signals are the main thread's business (interruptible, signals_held): workers never run a Python handler, so a
# signal that arrives while the main thread holds them stays pending instead of interrupting a cleanup.
_HELD: Final = {signal.SIGINT, signal.SIGTERM}
# Buffers the reader cycles through: one being read into, the others being hashed and written. Eight keep both
# workers fed through the scheduling jitter of a busy machine; memory is 8 x buffer_size (8 MiB by default).
RING_BUFFERS: Final = 8


class MemberWork:
    """One member's file and running digest, shared by the main thread and the two workers."""

    def __init__(self, fd: int | None) -> None:
        self.fd = fd  # None: hash only
        self.digest = hashlib.sha256()
        self.in_flight = 0  # tasks queued or running, under the pipeline's lock
        self.write_error: OSError | None = None
        self.failure: BaseException | None = None  # anything else a worker hit (a bug, MemoryError)

    def check(self, path: Path, action: str) -> None:
        """Raise, on the main thread, what a worker hit: a write error as `BackupEnvironmentError` naming `path`
        (ENOSPC, EFBIG, EDQUOT, EIO: the disk, not the backup), anything else as it was."""
        if self.write_error is not None:
            raise BackupEnvironmentError(path, action, self.write_error) from self.write_error
        if self.failure is not None:
            raise self.failure


# A chunk to work on; an Event to set once everything queued before it is done (a barrier); None to stop.
_Task = tuple[MemberWork, memoryview] | threading.Event | None
_Step = Callable[[MemberWork, memoryview], None]


class HashWritePipeline:
    """Two worker threads, one hashing and one writing, fed the same views in the same order."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self._busy: dict[int, int] = {}  # id(buffer) -> tasks on views of it not yet done
        self._cancelled = False
        self._hashing: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._writing: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, args=(self._hashing, _hash), name="restore-hash", daemon=True),
            threading.Thread(target=self._work, args=(self._writing, _write), name="restore-write", daemon=True),
        ]
        # Threads inherit the signal mask of the thread that starts them.
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
        try:
            for thread in self._threads:
                thread.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    def submit(self, work: MemberWork, view: memoryview) -> None:
        """Queue `view` for hashing and writing. It must stay untouched until `before_reuse` of its buffer."""
        key = id(view.obj)
        tasks = 1 if work.fd is None else 2
        with self._lock:
            self._busy[key] = self._busy.get(key, 0) + tasks
            work.in_flight += tasks
        self._hashing.put((work, view))
        if work.fd is not None:
            self._writing.put((work, view))

    def before_reuse(self, buffer: bytearray) -> None:
        """Wait until both workers are done with every view of `buffer` (the reader is about to overwrite it)."""
        key = id(buffer)
        with self._lock:
            self._lock.wait_for(lambda: not self._busy.get(key))

    def settle(self, work: MemberWork) -> None:
        """Wait until `work` is hashed and written, as far as it was submitted."""
        with self._lock:
            self._lock.wait_for(lambda: not work.in_flight)

    def cancel(self) -> None:
        """Drop everything queued and wait for what is running: afterwards no worker touches any file. Signals are
        held meanwhile (a write of one buffer takes milliseconds), so a second Ctrl-C cannot cut the wait short."""
        with signals_held():
            self._drain()

    def close(self) -> None:
        """Cancel whatever is left and stop the workers."""
        with signals_held():
            self._drain()
            self._hashing.put(None)
            self._writing.put(None)
            for thread in self._threads:
                thread.join()

    def _drain(self) -> None:
        # A barrier behind whatever is queued, rather than waiting for the counts to reach zero: an interrupt
        # between counting a chunk in `submit` and queueing it would leave a count that never comes down.
        self._cancelled = True
        reached = [threading.Event(), threading.Event()]
        self._hashing.put(reached[0])
        self._writing.put(reached[1])
        for event in reached:
            event.wait()
        with self._lock:
            self._busy.clear()
            self._lock.notify_all()
        self._cancelled = False

    def _work(self, tasks: queue.SimpleQueue[_Task], step: _Step) -> None:
        while (task := tasks.get()) is not None:
            if isinstance(task, threading.Event):
                task.set()
                continue
            work, view = task
            try:
                if not self._cancelled and work.failure is None:
                    step(work, view)
            except BaseException as exc:  # handed to the main thread, which raises it
                work.failure = exc
            finally:
                self._done(work, view)

    def _done(self, work: MemberWork, view: memoryview) -> None:
        key = id(view.obj)
        with self._lock:
            left = self._busy.get(key, 0) - 1
            if left > 0:
                self._busy[key] = left
            else:
                self._busy.pop(key, None)
            work.in_flight -= 1
            self._lock.notify_all()


def _hash(work: MemberWork, view: memoryview) -> None:
    work.digest.update(view)


def write_some(fd: int, data: memoryview) -> int:
    """One `os.write` (the GIL is released meanwhile); the tests replace it to make the disk slow or full."""
    return os.write(fd, data)


def _write(work: MemberWork, view: memoryview) -> None:
    fd = work.fd
    if work.write_error is not None or fd is None:
        return  # the main thread refuses at its next look; the rest of this member is not worth writing
    try:
        while view:
            view = view[write_some(fd, view) :]
    except OSError as exc:  # ENOSPC, EFBIG, EDQUOT, EIO: the disk, not the backup
        work.write_error = exc

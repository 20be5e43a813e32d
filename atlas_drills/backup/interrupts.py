"""Signals during a verify or restore: SIGTERM unwinds like Ctrl-C so every cleanup runs, and a second signal
waits until the cleanup is done."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Interrupted(KeyboardInterrupt):
    """SIGTERM (or SIGINT) arrived during a verify or restore: unwinds like Ctrl-C, so every cleanup runs."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)


def _raise_interrupted(signum: int, frame: FrameType | None) -> None:
    del frame
    raise Interrupted(signum)


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Turn SIGTERM into `Interrupted` while the block runs, when nobody else handles it (pytest's run fixture
    does, the same way). Without this a `kill` ends the process at once: a half-written member stays in the target
    and verify's private copy in the temp folder."""
    if threading.current_thread() is not threading.main_thread() or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL:
        yield
        return
    signal.signal(signal.SIGTERM, _raise_interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM while cleaning up, so a second signal cannot cut the cleanup short; they are
    delivered (and interrupt) once it is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)

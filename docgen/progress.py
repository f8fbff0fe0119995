"""Progress display and signal handling for long runs (``docgen build``, ``docgen watch``)."""
from __future__ import annotations

import contextlib
import signal
import sys
import threading

from .build import Progress


@contextlib.contextmanager
def stop_on_signals():
    """SIGINT/SIGTERM stop a build cleanly: the rendering stops after the documents in hand,
    workers remove their temporary files, the manifest records what was finished, and
    ``build.Interrupted`` is raised. Outside rendering (loading records) they stop at once;
    a second Ctrl-C always does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    from .build import Interrupted, request_stop, stop_requested

    def handler(signum, frame):
        again = stop_requested()
        if not request_stop() or again:
            raise Interrupted()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, prev in previous.items():
            signal.signal(sig, prev)


class RichProgress(Progress):
    """A progress bar on the terminal (stderr) with rate and time left."""

    def __init__(self, description: str = "生成文书"):
        from rich.console import Console
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress as RP, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self._progress = RP(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TextColumn("剩余"),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self._description = description
        self._task = None
        self._done = 0

    def __enter__(self) -> "RichProgress":
        self._progress.start()
        return self

    def __exit__(self, *exc) -> None:
        self._progress.stop()

    def start(self, total: int) -> None:
        self._task = self._progress.add_task(self._description, total=total, rate="")

    def advance(self, label: str) -> None:
        if self._task is None:
            return
        self._done += 1
        task = self._progress.tasks[0]
        speed = task.speed
        self._progress.update(self._task, advance=1, rate=f"{speed:.1f} 份/秒" if speed else "")


def want_progress_bar(quiet: bool) -> bool:
    return not quiet and sys.stderr.isatty()

"""File-system helpers: private directories and atomic writes.

Everything docgen writes about people is confidential (《戒毒条例》第七条): directories
are created 0700 and files 0600, and every output is written to a temporary name in the
same directory, fsynced and renamed, so nobody ever sees a half-written file.
"""
from __future__ import annotations

import os
import signal
import tempfile
from pathlib import Path

_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) with mode 0700; tighten an existing one."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists():
        missing.append(p)
        p = p.parent
    for d in reversed(missing):
        d.mkdir(mode=DIR_MODE, exist_ok=True)
        os.chmod(d, DIR_MODE)
    if path.is_dir() and (path.stat().st_mode & 0o077):
        try:
            os.chmod(path, DIR_MODE)
        except PermissionError:  # pragma: no cover - not our directory
            pass
    return path


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temporary file, fsync, rename), mode 0600."""
    path = Path(path)
    private_dir(path.parent)
    tmp = None
    # no signal handler may run between creating the temporary file and knowing its name
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
    except BaseException:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        raise
    try:
        dfd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
    except OSError:  # pragma: no cover - some file systems refuse directory fsync
        pass


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, text.encode("utf-8"))


def clean_partials(directory: Path) -> int:
    """Remove temporary files a killed writer left behind; returns how many."""
    n = 0
    if not directory.exists():
        return 0
    for p in directory.rglob(".*.part"):
        try:
            p.unlink()
            n += 1
        except OSError:
            pass
    return n

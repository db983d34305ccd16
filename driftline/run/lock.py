"""One run at a time per output directory.

Two runs into one pipeline root and one SQLite store would both push, and whichever
wrote last would decide what a model server loads. The lock is an flock on a file in
the output directory, released by the kernel when the holder exits (even by kill -9),
so a crashed run never leaves a stale lock behind; the file names the holder.
"""
import contextlib
import datetime as dt
import fcntl
import json
import os
import sys
from pathlib import Path

from driftline.errors import RunLocked  # noqa: F401 - raised here, declared with the rest

LOCK_FILE = ".driftline-run.lock"


@contextlib.contextmanager
def holding(output_dir: Path):
    """Holds the output directory's run lock, or raises RunLocked naming the holder."""
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / LOCK_FILE
    handle = open(path, "a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            raise RunLocked(f"{output_dir}: another driftline run is writing here "
                            f"({_holder(handle.read())}); wait for it to finish, or give this "
                            "run another --output-dir") from None
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "started": dt.datetime.now().isoformat(timespec="seconds"),
                                 "command": " ".join(sys.argv)}))
        handle.flush()
        yield
    finally:
        handle.close()  # closing the file releases the lock


def _holder(text: str) -> str:
    try:
        info = json.loads(text)
        return f"process {info['pid']}, started {info['started']}: {info['command']}"
    except (ValueError, KeyError, TypeError):
        return "its process did not say who it is"

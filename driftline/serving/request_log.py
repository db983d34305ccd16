"""The request log: one CSV row per predicted row, written off the request path.

Requests put their rows on a bounded queue and return; a writer thread appends them to
`requests-<time>.csv` files in the log directory, starts a new file past `max_bytes`,
and removes the oldest files past `max_total_bytes`. When the queue is full (the disk is
slower than the traffic) rows are dropped and counted, never waited for: logging must
not slow down or fail a request. The columns are the serving features (the layout
`driftline drift --serving-data` reads) followed by what the server knows of the row.
"""
import csv
import io
import logging
import queue
import threading
import time
from pathlib import Path
from typing import List

log = logging.getLogger("driftline.serving")

EXTRA = ["request_id", "timestamp", "model_version", "slot", "key", "probability",
         "label_known", "latency_ms"]


class RequestLog:
    def __init__(self, directory: Path, feature_columns: List[str], max_bytes: int = 16 << 20,
                 max_total_bytes: int = 256 << 20, queue_rows: int = 100_000, extra: List[str] = EXTRA,
                 prefix: str = "requests"):
        self.directory = Path(directory)
        self.columns = list(feature_columns) + list(extra)
        self.prefix = prefix
        self.max_bytes = max_bytes
        self.max_total_bytes = max_total_bytes
        self.queue: "queue.Queue" = queue.Queue(maxsize=queue_rows)
        self.dropped = 0
        self.written = 0
        self._file = None
        self._size = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="request-log", daemon=True)

    def start(self):
        self.directory.mkdir(parents=True, exist_ok=True)
        self._thread.start()

    def add(self, rows: List[list]):
        """Never blocks: rows that do not fit on the queue are dropped and counted."""
        for row in rows:
            try:
                self.queue.put_nowait(row)
            except queue.Full:
                self.dropped += 1

    def flush(self, timeout: float = 10.0):
        """Waits until every row queued so far is on disk (for tests and shutdown)."""
        deadline = time.monotonic() + timeout
        while self.queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)

    def stop(self):
        self.flush()
        self._stop.set()
        self._thread.join(timeout=5)
        if self._file:
            self._file.close()

    def _open(self):
        if self._file:
            self._file.close()
        name = f"{self.prefix}-{time.strftime('%Y%m%dT%H%M%S')}-{time.time_ns() % 10**9:09d}.csv"
        self._file = open(self.directory / name, "w", newline="")
        header = io.StringIO()
        csv.writer(header).writerow(self.columns)
        self._file.write(header.getvalue())
        self._size = len(header.getvalue())
        self._enforce_cap()

    def _enforce_cap(self):
        files = sorted(self.directory.glob(f"{self.prefix}-*.csv"))
        total = sum(f.stat().st_size for f in files)
        for old in files[:-1]:  # never the file being written
            if total <= self.max_total_bytes:
                break
            total -= old.stat().st_size
            old.unlink()

    def _run(self):
        while not (self._stop.is_set() and self.queue.empty()):
            try:
                row = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                if self._file is None or self._size >= self.max_bytes:
                    self._open()
                text = io.StringIO()
                csv.writer(text).writerow(row)
                self._file.write(text.getvalue())
                self._size += len(text.getvalue())
                self.written += 1
                if self.queue.empty():
                    self._file.flush()
            except OSError:  # a full disk drops rows; the server keeps serving
                self.dropped += 1
                log.exception("the request log could not write")
            finally:
                self.queue.task_done()

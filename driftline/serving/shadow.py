"""The shadow: a version that scores requests beside the one answering them and answers
nobody.

The request path only offers the request to a bounded queue and returns: a worker
thread scores it with the shadow version and writes one row per predicted row to the
shadow log (`<log dir>/shadow/shadow-*.csv`: the answered row's request id, the shadow's
version and its prediction). So a shadow never changes an answer, and a slow, failing or
overloaded shadow costs its own rows (counted as failed or dropped), never a request.
`driftline monitor` joins the shadow log to the request log by request id.
"""
import logging
import queue
import threading
import time
from pathlib import Path
from typing import List, Optional

from driftline.serving.request_log import RequestLog

log = logging.getLogger("driftline.serving")

COLUMNS = ["request_id", "timestamp", "shadow_version", "prediction", "latency_ms", "error"]
DIRECTORY = "shadow"
# Below the answers' threads, not starved by every other process on the machine.
NICE = 5
PREFIX = "shadow"


def _yield_to_requests():
    """Lowers this thread's scheduling priority (Linux sets `nice` per thread), so that on
    busy cores the answers' threads run first and the shadow takes what is left."""
    import os

    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), NICE)
    except (AttributeError, OSError):  # not Linux, or not allowed: the shadow runs as is
        pass


def log_dir(request_log_dir) -> Path:
    """Where the shadow's rows are logged: beside the request log, never among its files."""
    return Path(request_log_dir) / DIRECTORY


class Shadow:
    def __init__(self, request_log_dir: Path, metrics, model: str, queue_requests: int = 10_000,
                 max_bytes: int = 16 << 20, max_total_bytes: int = 256 << 20):
        self.metrics, self.model = metrics, model
        self.queue: "queue.Queue" = queue.Queue(maxsize=queue_requests)
        self.log = RequestLog(log_dir(request_log_dir), [], max_bytes, max_total_bytes, extra=COLUMNS,
                              prefix=PREFIX)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shadow", daemon=True)

    def start(self):
        self.log.start()
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=10)
        self.log.stop()

    def offer(self, version, request_id: str, serialized: List[bytes]):
        """Never blocks: a request the worker cannot keep up with is not shadowed."""
        try:
            self.queue.put_nowait((version, request_id, serialized))
        except queue.Full:
            self._count(version, "dropped", len(serialized))

    def _count(self, version, outcome: str, rows: int):
        self.metrics.shadow_rows.labels(self.model, str(version.number), outcome).inc(rows)

    def _run(self):
        _yield_to_requests()
        while not (self._stop.is_set() and self.queue.empty()):
            try:
                version, request_id, serialized = self.queue.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self.log.add(self._score(version, request_id, serialized))
            finally:
                self.queue.task_done()

    def _score(self, version, request_id: str, serialized: List[bytes]) -> List[list]:
        started = time.monotonic()
        predictions: Optional[list] = None
        error = ""
        try:
            with version.serving():
                predictions = version.predict(serialized)[version.output].reshape(-1).tolist()
            self._count(version, "scored", len(serialized))
        except Exception as exc:  # noqa: BLE001 - a failing shadow costs only its own rows
            error = f"{type(exc).__name__}: {(str(exc).strip().splitlines() or [''])[0][:200]}"
            log.warning("shadow version %d failed on request %s: %s", version.number, request_id, error)
            self._count(version, "failed", len(serialized))
        elapsed = (time.monotonic() - started) * 1000
        self.metrics.shadow_latency.labels(self.model, str(version.number)).observe(elapsed / 1000)
        stamp = f"{time.time():.3f}"
        return [[f"{request_id}-{i}", stamp, str(version.number),
                 "" if predictions is None else f"{float(predictions[i]):.6f}", f"{elapsed:.3f}", error]
                for i in range(len(serialized))]

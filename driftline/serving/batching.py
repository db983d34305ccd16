"""Server-side batching: the requests for one version that arrive while its model is
busy are merged into its next call.

A version has one model call in flight at a time. A request that finds the model idle is
called at once, alone (no added latency at low load); requests that arrive during a call
queue, and the next call takes all of them, up to `max_rows` rows. Under load the batch
grows with the load, and one call of n rows costs far less than n calls of one row: the
saved model's per-call overhead (graph dispatch, parsing set-up) is paid once.

`timeout_s` > 0 makes an idle model wait that long for more requests before its first
call, as TF Serving's `batch_timeout_micros` does; it only helps when a call costs much
more than the wait.
"""
import asyncio
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import Deque, Dict, List, Tuple


class Batcher:
    def __init__(self, max_rows: int, timeout_s: float = 0.0, threads: int = 4):
        self.max_rows, self.timeout_s = max_rows, timeout_s
        self.pending: Dict[int, Deque[Tuple[List[bytes], asyncio.Future]]] = {}
        self.busy: set = set()
        # One call per version at a time; the threads let versions (stable, canary,
        # shadow) run side by side.
        self.executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="model")
        self.calls = 0  # model calls made (the tests read it)

    async def predict(self, version, serialized: List[bytes]) -> dict:
        """The model's outputs for these rows (one row each), from a call that may carry
        other requests' rows too."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.pending.setdefault(version.number, deque()).append((serialized, future))
        if version.number not in self.busy:
            self.busy.add(version.number)
            loop.create_task(self._drain(version))
        return await future

    def _take(self, queue: Deque) -> list:
        """The queued requests of the next call: at least one, then as many as fit."""
        batch = [queue.popleft()]
        rows = len(batch[0][0])
        while queue and rows + len(queue[0][0]) <= self.max_rows:
            item = queue.popleft()
            batch.append(item)
            rows += len(item[0])
        return batch

    async def _drain(self, version):
        queue = self.pending[version.number]
        loop = asyncio.get_running_loop()
        try:
            if self.timeout_s > 0:
                await asyncio.sleep(self.timeout_s)
            while queue:
                batch = self._take(queue)
                joined = [row for serialized, _ in batch for row in serialized]
                self.calls += 1
                try:
                    outputs = await loop.run_in_executor(self.executor, version.predict, joined)
                except Exception as exc:  # noqa: BLE001 - every request of the call gets the error
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                _answer(batch, outputs)
        finally:
            self.busy.discard(version.number)

    def close(self):
        self.executor.shutdown(wait=False, cancel_futures=True)


def _answer(batch, outputs: dict):
    """Each request's own rows of the merged call's outputs."""
    start = 0
    for serialized, future in batch:
        end = start + len(serialized)
        if not future.done():
            future.set_result({name: value[start:end] for name, value in outputs.items()})
        start = end

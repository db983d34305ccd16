"""Server-side batching: requests that arrive while a version's model is busy share its
next call, each gets its own rows back, and an error reaches every request of the call.

The model here is a function that records the rows of each call and can be held inside a
call until the test lets it go (an event, no sleeps): the batcher's merging is what is
under test; the e2e serving tests run it in front of real SavedModels.
"""
import asyncio
import threading

import numpy as np
import pytest

from driftline.serving.batching import Batcher


class Model:
    def __init__(self, number: int = 1, fail_on=None):
        self.number, self.fail_on = number, fail_on
        self.calls = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.release.set()

    def predict(self, rows):
        self.calls.append(list(rows))
        self.entered.set()
        self.release.wait(10)
        if self.fail_on is not None and self.fail_on in rows:
            raise ValueError(f"cannot score {self.fail_on!r}")
        return {"echo": np.array(rows, dtype=object), "double": np.array([2 * len(r) for r in rows])}


async def _busy_then(batcher, model, requests):
    """Holds the model inside a first call, queues `requests` behind it, lets it go: the
    answers of the first request and of each queued one."""
    model.release.clear()
    model.entered.clear()
    first = asyncio.ensure_future(batcher.predict(model, [b"first"]))
    await asyncio.get_running_loop().run_in_executor(None, model.entered.wait, 10)
    queued = [asyncio.ensure_future(batcher.predict(model, rows)) for rows in requests]
    await asyncio.sleep(0)  # every queued request is in the queue before the model is let go
    model.release.set()
    return await asyncio.gather(first, *queued, return_exceptions=True)


def test_requests_queued_behind_a_busy_model_share_one_call_and_get_their_own_rows():
    model, batcher = Model(), Batcher(max_rows=64)
    requests = [[b"a"], [b"bb", b"ccc"], [b"dddd"]]
    answers = asyncio.run(_busy_then(batcher, model, requests))
    assert model.calls == [[b"first"], [b"a", b"bb", b"ccc", b"dddd"]]
    assert batcher.calls == 2
    assert [list(a["echo"]) for a in answers] == [[b"first"], [b"a"], [b"bb", b"ccc"], [b"dddd"]]
    assert [list(a["double"]) for a in answers] == [[10], [2], [4, 6], [8]]
    batcher.close()


def test_a_call_never_carries_more_than_max_rows_unless_one_request_does():
    model, batcher = Model(), Batcher(max_rows=3)
    requests = [[b"1", b"2"], [b"3"], [b"4"], [b"5", b"6", b"7", b"8"], [b"9"]]
    answers = asyncio.run(_busy_then(batcher, model, requests))
    assert model.calls == [[b"first"], [b"1", b"2", b"3"], [b"4"], [b"5", b"6", b"7", b"8"], [b"9"]]
    assert [len(a["echo"]) for a in answers] == [1, 2, 1, 1, 4, 1]
    batcher.close()


def test_an_idle_model_is_called_at_once_alone():
    model, batcher = Model(), Batcher(max_rows=64)

    async def one_by_one():
        return [await batcher.predict(model, [bytes([65 + i])]) for i in range(3)]

    answers = asyncio.run(one_by_one())
    assert model.calls == [[b"A"], [b"B"], [b"C"]]
    assert [list(a["echo"]) for a in answers] == [[b"A"], [b"B"], [b"C"]]
    batcher.close()


def test_a_failing_call_fails_every_request_it_carried_and_the_next_call_runs():
    model, batcher = Model(fail_on=b"bad"), Batcher(max_rows=64)

    async def scenario():
        answers = await _busy_then(batcher, model, [[b"x"], [b"bad"]])
        after = await batcher.predict(model, [b"y"])
        return answers, after

    (first, x, bad), after = asyncio.run(scenario())
    assert list(first["echo"]) == [b"first"]
    assert isinstance(x, ValueError) and isinstance(bad, ValueError)
    assert "cannot score b'bad'" in str(bad)
    assert list(after["echo"]) == [b"y"]
    batcher.close()


def test_versions_are_batched_apart():
    one, two, batcher = Model(1), Model(2), Batcher(max_rows=64)

    async def scenario():
        two.release.clear()
        held = asyncio.ensure_future(batcher.predict(two, [b"two-first"]))
        await asyncio.get_running_loop().run_in_executor(None, two.entered.wait, 10)
        # Version 1 is not held up by version 2's call in flight.
        answer = await batcher.predict(one, [b"one"])
        two.release.set()
        return answer, await held

    answer, held = asyncio.run(scenario())
    assert one.calls == [[b"one"]] and two.calls == [[b"two-first"]]
    assert list(answer["echo"]) == [b"one"] and list(held["echo"]) == [b"two-first"]
    batcher.close()


@pytest.mark.parametrize("timeout_s", [0.0, 0.005])
def test_with_a_timeout_requests_sent_together_to_an_idle_model_share_its_first_call(timeout_s):
    model, batcher = Model(), Batcher(max_rows=64, timeout_s=timeout_s)

    async def together():
        return await asyncio.gather(*(batcher.predict(model, [bytes([97 + i])]) for i in range(4)))

    answers = asyncio.run(together())
    # gather starts all four before the drain task first runs, so even without a timeout
    # they share one call; the timeout only adds a wait before it.
    assert model.calls == [[b"a", b"b", b"c", b"d"]]
    assert [list(a["echo"]) for a in answers] == [[b"a"], [b"b"], [b"c"], [b"d"]]
    batcher.close()

"""A stop is decided by the signal: whatever exception Beam turns a Ctrl-C into, the run
is told it was interrupted. Real Beam (the DirectRunner, in this process), real
signals."""
import os
import signal

import apache_beam as beam
import pytest

from pipeline import interruption
from pipeline.errors import Terminated


@pytest.fixture(autouse=True)
def sigint_as_at_a_terminal():
    """A shell starts background jobs (and `make` under them) with SIGINT ignored, and
    watching() leaves an ignored SIGINT ignored: these tests give it the disposition a
    command typed at a terminal has."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


class _SignalOnThird(beam.DoFn):
    """Sends the process a signal while Beam is inside a bundle, as a user's Ctrl-C
    does when it lands there."""

    def __init__(self, signum):
        self._signum = signum

    def process(self, element):
        if element == 3:
            os.kill(os.getpid(), self._signum)
        yield element


def _run_beam(signum):
    with beam.Pipeline(runner="DirectRunner") as p:
        _ = p | beam.Create(range(6)) | beam.ParDo(_SignalOnThird(signum))


@pytest.mark.parametrize("signum, expected", [(signal.SIGINT, KeyboardInterrupt),
                                              (signal.SIGTERM, Terminated)])
def test_a_signal_inside_a_beam_bundle_is_a_stop_whatever_beam_raises(signum, expected):
    with interruption.watching():
        with pytest.raises(BaseException) as caught:
            _run_beam(signum)
        stop = interruption.stopped_by(caught.value)
    assert isinstance(stop, expected), f"{type(caught.value).__name__}: {caught.value}"
    assert interruption.received() == signum
    assert interruption.reason(stop) == interruption.REASONS[signum]


def test_a_failure_without_a_signal_is_not_a_stop():
    with interruption.watching():
        assert interruption.stopped_by(RuntimeError("a component broke")) is None
        assert interruption.received() is None


def test_a_shielded_block_records_the_signal_without_being_cut_short():
    with interruption.watching():
        with interruption.shielded():
            os.kill(os.getpid(), signal.SIGINT)
            finished = True
        assert finished
        assert interruption.received() == signal.SIGINT
        assert isinstance(interruption.stop_exception(), KeyboardInterrupt)


def test_handlers_are_restored_and_an_ignored_sigint_stays_ignored():
    before_term = signal.getsignal(signal.SIGTERM)
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with interruption.watching():
            assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) != before_term
        assert signal.getsignal(signal.SIGTERM) == before_term
    finally:
        signal.signal(signal.SIGINT, previous)

"""Whether a run was stopped by the user is decided by the signal, not by the exception
that reaches the runner.

A KeyboardInterrupt raised inside a Beam bundle comes back out of Beam as a RuntimeError
("KeyboardInterrupt [while running ...]"); TensorFlow and MLMD's client can wrap or
swallow it too. So while a run is watched, SIGINT and SIGTERM are recorded as they
arrive, and whatever a node raises afterwards, or the next node about to start, ends the
run as interrupted: exit 130 or 143, CANCELED in MLMD."""
import contextlib
import signal
from typing import Optional

from pipeline.errors import Terminated

_EXCEPTIONS = {signal.SIGINT: KeyboardInterrupt, signal.SIGTERM: Terminated}
REASONS = {signal.SIGINT: "interrupted (Ctrl-C)", signal.SIGTERM: "terminated (SIGTERM)"}

_state = {"received": None, "shielded": False}


def _handler(signum, frame):
    if _state["received"] is None:
        _state["received"] = signum
    if not _state["shielded"]:
        raise _EXCEPTIONS[signum]()


@contextlib.contextmanager
def watching():
    """Records SIGINT and SIGTERM while the block runs, raising KeyboardInterrupt or
    Terminated in the main thread as each arrives. A SIGINT that was ignored when the
    process started (nohup, a shell's background job) stays ignored."""
    _state.update(received=None, shielded=False)
    previous = {}
    for signum in _EXCEPTIONS:
        if signum == signal.SIGINT and signal.getsignal(signum) == signal.SIG_IGN:
            continue
        previous[signum] = signal.signal(signum, _handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def shielded():
    """What runs here (closing executions in MLMD after a stop) is not cut short by a
    second Ctrl-C: the signal is only recorded."""
    before = _state["shielded"]
    _state["shielded"] = True
    try:
        yield
    finally:
        _state["shielded"] = before


def received() -> Optional[int]:
    """The first stopping signal since watching() began, or None."""
    return _state["received"]


def stop_exception() -> BaseException:
    """The exception that ends the run for the signal received."""
    return _EXCEPTIONS[_state["received"]]()


def stopped_by(exc: BaseException) -> Optional[BaseException]:
    """The interruption `exc` stands for, whatever its type (a stopping signal arrived
    before it), or `exc` itself when it is one; None otherwise."""
    if isinstance(exc, tuple(_EXCEPTIONS.values())):
        return exc
    return stop_exception() if _state["received"] is not None else None


def reason(stop: BaseException) -> str:
    """How MLMD and the terminal name the stop."""
    return REASONS[signal.SIGTERM if isinstance(stop, Terminated) else signal.SIGINT]

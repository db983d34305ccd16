"""Keeping framework output (TensorFlow's C++ logs, Beam, absl, pip inside executors) in a
log file, so the terminal shows only what driftline itself says."""
import contextlib
import datetime as dt
import logging
import os
import sys
from pathlib import Path


@contextlib.contextmanager
def to_log_file(log_file: Path, title: str = "driftline"):
    """Sends everything written to fds 1 and 2 to log_file, and yields a stream that
    still reaches the terminal."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    terminal = os.fdopen(os.dup(saved_out), "w", buffering=1)
    with open(log_file, "a") as log:
        log.write(f"\n===== {title} {dt.datetime.now().isoformat()} =====\n")
        log.flush()
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield terminal
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_out, 1)
            os.dup2(saved_err, 2)
            os.close(saved_out)
            os.close(saved_err)
            terminal.close()


def verbose_to_log():
    """Framework loggers at INFO: they write into the log file, where details belong."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.INFO)
    logging.getLogger().setLevel(logging.INFO)

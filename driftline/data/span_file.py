"""A span's data file, written whole or not at all: both ways of making spans (the
embedded sample's and `driftline init`'s) write through it."""
import contextlib
import os
from pathlib import Path

SPAN_FILE = "data.csv"


@contextlib.contextmanager
def span_file(data_root: Path, span: int, binary: bool = False):
    """Yields (open file, final path) for data_root/span-N/data.csv: the rows go to a
    temporary file beside it, renamed into place when the block ends without an error, so
    ExampleGen never reads half a span."""
    directory = Path(data_root) / f"span-{span}"
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / SPAN_FILE
    temporary = target.with_suffix(".tmp")
    try:
        with open(temporary, "wb") if binary else open(temporary, "w", newline="", encoding="utf-8") as f:
            yield f, target
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    os.replace(temporary, target)

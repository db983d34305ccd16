"""Which spans a run reads: the span-N/ directories under the data root, in order.

A span is found exactly where ExampleGen will look for it: `span-{SPAN}/*.csv`, with
the span number written as ExampleGen writes it (no leading zeros). A directory that
looks like a span but would not be read as one, or a span that holds no CSV file, is
bad input, reported before anything runs.
"""
import os
import re
from pathlib import Path

from components.errors import DataError

# ExampleGen's input pattern, relative to the data root: {SPAN} is the span number.
SPAN_DIR = "span-{SPAN}"
SPAN_PATTERN = SPAN_DIR + "/*.csv"
_SPAN_LIKE = re.compile(r"^span-(\d+)$")


def span_dir(data_root, span: int) -> Path:
    return Path(data_root) / SPAN_DIR.replace("{SPAN}", str(span))


def _has_csv(directory: Path) -> bool:
    return any(name.endswith(".csv") and not name.startswith(".") for name in os.listdir(directory))


def find_spans(data_root: Path) -> list[int]:
    """Span numbers under data_root, ascending; DataError for a directory named like a
    span that ExampleGen would not read (span-03) or a span with no CSV file."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        return []
    spans = []
    for child in sorted(data_root.iterdir()):
        match = _SPAN_LIKE.match(child.name)
        if not match or not child.is_dir():
            continue
        number = int(match.group(1))
        if match.group(1) != str(number) or number < 1:
            raise DataError(f"{child}: not a span directory ExampleGen reads: spans are numbered "
                            f"from 1 without leading zeros (rename it to {data_root / f'span-{number}'})")
        if not _has_csv(child):
            raise DataError(f"{child}: holds no CSV file; ExampleGen reads {SPAN_PATTERN} "
                            "(add the span's .csv files or remove the directory)")
        spans.append(number)
    return sorted(spans)


def resolve_span(config) -> int:
    """The span a run is for: the configured one, or the latest under data_root."""
    if config.on_cluster:  # a bucket is not listed from here: the span is named
        if config.span is None:
            raise DataError("compiling for a cluster needs the span to run for (--span N)")
        return config.span
    available = find_spans(config.data_root)
    if not available:
        raise DataError(
            f"{config.data_root}: no span-N directories with CSV files; run `make data` "
            "or pass --data-root"
        )
    if config.span is None:
        return available[-1]
    if config.span not in available:
        raise DataError(
            f"{config.data_root}: span {config.span} not found (available: "
            f"{', '.join(map(str, available))})"
        )
    return config.span


def training_window(config, span: int) -> list:
    """Spans the model trains on: the last `window` available spans up to `span`."""
    if config.on_cluster:  # spans on a cluster are numbered 1..span without gaps
        start = 1 if config.window is None else max(1, span - config.window + 1)
        return list(range(start, span + 1))
    upto = [s for s in find_spans(config.data_root) if s <= span]
    return upto if config.window is None else upto[-config.window:]


def previous_span(config, span: int):
    """The latest span before `span` under data_root, or None."""
    if config.on_cluster:
        return span - 1 if span > 1 else None
    earlier = [s for s in find_spans(config.data_root) if s < span]
    return earlier[-1] if earlier else None

"""Which spans a run reads: the span-N/ directories under the data root, in order."""
import re
from pathlib import Path

from components.errors import DataError

# ExampleGen's input pattern, relative to the data root: {SPAN} is the span number.
SPAN_PATTERN = "span-{SPAN}/*.csv"
_SPAN_DIR = re.compile(r"^span-(\d+)$")


def find_spans(data_root: Path) -> list[int]:
    """Span numbers present under data_root (directories named span-N), ascending."""
    data_root = Path(data_root)
    if not data_root.is_dir():
        return []
    spans = []
    for child in data_root.iterdir():
        match = _SPAN_DIR.match(child.name)
        if match and child.is_dir():
            spans.append(int(match.group(1)))
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

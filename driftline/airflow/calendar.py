"""Which span an Airflow run is for: the span whose days cover the run's day, so that a
daily schedule is the retraining loop and a catchup replays the spans in order."""
import datetime as dt
from typing import List, Tuple

from components.errors import DataError


def span_covering(first_span_date: str, span_days: int, day: dt.date) -> int:
    """The number of the span whose days hold `day` (span 1 starts on first_span_date)."""
    first = dt.date.fromisoformat(first_span_date)
    return (day - first).days // span_days + 1


def first_day(first_span_date: str, span_days: int, span: int) -> dt.date:
    """The first day span `span` covers: span_covering's inverse."""
    return dt.date.fromisoformat(first_span_date) + dt.timedelta(days=(span - 1) * span_days)


def span_for(first_span_date: str, span_days: int, day: dt.date, available: List[int]) -> Tuple[int, str]:
    """(span, why) for a run on `day`. Without a calendar (no first_span_date) the newest
    span; with one, the span covering the day, or the newest when that span has not
    arrived. A day before span 1, or a covering span that is missing while later ones
    exist, is an error: running another span's data under that day would mislabel it."""
    if not available:
        raise DataError("no span-N directory with CSV files under the data root: nothing to run")
    newest = available[-1]
    if not first_span_date:
        return newest, f"span {newest}, the newest (airflow.first_span_date is not set)"
    wanted = span_covering(first_span_date, span_days, day)
    if wanted < 1:
        raise DataError(f"{day} is before span 1's first day ({first_span_date}, airflow.first_span_date): "
                        "no span covers it")
    if wanted in available:
        return wanted, f"span {wanted}, which covers {day}"
    if wanted > newest:
        return newest, f"span {newest}, the newest: span {wanted}, which covers {day}, has not arrived"
    raise DataError(f"span {wanted} covers {day} but there is no span-{wanted} directory under the "
                    f"data root (spans: {', '.join(map(str, available))})")

import csv
import json

import numpy as np
import pytest

from components.errors import DataError
from driftline.data.sample import PROVENANCE_FILE, SPAN_FILE, embedded_source, prepare_spans
from pipeline.inputs import sha256_of
from pipeline.spans import find_spans


def read_provenance(data_root, span):
    return json.loads((data_root / f"span-{span}" / PROVENANCE_FILE).read_text())


def test_spans_are_the_four_years_in_time_order(embedded_spans):
    assert find_spans(embedded_spans) == [1, 2, 3, 4]
    years = [read_provenance(embedded_spans, s)["year"] for s in (1, 2, 3, 4)]
    rows = [read_provenance(embedded_spans, s)["rows"] for s in (1, 2, 3, 4)]
    assert years == [2013, 2014, 2015, 2016]
    assert rows == [4388, 5145, 4636, 833]


def test_span_rows_are_the_source_rows_byte_for_byte(embedded_spans):
    source = embedded_source().read_bytes().splitlines()
    header, body = source[0], sorted(line for line in source[1:] if line)
    written = []
    for span in find_spans(embedded_spans):
        lines = (embedded_spans / f"span-{span}" / SPAN_FILE).read_bytes().splitlines()
        assert lines[0] == header
        written.extend(lines[1:])
    assert sorted(written) == body
    # Integer columns with gaps must keep their integer text (no "8.0").
    with open(embedded_spans / "span-1" / SPAN_FILE) as f:
        areas = [r["pickup_community_area"] for r in csv.DictReader(f) if r["pickup_community_area"]]
    assert areas and all("." not in a for a in areas)


def test_provenance_names_source_hash_and_date_range(embedded_spans):
    prov = json.loads((embedded_spans / "span-3" / PROVENANCE_FILE).read_text())
    assert prov["source_sha256"] == sha256_of(embedded_source())
    assert prov["source"].startswith("tfx==1.16.0:")
    assert prov["first_trip_start"].startswith("2015-") and prov["last_trip_start"].startswith("2015-")
    assert prov["file_sha256"] == sha256_of(embedded_spans / "span-3" / SPAN_FILE)


def test_preparing_again_leaves_files_untouched(embedded_spans):
    target = embedded_spans / "span-2" / SPAN_FILE
    before = target.stat().st_mtime_ns
    prepare_spans(embedded_spans)
    assert target.stat().st_mtime_ns == before


def test_label_is_skewed_about_22_percent(embedded_spans):
    tips, fare = [], []
    for span in find_spans(embedded_spans):
        with open(embedded_spans / f"span-{span}" / SPAN_FILE) as f:
            for row in csv.DictReader(f):
                tips.append(float(row["tips"]))
                fare.append(float(row["fare"]))
    rate = np.mean(np.array(tips) > 0.2 * np.array(fare))  # the example's label rule
    assert 0.22 <= rate <= 0.23


@pytest.mark.parametrize(
    "content, message",
    [
        (b"fare,tips\n1,2\n", "no 'trip_start_timestamp' column"),
        (b"fare,trip_start_timestamp\n1,yesterday\n", ":2: trip_start_timestamp is 'yesterday'"),
        (b"fare,trip_start_timestamp\n1,1362683700,9\n", ":2: 3 fields where the header has 2"),
        (b"", "the file is empty"),
    ],
)
def test_bad_source_gives_one_readable_error_and_writes_nothing(tmp_path, content, message):
    source = tmp_path / "bad.csv"
    source.write_bytes(content)
    with pytest.raises(DataError, match=message.replace("(", r"\(")) as err:
        prepare_spans(tmp_path / "out", source)
    assert str(source) in str(err.value)
    assert not (tmp_path / "out").exists()

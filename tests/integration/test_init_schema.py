"""The schema `driftline init` drafts (driftline/schema/from_data.py), on a small table
whose columns are known: real TFDV inference, real span-to-span distances."""
import csv

import pyarrow as pa
from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2

from driftline.schema import from_data


def _spans(root, rows_by_span):
    for span, rows in enumerate(rows_by_span, start=1):
        directory = root / f"span-{span}"
        directory.mkdir(parents=True)
        with open(directory / "data.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["hour", "price", "shop", "note", "month", "paid"])
            writer.writerows(rows)


def _rows(month, shops, n=200):
    return [[i % 24, 10 + i % 7, shops[i % len(shops)], "" if i % 3 else "x", month, i % 5] for i in range(n)]


def test_the_draft_marks_optional_columns_categories_outcomes_and_measured_thresholds(tmp_path):
    spans = [_rows(1, ["a", "b"]), _rows(2, ["a", "b"]), _rows(3, ["a", "a", "a", "b"])]
    _spans(tmp_path, spans)
    header = ["hour", "price", "shop", "note", "month", "paid"]
    columns = list(zip(*[[("" if v == "" else str(v)) for v in row] for rows in spans for row in rows]))
    table = pa.table({name: pa.array([v or None for v in values], pa.string())
                      for name, values in zip(header, columns)})
    schema, comments = from_data.draft(table, tmp_path, outcomes=["paid"], not_watched=["note"])
    by_name = {f.name: f for f in schema.feature}
    assert list(schema.default_environment) == ["TRAINING", "SERVING"]
    # An outcome never reaches serving and has no threshold.
    assert list(by_name["paid"].not_in_environment) == ["SERVING"]
    assert not by_name["paid"].HasField("drift_comparator")
    # A column with empty cells may be empty, even for a whole span.
    assert by_name["note"].presence.min_count == 0 and by_name["note"].value_count.max == 1
    assert "not a model input" in comments["note"]
    # Small non-negative integers are category ids.
    hour = by_name["hour"].int_domain
    assert (hour.min, hour.max, hour.is_categorical) == (0, 23, True)
    # The shop share moved by a quarter between spans 2 and 3: the threshold lets that pass.
    shop = by_name["shop"].drift_comparator.infinity_norm.threshold
    assert shop == 0.32 and "0.250 (spans 2→3) + 25%" in comments["shop"]
    # The month moves completely every span: capped at 1, and said why.
    assert by_name["month"].drift_comparator.infinity_norm.threshold == 1.0
    assert "capped at 1" in comments["month"]
    # Rendered, it reads back as the same schema, each feature under its comment.
    text = from_data.render(schema, comments, "shops.csv", table.num_rows)
    assert text_format.Parse(text, schema_pb2.Schema()) == schema
    assert text.split('name: "shop"')[0].splitlines()[-3].startswith("# shop: drift threshold 0.32")

"""Suggested drift thresholds (driftline/monitoring/thresholds.py): a high percentile of
the normal history plus a margin; too little history keeps the threshold; the schema
file is rewritten with its comments kept."""
from pathlib import Path

from driftline.monitoring import thresholds
from driftline.schema.check import load_schema
from driftline.schema.text_edit import rewrite

SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "schema.pbtxt"


def test_suggestions_follow_the_history_and_keep_thresholds_without_one():
    schema = load_schema(SCHEMA)
    history = {"fare": [("spans 1→2", 0.02), ("spans 2→3", 0.03), ("pass 7", 0.01), ("pass 8", 0.04)],
               "company": [("spans 1→2", 0.2), ("spans 2→3", 0.21), ("spans 3→4", 0.22)],
               "payment_type": [("spans 1→2", 0.05)]}
    found = {s.feature: s for s in thresholds.suggest(schema, history)}
    fare = found["fare"]
    # 95th percentile of [0.01, 0.02, 0.03, 0.04] is 0.0385; plus 25% is 0.048, up to 0.05.
    assert fare.proposed == 0.05 and "4 distances (2 between consecutive spans, 2 between" in fare.reasoning
    assert found["company"].proposed == 0.28  # normal moves were larger than the threshold: raised
    assert found["payment_type"].proposed == found["payment_type"].current
    assert "fewer than the 3 needed with at least 1 between spans: kept" in found["payment_type"].reasoning
    # Only features the schema gives a drift comparator.
    with_comparator = {f.name for f in schema.feature if f.drift_comparator.HasField("infinity_norm")}
    assert set(found) == with_comparator


def test_windows_alone_never_lower_a_threshold_nor_below_a_move_between_spans():
    schema = load_schema(SCHEMA)
    resent = [("pass 1", 0.01), ("pass 2", 0.012), ("pass 3", 0.009)]  # the same rows sent again
    found = {s.feature: s for s in thresholds.suggest(schema, {"payment_type": resent})}
    assert found["payment_type"].proposed == found["payment_type"].current
    assert "(0 between spans)" in found["payment_type"].reasoning
    # One real move between spans of 0.077 among quiet windows: the threshold stays above it.
    found = {s.feature: s for s in thresholds.suggest(schema, {"payment_type": resent * 10 + [("spans 3→4", 0.077)]})}
    assert found["payment_type"].proposed == 0.08
    assert "raised to the widest move between spans (0.077)" in found["payment_type"].reasoning


def test_the_schema_file_is_rewritten_with_its_comments():
    schema = load_schema(SCHEMA)
    text = SCHEMA.read_text()
    suggestions = thresholds.suggest(schema, {"fare": [("spans 1→2", 0.02), ("b", 0.03), ("c", 0.04)]})
    updated = rewrite(text, schema, thresholds.apply(schema, suggestions), str(SCHEMA))
    comments = [line for line in text.splitlines() if line.strip().startswith("#")]
    assert comments and all(line in updated.splitlines() for line in comments)
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    parsed = text_format.Parse(updated, schema_pb2.Schema())
    fare = next(f for f in parsed.feature if f.name == "fare")
    assert abs(fare.drift_comparator.infinity_norm.threshold - 0.05) < 1e-9
    assert len(updated.splitlines()) == len(text.splitlines())  # one value changed in place

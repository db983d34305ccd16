"""Drift on the real taxi spans: agreement with TFDV, and the real 2013 -> 2015 shift."""
import csv
import json

import pytest
import tensorflow_data_validation as tfdv

from components.drift_gate.comparison import OVER, compare
from driftline.data.drift import csv_statistics
from driftline.schema.check import load_schema
from pipeline.config import PROJECT_ROOT

SCHEMA = PROJECT_ROOT / "schemas" / "schema.pbtxt"


@pytest.fixture(scope="module")
def stats(embedded_spans):
    schema = load_schema(SCHEMA)
    return {s: csv_statistics(embedded_spans / f"span-{s}", schema) for s in (1, 2, 3)}


def _with_threshold(feature, value):
    schema = load_schema(SCHEMA)
    for f in schema.feature:
        if f.name == feature:
            f.drift_comparator.infinity_norm.threshold = value
    return schema


@pytest.mark.parametrize("baseline, current", [(1, 2), (1, 3), (2, 3)])
def test_categorical_distances_agree_with_tfdv(stats, baseline, current):
    schema = load_schema(SCHEMA)
    ours = {f.name: f for f in compare([stats[current]], [stats[baseline]], schema).features}
    anomalies = tfdv.validate_statistics(stats[current], schema, previous_statistics=stats[baseline])
    checked = 0
    for info in anomalies.drift_skew_info:
        name = info.path.step[0]
        for measurement in info.drift_measurements:
            if ours[name].kind == "categorical":
                assert ours[name].distance == pytest.approx(measurement.value, abs=1e-6), name
                checked += 1
    assert checked >= 3  # payment_type, company, trip_start_hour


def test_real_drift_2013_to_2015_payment_type(stats):
    strict = compare([stats[3]], [stats[1]], _with_threshold("payment_type", 0.1))
    payment = next(f for f in strict.features if f.name == "payment_type")
    assert payment.distance == pytest.approx(0.14, abs=0.01)
    assert payment.verdict == OVER and not strict.passed
    loose = compare([stats[3]], [stats[1]], _with_threshold("payment_type", 0.2))
    assert next(f for f in loose.features if f.name == "payment_type").verdict == "ok"
    assert loose.passed


def test_numeric_features_get_a_distance_tfdv_does_not_give(stats):
    result = compare([stats[2]], [stats[1]], load_schema(SCHEMA))
    fare = next(f for f in result.features if f.name == "fare")
    assert fare.kind == "numeric" and 0.0 < fare.distance < fare.threshold


def test_drift_command_json_and_report(embedded_spans, tmp_path, driftline):
    proc = driftline("drift", "--baseline-span", 1, "--span", 3, "--data-root", embedded_spans,
                     "--output-dir", tmp_path, "--json")
    assert proc.returncode == 3, proc.stderr  # payment_type is over its 0.1 threshold
    data = json.loads(proc.stdout)
    assert data["offending"] == ["payment_type"]
    for item in data["features"]:
        assert {"name", "kind", "distance", "threshold", "verdict"} <= set(item)
        assert item["kind"] in ("categorical", "numeric")
    report_dir = tmp_path / "drift" / "span-1_vs_span-3"
    for name in ("drift_report.md", "drift_report.html", "drift_chart.png", "drift.json"):
        assert (report_dir / name).stat().st_size > 0
    assert "**payment_type**" in (report_dir / "drift_report.md").read_text()


def _serving_logs(span_dir, target, keep=lambda row: True):
    """Serving requests as CSV: the span's rows that pass `keep`, without tips."""
    import csv

    target.mkdir(parents=True)
    with open(span_dir / "data.csv") as f:
        rows = [r for r in csv.DictReader(f) if keep(r)]
    columns = [c for c in rows[0] if c != "tips"]
    with open(target / "requests.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    return target


def _skew(embedded_spans, serving):
    from driftline.data.drift import compare_skew, skew_inputs

    training, logs = skew_inputs(embedded_spans, 3, serving)
    return compare_skew(training, logs, load_schema(SCHEMA), 3, serving)


def test_skew_uses_the_same_comparators_with_skew_thresholds(embedded_spans, tmp_path):
    same = _serving_logs(embedded_spans / "span-3", tmp_path / "same")
    result = _skew(embedded_spans, same)
    payment = next(f for f in result.features if f.name == "payment_type")
    assert payment.distance == pytest.approx(0.0, abs=1e-9) and result.passed
    # Only the skew_comparator thresholds gate: company has a drift threshold, no skew one.
    assert next(f for f in result.features if f.name == "company").verdict == "not gated"

    cash_only = _serving_logs(embedded_spans / "span-3", tmp_path / "cash",
                              keep=lambda r: r["payment_type"] == "Cash")
    skewed = _skew(embedded_spans, cash_only)
    assert "payment_type" in [f.name for f in skewed.offending]
    assert not skewed.passed


def _write(target, header, rows):
    target.mkdir(parents=True, exist_ok=True)
    with open(target / "requests.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return target


def test_skew_judges_what_is_missing_or_excluded(embedded_spans, tmp_path):
    from components.drift_gate.comparison import EXCLUDED, MISSING
    from components.errors import DataError

    with open(embedded_spans / "span-3" / "data.csv", newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:400]

    # No payment_type column (a feature with a skew threshold): a failure, not "absent".
    keep = [i for i, name in enumerate(header) if name not in ("payment_type", "tips")]
    lacking = _skew(embedded_spans, _write(tmp_path / "lacking", [header[i] for i in keep],
                                           [[r[i] for i in keep] for r in body]))
    payment = next(f for f in lacking.features if f.name == "payment_type")
    assert payment.verdict == MISSING and not lacking.passed

    # The label's source still in the serving logs: reported, and the check fails.
    carrying = _skew(embedded_spans, _write(tmp_path / "tips", header, body))
    tips = next(f for f in carrying.features if f.name == "tips")
    assert tips.verdict == EXCLUDED and "tips" in [f.name for f in carrying.offending]

    # A header and no rows: nothing to compare, bad input.
    with pytest.raises(DataError, match="hold a header and no rows"):
        _skew(embedded_spans, _write(tmp_path / "empty", header, []))


def test_a_quoted_line_break_gets_the_verdict_run_gives_it(embedded_spans, tmp_path):
    """The pipeline's reader takes a quoted field holding a line break; so does every
    command that reads CSV (it once crashed in `drift` and `schema infer` only)."""
    from components.example_gen import csv_reader
    from driftline.schema.infer import infer

    span = tmp_path / "span-9"
    span.mkdir()
    text = (embedded_spans / "span-4" / "data.csv").read_text()
    assert ",Taxi Affiliation Services," in text
    (span / "data.csv").write_text(text.replace(",Taxi Affiliation Services,",
                                                ',"Taxi Affiliation\nServices",', 1))
    rows = csv_reader.read_span(csv_reader.list_files(str(span))).num_rows
    assert rows == text.count("\n") - 1
    stats = csv_statistics(span, load_schema(SCHEMA))
    assert stats.datasets[0].num_examples == rows
    schema, _ = infer(span)
    assert any(f.name == "company" for f in schema.feature)

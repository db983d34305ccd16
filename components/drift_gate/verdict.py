"""The properties the DriftGate writes on its DriftReport artifact, and how to read them back.

The writer (component.py) and every reader (the run summary, lineage, schema update) use
these names, so a property cannot be renamed on one side only.
"""
import json

from components.properties import custom_property

# KFP v2 needs `namespace.Name`, and imports the class by it (components/__init__.py).
DRIFT_REPORT_TYPE = "components.DriftReport"

PASSED = "passed"          # 1 when the gated nodes may run (clean, or gate = warn)
CLEAN = "clean"            # 1 when nothing was over a threshold and no anomaly was found
GATE = "gate"              # "block" or "warn"
BASELINE_KIND = "baseline_kind"    # "blessed", "previous" or "none"
BASELINE_SPAN = "baseline_span"
CURRENT_SPAN = "current_span"
BASELINE_STATISTICS_ID = "baseline_statistics_id"
CURRENT_STATISTICS_ID = "current_statistics_id"
OFFENDING = "offending"    # comma-separated feature names over their threshold
ANOMALIES = "anomalies"    # JSON list of [feature, description]
REPORT_HTML = "report_html"
LABEL_FINDINGS = "label_findings"  # JSON list: label_consistency.Finding.to_json()
DISTANCE = "distance."     # + feature name
THRESHOLD = "threshold."
VERDICT = "verdict."


_property = custom_property


def read(artifact) -> dict:
    """The gate's verdict as recorded on a DriftReport (an MLMD Artifact proto)."""
    return {
        "passed": _property(artifact, PASSED) == 1,
        "clean": _property(artifact, CLEAN) == 1,
        "gate": _property(artifact, GATE),
        "current_span": _property(artifact, CURRENT_SPAN),
        "baseline_span": _property(artifact, BASELINE_SPAN),
        "baseline_kind": _property(artifact, BASELINE_KIND),
        "offending": [f for f in (_property(artifact, OFFENDING) or "").split(",") if f],
        "anomalies": json.loads(_property(artifact, ANOMALIES) or "[]"),
        "report": _property(artifact, REPORT_HTML),
        "label_findings": json.loads(_property(artifact, LABEL_FINDINGS) or "[]"),
        "report_id": artifact.id,
    }

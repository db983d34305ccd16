"""Monitoring passes in MLMD: their record type, and what they saw of a shadow version.

The pass itself is measured and written by driftline/monitoring; the type lives here so
that lineage can answer, from a pushed model, what was seen while it shadowed.
"""
import json
from typing import List

from driftline.mlmd import records
from driftline.mlmd.records import DOUBLE, INT, STRING

MONITORING = records.RecordType("driftline.Monitoring", {
    "model": STRING, "rows": INT, "first_timestamp": DOUBLE, "last_timestamp": DOUBLE, "judged": INT,
    "alarms": STRING, "result": STRING}, context_type="driftline.monitoring")
SHADOW_ROLE = "shadow_model"


def shadowed(store, artifact_id: int) -> List[dict]:
    """The passes that read a pushed model as the shadow, oldest first: each with the
    window's agreement or the outcomes' paired comparison ("shadow" of its result)."""
    found = []
    for entry in records.read(store, MONITORING, about=artifact_id):
        if entry["inputs"].get(artifact_id) != SHADOW_ROLE:
            continue
        result = json.loads(entry.get("result") or "{}")
        if result.get("shadow"):
            found.append({"execution": entry["execution"], "time_ms": entry["time_ms"],
                          "kind": result.get("kind", "window"), "shadow": result["shadow"]})
    return found

"""Monitoring passes in MLMD: their record type, and what they saw of a version that
answered or shadowed.

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


def watched(store, artifact_id: int, version: str) -> dict:
    """What the window passes saw of a pushed model (serving as `version`) while it
    answered: how many judged it, their alarms about it or its windows by kind, its newest
    estimated performance, and the estimates outcome passes checked against what was
    realized."""
    found = {"passes": 0, "alarms": {}, "estimate": None, "checks": []}
    for entry in records.read(store, MONITORING, about=artifact_id):
        result = json.loads(entry.get("result") or "{}")
        if result.get("kind") == "labels":
            found["checks"] += [c for c in result.get("estimate_checks") or [] if c["version"] == version]
            continue
        info = result.get("versions", {}).get(version) or {}
        if entry["inputs"].get(artifact_id) == SHADOW_ROLE or not info.get("judged"):
            continue
        found["passes"] += 1
        for alarm in result.get("alarms", []):
            if alarm["version"] in ("", version):
                found["alarms"][alarm["kind"]] = found["alarms"].get(alarm["kind"], 0) + 1
        if info.get("estimated_performance"):
            found["estimate"] = {"time_ms": entry["time_ms"], "execution": entry["execution"],
                                 "f1_score": info["estimated_performance"]["metrics"]["f1_score"]}
    return found

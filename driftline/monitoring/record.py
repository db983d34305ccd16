"""A monitoring pass as an MLMD record: its inputs are the pushed models that served the
window and the training statistics each was compared with, its properties the window,
the distances and the alarms. Lineage thus continues past deployment: from a model to
every judgement of its traffic."""
from driftline.mlmd import records
from driftline.mlmd.passes import MONITORING


def record(store, model: str, result: dict, sources: list) -> int:
    """`sources`: (role, artifact) pairs, e.g. ("served_model", PushedModel). An artifact
    that serves two roles (one training-statistics artifact behind two versions trained on
    the same data) is one input: MLMD holds one input event per artifact and execution."""
    return records.write(store, MONITORING, {
        "model": model, "rows": result["rows"], "first_timestamp": result["first_timestamp"],
        "last_timestamp": result["last_timestamp"], "judged": int(result["judged"]),
        "alarms": result["alarms"], "result": result}, inputs=sources, history_of=model)


def history(store, model: str) -> list:
    """Every pass and outcome join of `model`, oldest first."""
    return records.read(store, MONITORING, model)

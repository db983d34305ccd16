"""The two kinds of monitoring pass, as `driftline monitor` and its watcher both run them:
a window pass (skew, drift, prediction drift and latency of a window of the request log)
and an outcome pass (late labels joined to the logged predictions: online F1 per
version). Each is recorded in MLMD, published where `driftline serve` exports it on
/metrics, and redrawn on the dashboard. TensorFlow is loaded by finding the versions'
training data in MLMD, so callers run these inside framework_output.to_log_file."""
import json
import os
import tempfile
from pathlib import Path


def window_pass(config, schema, store, window, dashboard: bool = True) -> dict:
    from driftline.monitoring import check, record

    result, sources = check.judge_window(config, schema, store, window)
    result["execution"] = record.record(store, config.model_name, result, sources)
    publish(config.monitoring_result_path, result)
    if dashboard:
        redraw_dashboard(config, store)
    return result


def outcome_pass(config, store, joined: dict, files=(), dashboard: bool = True, log_dir=None) -> dict:
    """`joined`: labels.join of the log and the outcomes; `files`: the outcome files it
    came from (recorded, so that a watcher joins each file once). `dashboard`: redraw the
    dashboard after the pass (a replay, which reports with its timeline, draws it once
    at the end instead). `log_dir`: the request log the rows came from (the shadow's
    predictions are beside it)."""
    from driftline.monitoring import labels, record
    from driftline.monitoring.baseline import operating_thresholds, trained

    from driftline.monitoring import shadow

    log_dir = log_dir or config.request_log_dir
    said = shadow.read(log_dir) if shadow.present(log_dir) else {}
    versions = set(joined["versions"]) | {v for v, _ in said.values()}
    models = {v: trained(store, config.pipeline_name, v) for v in versions}
    thresholds = operating_thresholds(models)
    result = labels.quality(joined, config, {v: thresholds[v] for v in joined["versions"]})
    result["shadow"] = shadow.online(joined, said, thresholds, config) if said else None
    if joined.get("kind") != "regression":
        from driftline.monitoring import dashboard as board, realized

        result["estimate_checks"], result["estimate_partials"] = realized.against_estimates(
            board.history(store, config.model_name), joined, thresholds, config.monitoring.min_requests)
    result["outcome_files"] = [str(f) for f in files]
    sources = [("served_model" if v in joined["versions"] else "shadow_model", t.pushed)
               for v, t in models.items() if t is not None]
    summary = {**result, "kind": "labels", "rows": joined["matched"], "judged": any(
        v["judged"] for v in result["versions"].values()), "first_timestamp": 0.0, "last_timestamp": 0.0}
    result["execution"] = record.record(store, config.model_name, summary, sources)
    publish(config.monitoring_result_path.with_suffix(".labels.json"), result)
    if dashboard:
        redraw_dashboard(config, store)
    return result


def redraw_dashboard(config, store):
    """A failure costs only the dashboard, never the pass."""
    try:
        from driftline.monitoring import dashboard

        dashboard.write(store, config.model_name, config.monitoring_dashboard_dir)
    except Exception as exc:  # noqa: BLE001
        print(f"warning: the dashboard was not rewritten: {type(exc).__name__}: {exc}")


def publish(path: Path, result: dict):
    """Replaces the result file `driftline serve` exports on /metrics, atomically: the
    server may be reading the old one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".monitor-", suffix=".json")
    with os.fdopen(handle, "w") as f:
        json.dump(result, f, default=str)
    os.replace(temporary, path)

"""The monitoring dashboard: one self-contained HTML page with PNG charts, drawn from
what MLMD holds (every monitoring pass, every outcome join, every rollout change), so
it shows the history, not only the newest pass. `driftline monitor` rewrites it after
each pass, `driftline monitor report` on demand, and `driftline serve` serves the newest
at /dashboard."""
import base64
import datetime as dt
import html
import json
from pathlib import Path
from typing import Dict, List

from driftline.monitoring import record as monitoring_records
from driftline.views.charts import png

DASHBOARD_FILE = "index.html"


def history(store, model: str) -> Dict[str, list]:
    """Monitoring passes and outcome joins (oldest first), and rollout changes."""
    from driftline.mlmd.deployments import history as deployments

    passes, outcomes = [], []
    for found in monitoring_records.history(store, model):
        result = json.loads(found.get("result") or "{}")
        entry = {"execution": found["execution"], "time": found["time_ms"] / 1000.0, "result": result}
        (outcomes if result.get("kind") == "labels" else passes).append(entry)
    from driftline.mlmd.decisions import history as decisions

    steps = [d for d in decisions(store, model) if d["trigger"] == "canary"]
    return {"passes": passes, "outcomes": outcomes, "deployments": deployments(store, model), "steps": steps}


def _when(seconds: float):
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


def _mark_deployments(ax, found: dict):
    for d in found["deployments"]:
        ax.axvline(_when(d["time_ms"] / 1000.0), color="#999", linestyle=":", linewidth=1)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _distances(passes: list, kind: str):
    """feature -> [(time, distance)] and feature -> threshold, over the judged passes."""
    series: Dict[str, list] = {}
    limits: Dict[str, float] = {}
    for p in passes:
        blocks = ([info.get("skew") for info in p["result"].get("versions", {}).values()]
                  if kind == "skew" else [p["result"].get("drift")])
        for block in blocks:
            for f in (block or {}).get("features", []):
                if f["distance"] is not None and f["threshold"] is not None:
                    series.setdefault(f["name"], []).append((_when(p["time"]), f["distance"]))
                    limits[f["name"]] = f["threshold"]
    return series, limits


def _distance_chart(found: dict, series: dict, limits: dict, title: str) -> bytes:
    """Distances against their thresholds, one panel per feature that was ever compared."""
    plt = _pyplot()
    names = sorted(series)
    fig, axes = plt.subplots(len(names), 1, figsize=(8, 1.5 * len(names) + 0.6), sharex=True, squeeze=False)
    for ax, name in zip(axes[:, 0], names):
        times, values = zip(*series[name])
        over = [v > limits[name] for v in values]
        ax.plot(times, values, marker="o", color="#1f77b4", linewidth=1)
        ax.scatter([t for t, o in zip(times, over) if o], [v for v, o in zip(values, over) if o],
                   color="#d62728", zorder=3)
        ax.axhline(limits[name], color="#d62728", linestyle="--", linewidth=1)
        _mark_deployments(ax, found)
        ax.set_ylabel(name, rotation=0, ha="right", fontsize=8)
        ax.set_ylim(0, max(max(values), limits[name]) * 1.2 or 1)
    axes[0, 0].set_title(f"{title} (L∞; dashed: threshold; dotted: rollout changes)")
    fig.autofmt_xdate()
    return png(fig)


def _versions_chart(found: dict, by_version: dict) -> bytes:
    plt = _pyplot()
    fig, (rows_ax, latency_ax, drift_ax) = plt.subplots(3, 1, figsize=(8, 7), sharex=True)
    for version, points in sorted(by_version.items()):
        times = [t for t, _ in points]
        rows_ax.plot(times, [i["rows"] for _, i in points], marker="o", label=version)
        latency_ax.plot(times, [i["latency_p99_ms"] for _, i in points], marker="o", label=f"{version} p99")
        latency_ax.plot(times, [i["latency_p50_ms"] for _, i in points], marker=".", linestyle="--",
                        label=f"{version} p50")
        drifted = [(t, i["prediction_drift"]) for t, i in points if "prediction_drift" in i]
        if drifted:
            drift_ax.plot(*zip(*drifted), marker="o", label=version)
    rows_ax.set(ylabel="requests", title="Requests, latency and prediction drift per version")
    latency_ax.set(ylabel="ms")
    drift_ax.set(ylabel="prediction drift")
    for ax in (rows_ax, latency_ax, drift_ax):
        _mark_deployments(ax, found)
        ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    return png(fig)


def online_metric(info: dict) -> tuple:
    """(key, name) of the online quality a judged version carries: F1, or a regression
    model's RMSE."""
    return ("rmse", "online RMSE") if "rmse" in info else ("f1_score", "online F1")


def _online_chart(found: dict, online: list) -> bytes:
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.8))
    key, name = online_metric(online[0][2])
    for version in sorted({v for _, v, _ in online}):
        points = [(_when(t), info[key]) for t, v, info in online if v == version]
        times = [t for t, _ in points]
        ax.errorbar(times, [f["value"] for _, f in points],
                    yerr=[[f["value"] - f["low"] for _, f in points], [f["high"] - f["value"] for _, f in points]],
                    marker="o", capsize=3, label=version)
    _mark_deployments(ax, found)
    ax.set(ylabel=name, title=f"{name[0].upper()}{name[1:]} per version, from late outcomes")
    if key == "f1_score":
        ax.set_ylim(0, 1)
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return png(fig)


def _shadow_chart(found: dict, points: list) -> bytes:
    """The shadow's agreement with the answering versions, window by window."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.4))
    for version in sorted({v for _, v, _ in points}):
        mine = [(t, a) for t, v, a in points if v == version]
        ax.plot([t for t, _ in mine], [a for _, a in mine], marker="o", label=f"shadow {version}")
    _mark_deployments(ax, found)
    ax.set(ylabel="equal decisions", title="Shadow agreement with the answering versions", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return png(fig)


def _estimate_chart(found: dict, estimated: list) -> bytes:
    """F1 estimated before outcomes (interval shaded), the range the evaluation rows
    showed, and the F1 realized when the outcomes of the same window arrived."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.8))
    times = [_when(p["time"]) for p, _ in estimated]
    f1 = [b["metrics"]["f1_score"] for _, b in estimated]
    ax.fill_between(times, [f["low"] for f in f1], [f["high"] for f in f1], color="#1f77b4", alpha=0.2)
    ax.plot(times, [f["value"] for f in f1], marker="o", color="#1f77b4", label="estimated (interval shaded)")
    ranged = [(t, b["reference"]) for t, (_, b) in zip(times, estimated) if b.get("reference")]
    for bound in ("low", "high"):
        if ranged:
            ax.plot([t for t, _ in ranged], [r[bound] for _, r in ranged], color="#7f7f7f", linestyle="--",
                    linewidth=1, label="evaluation rows' range" if bound == "low" else None)
    when = {p["execution"]: _when(p["time"]) for p, _ in estimated}
    from driftline.views.estimates import checks_of

    checks = [(when[c["pass"]], c["realized"]) for c in checks_of(found["outcomes"]) if c["pass"] in when]
    if checks:
        ax.scatter([t for t, _ in checks], [r for _, r in checks], color="#d62728", marker="x", zorder=3,
                   label="realized when the outcomes arrived")
    _mark_deployments(ax, found)
    ax.set(ylabel="F1", ylim=(0, 1), title="F1 estimated before the outcomes, and realized after")
    ax.legend(fontsize=7, loc="lower left")
    fig.autofmt_xdate()
    return png(fig)


def _multivariate_chart(found: dict, points: list) -> bytes:
    """The domain classifier's AUC per window, with its interval and the threshold."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 2.4))
    times = [_when(p["time"]) for p, _ in points]
    auc = [f["auc"] for _, f in points]
    ax.errorbar(times, [a["value"] for a in auc], yerr=[[a["value"] - a["low"] for a in auc],
                                                        [a["high"] - a["value"] for a in auc]],
                marker="o", capsize=3, label="domain classifier AUC")
    ax.axhline(points[-1][1]["threshold"], color="#d62728", linestyle="--", linewidth=1, label="threshold")
    _mark_deployments(ax, found)
    ax.set(ylabel="AUC", ylim=(0.4, 1.02), title="Multivariate drift: the window told from the evaluation rows")
    ax.legend(fontsize=7, loc="upper left")
    fig.autofmt_xdate()
    return png(fig)


def rollout_state(found: dict) -> str:
    """Where the newest rollout change left things: the step, a pause, the shadow."""
    if not found["deployments"]:
        return "no rollout change recorded yet"
    d = found["deployments"][-1]
    policy = json.loads(d.get("policy") or "{}")
    text = f"stable {d['stable_version']}"
    if d["canary_version"]:
        steps = policy.get("steps") or []
        at = f" (step {policy.get('step', 0) + 1} of {len(steps)}: " + " → ".join(f"{x:g}%" for x in steps) + ")" \
            if steps else ""
        text += f", canary {d['canary_version']} at {d['canary_percent']:g}%{at}"
    if d.get("shadow_version"):
        text += f", shadow {d['shadow_version']} on {d['shadow_percent']:g}% of requests"
    if d.get("paused"):
        text += f"; PAUSED for a person: {d['paused']}"
    return text


def charts(found: dict) -> Dict[str, bytes]:
    """The dashboard's PNGs, each only when there is something to draw."""
    out = {}
    passes = [p for p in found["passes"] if p["result"].get("judged")]
    for kind, title in (("skew", "Skew against the training data"), ("drift", "Drift against the window before")):
        series, limits = _distances(passes, kind)
        if series:
            out[f"{kind}.png"] = _distance_chart(found, series, limits, title)
    by_version: Dict[str, list] = {}
    for p in found["passes"]:
        for version, info in p["result"].get("versions", {}).items():
            by_version.setdefault(version, []).append((_when(p["time"]), info))
    if by_version:
        out["versions.png"] = _versions_chart(found, by_version)
    online = [(o["time"], v, info) for o in found["outcomes"]
              for v, info in o["result"].get("versions", {}).items() if info.get("judged")]
    if online:
        out["online_f1.png"] = _online_chart(found, online)
    shadowed = [(_when(p["time"]), p["result"]["shadow"]["version"], p["result"]["shadow"]["agreement"])
                for p in found["passes"] if (p["result"].get("shadow") or {}).get("agreement") is not None]
    if shadowed:
        out["shadow.png"] = _shadow_chart(found, shadowed)
    estimated = [(p, p["result"]["estimated_performance"]) for p in passes if p["result"].get("estimated_performance")]
    if estimated:
        out["estimate.png"] = _estimate_chart(found, estimated)
    together = [(p, p["result"]["multivariate_drift"]) for p in passes if p["result"].get("multivariate_drift")]
    if together:
        out["multivariate.png"] = _multivariate_chart(found, together)
    return out


def page(model: str, found: dict, images: Dict[str, bytes]) -> str:
    def img(name):
        if name not in images:
            return ""
        return (f"<img alt='{html.escape(name)}' src='data:image/png;base64,"
                f"{base64.b64encode(images[name]).decode()}'>")

    def when(seconds):
        return _when(seconds).strftime("%Y-%m-%d %H:%M:%S")

    alarms: List[str] = []
    for p in found["passes"] + found["outcomes"]:
        for a in p["result"].get("alarms", []):
            alarms.append(f"<tr><td>{when(p['time'])}</td><td>{html.escape(a['kind'])}</td>"
                          f"<td>{html.escape(a['text'])}</td></tr>")
    rollouts = [f"<tr><td>{when(d['time_ms'] / 1000.0)}</td><td>{d['revision']}</td>"
                f"<td>{html.escape(str(d['action']))}</td><td>{d['stable_version']}</td>"
                f"<td>{d['canary_version'] or ''}{' at %g%%' % d['canary_percent'] if d['canary_version'] else ''}"
                f"</td><td>{html.escape(str(d['reason'] or ''))}</td></tr>" for d in found["deployments"]]
    steps = [f"<tr><td>{when(d['time_ms'] / 1000.0)}</td><td>{html.escape(str(d['pushed_version']))}</td>"
             f"<td>{html.escape(str(d['details'].get('share', '')))}</td>"
             f"<td>{html.escape(str(d['details'].get('verdict', '')))}</td><td>{html.escape(d['outcome'])}</td>"
             f"<td>{html.escape(d['reason'])}</td></tr>" for d in found.get("steps", [])]
    newest = found["passes"][-1] if found["passes"] else None
    status = ("no monitoring pass yet: run `driftline monitor`" if newest is None else
              f"newest pass {when(newest['time'])}: {newest['result'].get('rows', 0)} rows, "
              f"{len(newest['result'].get('alarms', []))} alarm(s)"
              + ("" if newest["result"].get("judged") else " (too few rows to judge)"))
    parts = [f"<h1>driftline monitoring: {html.escape(model)}</h1><p id='status'>{html.escape(status)}; "
             f"{len(found['passes'])} passes, {len(found['outcomes'])} outcome joins, "
             f"{len(found['deployments'])} rollout changes in MLMD.</p>",
             "<h2>Alarms</h2>" + ("<table><tr><th>time (UTC)</th><th>kind</th><th>alarm</th></tr>"
                                  + "".join(alarms[::-1]) + "</table>" if alarms else "<p>None.</p>"),
             "<h2>Skew and drift</h2>" + (img("skew.png") + img("drift.png") or "<p>Nothing judged yet.</p>"),
             "<h2>Before the outcomes</h2>" + (img("estimate.png") + img("multivariate.png")
                                                 or "<p>No window estimated or compared yet.</p>"),
             "<h2>Versions</h2>" + (img("versions.png") or "<p>No traffic judged yet.</p>"),
             "<h2>Online quality</h2>" + (img("online_f1.png") or "<p>No outcomes joined yet "
                                          "(`driftline monitor labels FILE`).</p>"),
             f"<h2>Rollout</h2><p id='rollout'>{html.escape(rollout_state(found))}</p>"
             + ("<table><tr><th>time (UTC)</th><th>canary</th><th>share %</th><th>verdict</th><th>decision</th>"
                "<th>why</th></tr>" + "".join(steps[::-1]) + "</table>" if steps else
                "<p>No canary step analysed yet.</p>"),
             "<h2>Shadow</h2>" + (img("shadow.png") or "<p>No shadow version has scored requests.</p>"),
             "<h2>Rollout changes</h2>" + ("<table><tr><th>time (UTC)</th><th>revision</th><th>action</th>"
                                           "<th>stable</th><th>canary</th><th>reason</th></tr>"
                                           + "".join(rollouts) + "</table>" if rollouts else "<p>None.</p>")]
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px;font-size:13px}"
             "img{display:block;margin:0.5em 0}")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>driftline monitoring "
            f"{html.escape(model)}</title><style>{style}</style></head><body>" + "\n".join(parts)
            + "</body></html>")


def write(store, model: str, directory: Path) -> Path:
    found = history(store, model)
    images = charts(found)
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in images.items():
        (directory / name).write_bytes(data)
    path = directory / DASHBOARD_FILE
    temporary = directory / f".{DASHBOARD_FILE}.tmp"
    temporary.write_text(page(model, found, images))
    temporary.replace(path)  # the server may be reading the old one
    return path

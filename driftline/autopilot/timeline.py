"""The replay's timeline, drawn from what MLMD holds: per monitoring window, the skew and
drift distances against their thresholds, the alarms, each version's share of the
traffic with the canary's steps over it, the online F1 per version from late outcomes, and
every decision (retraining, a canary's step, pause, promotion or abort, a span becoming
labelled) with its reason. One PNG and a
self-contained HTML page around it."""
import base64
import datetime as dt
import html
from pathlib import Path
from typing import Dict, List


def gather(store, model: str, events: List[dict]) -> dict:
    from driftline.mlmd.deployments import history as deployments
    from driftline.monitoring import dashboard
    from driftline.autopilot import retraining

    found = dashboard.history(store, model)
    passes = [p for p in found["passes"] if p["result"].get("judged")]
    times = [p["time"] for p in passes]

    def x_of(seconds: float) -> float:
        """Decisions fall between the window that led to them and the next one."""
        return sum(1 for t in times if t <= seconds) + 0.5

    decisions = [{"x": x_of(d["time_ms"] / 1000.0), "time": d["time_ms"] / 1000.0, "kind": d["trigger"],
                  "outcome": d["outcome"], "reason": d["reason"], "version": d["pushed_version"]}
                 for d in retraining.history(store, model)]
    rollouts = [{"x": x_of(d["time_ms"] / 1000.0), "time": d["time_ms"] / 1000.0, **d} for d in deployments(store, model)]
    marks: List[dict] = []
    for event in events:  # events between the same two windows share one label
        x = x_of(event["time"])
        if marks and marks[-1]["x"] == x:
            marks[-1]["text"] += f"; {event['text']}"
        else:
            marks.append({"x": x, **event})
    online = [{"x": x_of(o["time"]), "result": o["result"]} for o in found["outcomes"]]
    return {"passes": passes, "decisions": decisions, "rollouts": rollouts, "marks": marks, "online": online}


def _ratios(block) -> Dict[str, tuple]:
    return {f["name"]: (f["distance"], f["threshold"]) for f in (block or {}).get("features", [])
            if f.get("distance") is not None and f.get("threshold")}


def _short(decision: dict) -> str:
    outcome = decision["outcome"]
    if decision["kind"] == "canary":
        return f"{outcome} v{decision['version']}"
    if outcome.startswith("canary"):
        return f"retrain ({decision['kind']}): v{decision['version']} canary"
    if outcome.startswith("waiting"):
        return f"{decision['kind']} held, no newer span"
    return f"retrain ({decision['kind']}): {outcome.split(':')[0]}"


def _distance_panel(ax, passes: list, xs: list):
    """Distances as a share of their thresholds, so that every feature reads against 1."""
    series: Dict[str, list] = {}
    for x, p in zip(xs, passes):
        versions = p["result"].get("versions", {})
        busiest = max(versions.items(), key=lambda kv: kv[1].get("rows", 0), default=(None, {}))[1]
        for name, (distance, threshold) in _ratios(busiest.get("skew")).items():
            series.setdefault(f"skew {name}", []).append((x, distance / threshold))
        for name, (distance, threshold) in _ratios(p["result"].get("drift")).items():
            series.setdefault(f"drift {name}", []).append((x, distance / threshold))
    for name, points in sorted(series.items()):
        px, py = zip(*points)
        ax.plot(px, py, marker=".", linewidth=1, linestyle="-" if name.startswith("skew") else ":", label=name)
    alarmed = [(x, len(p["result"]["alarms"])) for x, p in zip(xs, passes) if p["result"].get("alarms")]
    if alarmed:
        ax.scatter([x for x, _ in alarmed], [0.05] * len(alarmed), marker="^", color="#d62728", zorder=4,
                   label="window with an alarm")
    ax.axhline(1.0, color="#d62728", linestyle="--", linewidth=1)
    ax.set(ylabel="distance ÷ threshold", title="Skew (busiest version against its training data) and "
           "drift (against the window before); over 1 is an alarm")
    ax.legend(fontsize=7, ncol=3, loc="upper left")


def _share_panel(ax, passes: list, xs: list, versions: list):
    bottom = [0.0] * len(passes)
    for version in versions:
        share = []
        for p in passes:
            rows = p["result"].get("versions", {})
            total = sum(i["rows"] for i in rows.values()) or 1
            share.append(rows.get(version, {}).get("rows", 0) / total)
        ax.bar(xs, share, bottom=bottom, label=f"version {version}", width=0.9)
        bottom = [b + s for b, s in zip(bottom, share)]
    ax.set(ylabel="traffic share", ylim=(0, 1))
    ax.legend(fontsize=7, loc="lower left")


def _step_line(ax, rollouts: list, last_x: float):
    """The canary's share as each rollout change set it: its steps, drawn over the shares
    the windows measured."""
    if not any(r["canary_version"] for r in rollouts):
        return
    xs = [r["x"] for r in rollouts] + [last_x + 0.5]
    shares = [(r["canary_percent"] / 100 if r["canary_version"] else 0.0) for r in rollouts]
    ax.step(xs, shares + shares[-1:], where="post", color="#111111", linewidth=1.4,
            label="canary share set (steps)")
    for r in rollouts:
        if r["canary_version"] and r["action"] in ("canary", "step", "approve"):
            ax.annotate(f"{r['canary_percent']:g}%", (r["x"], r["canary_percent"] / 100), fontsize=7,
                        xytext=(2, 2), textcoords="offset points")
    ax.legend(fontsize=7, loc="lower left")


def _online_panel(ax, online: list, versions: list):
    from driftline.monitoring.dashboard import online_metric

    judged = [info for o in online for info in o["result"].get("versions", {}).values() if info.get("judged")]
    key, name = online_metric(judged[0]) if judged else ("f1_score", "online F1")
    for version in versions:
        points = [(o["x"], o["result"]["versions"][version][key]) for o in online
                  if o["result"].get("versions", {}).get(version, {}).get("judged")]
        if points:
            ax.errorbar([x for x, _ in points], [f["value"] for _, f in points],
                        yerr=[[f["value"] - f["low"] for _, f in points], [f["high"] - f["value"] for _, f in points]],
                        marker="o", capsize=3, label=f"version {version}")
    ax.set(ylabel=name, xlabel="monitoring window")
    if key == "f1_score":
        ax.set_ylim(0, 1)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower left")


def _mark_events(found: dict, dist_ax, share_ax, f1_ax):
    """Decisions (coloured by outcome) and the replay's own marks across every panel."""
    colours = {"promoted": "#2ca02c", "rolled back": "#d62728", "aborted": "#d62728", "paused": "#ff7f0e"}
    for decision in found["decisions"]:
        outcome = decision["outcome"]
        colour = colours.get(outcome, "#9467bd" if outcome.startswith("canary") else
                             "#98df8a" if outcome.startswith("step to") else "#7f7f7f")
        for ax in (dist_ax, share_ax, f1_ax):
            ax.axvline(decision["x"], color=colour, linewidth=1.2)
        dist_ax.annotate(_short(decision), (decision["x"], 1.0), xycoords=("data", "axes fraction"),
                         rotation=90, fontsize=7, va="top", ha="right", color=colour)
    for mark in found["marks"]:
        for ax in (dist_ax, share_ax, f1_ax):
            ax.axvline(mark["x"], color="#bbbbbb", linestyle="--", linewidth=0.8)
        f1_ax.annotate(mark["text"], (mark["x"], 0.02), xycoords=("data", "axes fraction"), rotation=90,
                       fontsize=7, va="bottom", ha="right", color="#555555")


def chart(found: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from driftline.views.charts import png

    passes = found["passes"]
    xs = list(range(1, len(passes) + 1))
    fig, (dist_ax, share_ax, f1_ax) = plt.subplots(3, 1, figsize=(11, 8.5), sharex=True,
                                                   gridspec_kw={"height_ratios": [3, 1.4, 2]})
    versions = sorted({v for p in passes for v in p["result"].get("versions", {})}, key=int)
    _distance_panel(dist_ax, passes, xs)
    _share_panel(share_ax, passes, xs, versions)
    _step_line(share_ax, found["rollouts"], float(len(passes)))
    _online_panel(f1_ax, found["online"], versions)
    _mark_events(found, dist_ax, share_ax, f1_ax)
    fig.tight_layout()
    return png(fig)


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%H:%M:%S")


def page(model: str, found: dict, image: bytes, summary: List[str]) -> str:
    windows = []
    for x, p in enumerate(found["passes"], start=1):
        versions = ", ".join(f"{v}: {i['rows']}" for v, i in sorted(p["result"].get("versions", {}).items()))
        alarms = "<br>".join(html.escape(a["text"]) for a in p["result"].get("alarms", [])) or "none"
        windows.append(f"<tr><td>{x}</td><td>{_when(p['time'])}</td><td>{html.escape(versions)}</td>"
                       f"<td>{alarms}</td></tr>")
    decisions = sorted([(d["x"], d["time"], html.escape(d["kind"]), html.escape(d["outcome"]), html.escape(d["reason"]))
                        for d in found["decisions"]]
                       + [(r["x"], r["time"], "rollout", html.escape(f"{r['action']}: stable {r['stable_version']}"
                                                                    + (f", canary {r['canary_version']} at "
                                                                       f"{r['canary_percent']:g}%" if r["canary_version"]
                                                                       else "")),
                           html.escape(str(r["reason"] or ""))) for r in found["rollouts"]]
                       + [(m["x"], m["time"], "data", html.escape(m["text"]), "") for m in found["marks"]])
    rows = "".join(f"<tr><td>{x:g}</td><td>{_when(t)}</td><td>{k}</td><td>{o}</td><td>{r}</td></tr>"
                   for x, t, k, o, r in decisions)
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 7px;font-size:12px;"
             "vertical-align:top}img{max-width:100%}")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>driftline replay "
            f"{html.escape(model)}</title><style>{style}</style></head><body>"
            f"<h1>driftline replay: {html.escape(model)}</h1>"
            + "".join(f"<p>{html.escape(line)}</p>" for line in summary)
            + f"<img alt='timeline' src='data:image/png;base64,{base64.b64encode(image).decode()}'>"
            "<h2>Decisions (x: after monitoring window)</h2><table><tr><th>x</th><th>time (UTC)</th>"
            f"<th>kind</th><th>what</th><th>why</th></tr>{rows}</table>"
            "<h2>Monitoring windows</h2><table><tr><th>#</th><th>time (UTC)</th><th>rows per version</th>"
            f"<th>alarms</th></tr>{''.join(windows)}</table></body></html>")


def write(store, model: str, directory: Path, events: List[dict], summary: List[str]) -> Path:
    found = gather(store, model, events)
    image = chart(found)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "timeline.png").write_bytes(image)
    path = directory / "index.html"
    path.write_text(page(model, found, image, summary))
    return path

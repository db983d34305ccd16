"""The replay's timeline, drawn from what MLMD holds, one panel per question: did the
inputs move (skew and drift against their thresholds), do the features still go together
(the domain classifier's AUC), is the model still good (F1 estimated before outcomes
beside the F1 they realized), and who answered (each version's share with the canary's
steps over it); every decision (retraining, a canary's step, pause, promotion or abort,
a span becoming labelled) is a numbered line, listed under the chart and in the page's
table with its reason. One PNG and a self-contained HTML page around it."""
import base64
import datetime as dt
import html
from pathlib import Path
from typing import Dict, List

from driftline.views.estimates import checks_of


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


def _worst(block) -> tuple:
    """(feature, distance ÷ threshold) of the feature nearest its threshold, or (None, None)."""
    ratios = {name: d / t for name, (d, t) in _ratios(block).items()}
    if not ratios:
        return None, None
    name = max(ratios, key=ratios.get)
    return name, ratios[name]


def _inputs_panel(ax, passes: list, xs: list):
    """Did the inputs move? Per window the feature nearest its threshold, for skew (the
    busiest version against its training data) and drift (against the window before),
    as a share of that threshold; a feature over it is named."""
    for kind, style in (("skew", "-"), ("drift", ":")):
        points = []
        for x, p in zip(xs, passes):
            versions = p["result"].get("versions", {})
            busiest = max(versions.values(), key=lambda i: i.get("rows", 0), default={})
            name, ratio = _worst(busiest.get("skew") if kind == "skew" else p["result"].get("drift"))
            if ratio is not None:
                points.append((x, ratio, name))
        if not points:
            continue
        ax.plot([x for x, _, _ in points], [r for _, r, _ in points], marker=".", linestyle=style,
                label=f"{kind}: the feature nearest its threshold")
        named = set()
        for x, ratio, name in points:  # each offending feature named once, where it first crosses
            if ratio > 1 and (kind, name) not in named:
                named.add((kind, name))
                ax.annotate(name, (x, ratio), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.axhline(1.0, color="#d62728", linestyle="--", linewidth=1, label="threshold")
    ax.set(ylabel="distance ÷ threshold", title="Did the inputs move? (over 1 is an alarm)")
    ax.legend(fontsize=7, loc="upper left")


def _together_panel(ax, passes: list, xs: list):
    """Do the features go together as before? The domain classifier's AUC per window."""
    points = [(x, p["result"]["multivariate_drift"]) for x, p in zip(xs, passes)
              if p["result"].get("multivariate_drift")]
    if points:
        auc = [f["auc"] for _, f in points]
        ax.errorbar([x for x, _ in points], [a["value"] for a in auc],
                    yerr=[[a["value"] - a["low"] for a in auc], [a["high"] - a["value"] for a in auc]],
                    marker="o", markersize=3, capsize=2, linestyle="none", label="domain classifier AUC")
        ax.axhline(points[-1][1]["threshold"], color="#d62728", linestyle="--", linewidth=1, label="threshold")
        ax.legend(fontsize=7, loc="upper left")
    ax.set(ylabel="AUC", ylim=(0.4, 1.02), title="Do the features go together as on the evaluation rows? "
           "(0.5: cannot be told apart)")


def _quality_panel(ax, found: dict, xs: list):
    """Is the model still good? F1 estimated before outcomes, with its interval and the
    range the evaluation rows showed, and the F1 the outcomes realized for the same windows."""
    at = {p["execution"]: x for x, p in zip(xs, found["passes"])}
    estimated = [(x, p["result"]["estimated_performance"]) for x, p in zip(xs, found["passes"])
                 if p["result"].get("estimated_performance")]
    if not estimated:
        _online_panel(ax, found["online"], found["versions"])
        return
    ex = [x for x, _ in estimated]
    f1 = [b["metrics"]["f1_score"] for _, b in estimated]
    ax.fill_between(ex, [f["low"] for f in f1], [f["high"] for f in f1], color="#1f77b4", alpha=0.2, step="mid")
    ax.plot(ex, [f["value"] for f in f1], color="#1f77b4", marker=".", drawstyle="steps-mid",
            label="F1 estimated before outcomes (interval shaded)")
    ranged = [(x, b["reference"]) for x, b in estimated if b.get("reference")]
    if ranged:
        ax.plot([x for x, _ in ranged], [r["low"] for _, r in ranged], color="#7f7f7f", linestyle="--",
                linewidth=1, drawstyle="steps-mid", label="low end of the evaluation rows' range")
    checks = [(at[c["pass"]], c["realized"]) for c in checks_of(found["online"]) if c["pass"] in at]
    if checks:
        ax.scatter([x for x, _ in checks], [r for _, r in checks], color="#d62728", marker="x", zorder=4,
                   label="F1 realized when the outcomes arrived")
    ax.plot(ex, [b["always_yes_f1"] for _, b in estimated], color="#bcbd22", linestyle=":", linewidth=1,
            label='always "yes"')
    seen = [f["low"] for f in f1] + [f["high"] for f in f1] + [r for _, r in checks] + \
        [r["low"] for _, r in ranged] + [b["always_yes_f1"] for _, b in estimated]
    ax.set(ylabel="F1", ylim=(max(0.0, min(seen) - 0.05), min(1.0, max(seen) + 0.05)),
           title="Is the model still good? (the version serving most of each window)")
    ax.legend(fontsize=7, loc="lower left", ncol=2)


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
    ax.set(ylabel="traffic share", ylim=(0, 1), title="Who answered?", xlabel="monitoring window")
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
    ax.set(ylabel=name, title=f"Is the model still good? ({name} per version, from late outcomes)")
    if key == "f1_score":
        ax.set_ylim(0, 1)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7, loc="lower left")


DECISION_COLOURS = {"promoted": "#2ca02c", "rolled back": "#d62728", "aborted": "#d62728", "paused": "#ff7f0e"}


def _colour(outcome: str) -> str:
    return DECISION_COLOURS.get(outcome, "#9467bd" if outcome.startswith("canary") else
                                "#98df8a" if outcome.startswith("step to") else "#7f7f7f")


def _mark_events(found: dict, axes: list) -> List[str]:
    """Decisions (coloured by outcome) and the replay's own marks as lines across every
    panel, numbered at the top (one number for all that fall between the same two
    windows); returns the numbered labels, listed under the chart where they fit, rather
    than written sideways over the data."""
    entries = sorted([(d["x"], _short(d), _colour(d["outcome"]), "-") for d in found["decisions"]]
                     + [(m["x"], m["text"], "#bbbbbb", "--") for m in found["marks"]], key=lambda e: e[0])
    labels, numbered = [], {}
    for x, text, colour, style in entries:
        for ax in axes:
            ax.axvline(x, color=colour, linestyle=style, linewidth=1.1)
        if x in numbered:
            labels[numbered[x]] += f"; {text}"
            continue
        numbered[x] = len(labels)
        # Inside the top panel, on white: above it the number would meet the panel's title.
        axes[0].annotate(str(len(labels) + 1), (x, 0.98), xycoords=("data", "axes fraction"), fontsize=8,
                         ha="center", va="top", color=colour if colour != "#bbbbbb" else "#555555",
                         bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none"})
        labels.append(f"{len(labels) + 1}. after window {x - 0.5:g}: {text}")
    return labels


def chart(found: dict) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from driftline.views.charts import png

    passes = found["passes"]
    xs = list(range(1, len(passes) + 1))
    found["versions"] = sorted({v for p in passes for v in p["result"].get("versions", {})}, key=int)
    fig, axes = plt.subplots(4, 1, figsize=(11, 11), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1.4, 2, 1.2]})
    _inputs_panel(axes[0], passes, xs)
    _together_panel(axes[1], passes, xs)
    _quality_panel(axes[2], found, xs)
    _share_panel(axes[3], passes, xs, found["versions"])
    _step_line(axes[3], found["rollouts"], float(len(passes)))
    labels = _mark_events(found, list(axes))
    columns = 2 if len(labels) > 8 else 1
    per = -(-len(labels) // columns) if labels else 0
    for column in range(columns):
        fig.text(0.02 + 0.5 * column, 0.0, "\n".join(labels[column * per:(column + 1) * per]), fontsize=7,
                 va="top", ha="left", family="monospace")
    fig.tight_layout()
    return png(fig)


def _when(seconds: float) -> str:
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc).strftime("%H:%M:%S")


def page(model: str, found: dict, image: bytes, summary: List[str]) -> str:
    windows = []
    realized = {c["pass"]: c["realized"] for c in checks_of(found["online"])}
    for x, p in enumerate(found["passes"], start=1):
        versions = ", ".join(f"{v}: {i['rows']}" for v, i in sorted(p["result"].get("versions", {}).items()))
        alarms = "<br>".join(html.escape(a["text"]) for a in p["result"].get("alarms", [])) or "none"
        windows.append(f"<tr><td>{x}</td><td>{_when(p['time'])}</td><td>{html.escape(versions)}</td>"
                       f"<td>{_estimate_cell(p['result'], realized.get(p['execution']))}</td>"
                       f"<td>{_auc_cell(p['result'])}</td><td>{alarms}</td></tr>")
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
            "<th>F1 estimated (interval), realized</th><th>domain AUC (interval)</th>"
            f"<th>alarms</th></tr>{''.join(windows)}</table></body></html>")


def _estimate_cell(result: dict, realized) -> str:
    block = result.get("estimated_performance")
    if not block:
        return ""
    f1 = block["metrics"]["f1_score"]
    return (f"{f1['value']:.3f} ({f1['low']:.3f}–{f1['high']:.3f})"
            + (f", {realized:.3f}" if realized is not None else ""))


def _auc_cell(result: dict) -> str:
    found = result.get("multivariate_drift")
    if not found:
        return ""
    auc = found["auc"]
    return f"{auc['value']:.3f} ({auc['low']:.3f}–{auc['high']:.3f})"


def write(store, model: str, directory: Path, events: List[dict], summary: List[str]) -> Path:
    found = gather(store, model, events)
    image = chart(found)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "timeline.png").write_bytes(image)
    path = directory / "index.html"
    path.write_text(page(model, found, image, summary))
    return path

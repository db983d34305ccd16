"""How lineage looks to a person: tables, a provenance tree, Graphviz DOT and Mermaid."""
import shutil
import subprocess
from pathlib import Path

from components.drift_gate.verdict import DRIFT_REPORT_TYPE
from components.errors import DriftlineError
from driftline.views.shadow import shadow_text

HEADLINE = ["auc", "f1_score"]
# A regression task's run shows its errors in the same two columns, named in the cell.
NUMBER_HEADLINE = ["rmse", "mae"]
# The artifact properties a reader of a provenance tree wants, by artifact type.
SHOWN = {"Examples": ["span"], "PushedModel": ["pushed_version"], "ModelBlessing": ["blessed"],
         DRIFT_REPORT_TYPE: ["passed", "offending"]}
# Inputs whose own history is another model's: named in the tree, traced on request.
NOT_EXPANDED = {"baseline_model"}


def _short(value, width=12):
    text = "—" if value is None else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def runs_table(runs: list) -> str:
    if not runs:
        return "no pipeline runs in this MLMD store\n"
    # Local run ids are timestamps; an Airflow run's id is Airflow's (longer).
    width = max([28] + [len(r["run_id"]) for r in runs])
    header = (f"{'run id':<{width}} {'started (UTC)':<19} {'secs':>6} {'span':>4}  {'auc':>6} {'f1':>6}  "
              f"{'blessed':<7}  {'pushed':<14}  nodes")
    lines = [header, "-" * len(header)]
    for r in runs:
        if "rmse" in r["metrics"]:
            metrics = [f"{m}={r['metrics'][m]:.4g}" for m in NUMBER_HEADLINE]
        else:
            metrics = [f"{r['metrics'][m]:.3f}" if m in r["metrics"] else "—" for m in HEADLINE]
        blessed = {True: "yes", False: "NO", None: "—"}[r["blessed"]]
        counts = {}
        for state in r["nodes"].values():
            counts[state] = counts.get(state, 0) + 1
        nodes = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        lines.append(f"{r['run_id']:<{width}} {r['started']:<19} {r['seconds']:>6.1f} {_short(r['span'], 4):>4}  "
                     f"{metrics[0]:>6} {metrics[1]:>6}  {blessed:<7}  {_short(r['pushed_version'], 14):<14}  "
                     f"{nodes}")
        unusual = {n: s for n, s in r["nodes"].items() if s not in ("complete", "cached")}
        if unusual:
            groups = {}
            for node, state in unusual.items():
                groups.setdefault(state, []).append(node)
            lines.append("    " + "; ".join(f"{s}: {', '.join(sorted(n))}" for s, n in sorted(groups.items())))
        if r.get("stopped"):
            lines.append(f"    stopped: {r['stopped']}")
        if r["drift"] is not None and not r["drift"]["clean"]:
            d = r["drift"]
            found = d["offending"] + [f"{a} (schema anomaly)" for a in d["anomalies"]]
            lines.append(f"    drift gate ({d['gate']}): {', '.join(found) or 'example count'}")
    return "\n".join(lines) + "\n"


def trace_text(trace: dict) -> str:
    nodes, summary = trace["nodes"], trace["summary"]
    parents = {}
    for edge in trace["edges"]:
        parents.setdefault(edge["to"], []).append((edge["from"], edge["label"]))
    lines, seen = [], set()

    def label(key):
        n = nodes[key]
        if n["kind"] == "artifact":
            props = n["properties"]
            extra = [f"{k}={props[k]}" for k in SHOWN.get(n["type"], ()) if k in props]
            if n.get("schema_sha256"):
                extra.append(f"sha256={n['schema_sha256'][:16]}")
            return f"{n['type']} #{n['id']} {' '.join(extra)}  {n['uri']}".rstrip()
        text = f"{n['node']} (execution {n['id']}, {n['state']}, run {n['run']})"
        if "source" in n:
            hashes = ", ".join(f"{f} sha256={d[:16]}…" for f, d in sorted(n["source"]["sha256"].items()))
            text += f"  span {n['source']['span']}: {n['properties'].get('input_base')} [{hashes}]"
        return text

    def walk(key, depth, via):
        prefix = "  " * depth + (f"[{via}] " if via else "")
        if key in seen:
            lines.append(f"{prefix}{nodes[key]['kind']} {key[1:]} (shown above)")
            return
        seen.add(key)
        lines.append(prefix + label(key))
        if via in NOT_EXPANDED:
            lines.append("  " * (depth + 1) + f"(its own lineage: driftline lineage trace {key[1:]})")
            return
        for parent, edge_label in sorted(parents.get(key, [])):
            walk(parent, depth + 1, edge_label if nodes[key]["kind"] == "execution" else "")

    walk(summary["target"], 0, "")
    lines.append("")
    lines += _summary_lines(summary)
    return "\n".join(lines) + "\n"


def _utc(time_ms) -> str:
    import datetime as dt

    return dt.datetime.fromtimestamp(time_ms / 1000, dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def _provenance_lines(s: dict) -> list:
    """Where the model came from: run, commit, trainer, data files, schema."""
    lines = [f"run             {s.get('run')}", f"git commit      {s.get('git_commit')}"]
    t = s.get("trainer")
    if t:
        lines.append(f"trainer         execution {t['execution']}: {t['train_steps']} train / "
                     f"{t['eval_steps']} eval steps, code {(t['code_fingerprint'] or '?')[:16]}")
        lines.append(f"hyperparameters {t['hparams']}")
    for src in s.get("sources", []):
        for name, digest in sorted(src["sha256"].items()):
            lines.append(f"data            span {src['span']}: {src['input_base']}/span-{src['span']}/{name} "
                         f"sha256 {digest}")
    for schema in s.get("schema", []):
        lines.append(f"schema          {schema['file']} sha256 {schema['sha256']}")
    return lines


def _judgement_lines(s: dict) -> list:
    """How the model was judged, and the verdict with each check."""
    lines = []
    judged = s.get("judgement")
    if judged:
        level = f"{judged['confidence'] * 100:g}%"
        lines.append(f"evaluation      {judged['examples']} examples ({judged['positives']} positive), "
                     f"span {judged['newest_span']} alone {judged['newest_span_examples']}")
        lines.append("metrics         " + ", ".join(
            f"{k} {v['value']:.4f} ({v['low']:.4f}–{v['high']:.4f})"
            for k, v in sorted(judged["metrics"].items())) + f" ({level} intervals)")
        if judged.get("operating_threshold") is not None:
            lines.append(f"threshold       {judged['operating_threshold']:.4f}: F1, precision, recall, "
                         ":classify and online F1 decide at it")
    if judged:
        from components.model_gate.decision import no_better_line

        said = no_better_line(judged.get("trivial"), judged["metrics"])
        if said:
            lines.append(f"baselines       {said}")
    if "blessed" in s:
        lines.append(f"blessed         {'yes' if s['blessed'] else 'NO'}")
        for check in (judged or {}).get("checks", []):
            lines.append(f"  {'-' if check['passed'] else 'x'} {check['text']}")
    return lines


def _traffic_lines(s: dict) -> list:
    """What the version did in serving: since when, which deployments and decisions."""
    lines = []
    traffic = s.get("traffic") or {}

    def at(d):
        return f"{_utc(d['time_ms'])} (deployment {d['execution']}, revision {d['revision']}, {d['action']})"

    if traffic.get("since"):
        if traffic["serving"]:
            lines.append(f"serving         version {traffic['version']} takes traffic since {at(traffic['since'])}")
        else:
            lines.append(f"stopped         version {traffic['version']} took traffic from {at(traffic['since'])} "
                         f"until {at(traffic['stopped'])}")
    elif s.get("traffic") is not None and "version" in traffic:
        lines.append(f"serving         version {traffic['version']} never took traffic")
    if s.get("blessing"):
        lines.append(f"pushed by       the blessing #{s['blessing']} the Pusher read (above)")
    for d in s.get("deployments", []):
        share = (f"shadow on {d.get('shadow_percent') or 0:g}% of requests, answering none" if d["role"] == "shadow"
                 else f"{d['role']} at {d['share_percent']:g}%")
        lines.append(f"served          {_utc(d['time_ms'])} revision {d['revision']} ({d['action']}): "
                     f"{share} ({d['reason'] or 'no reason given'})")
    lines += _watched_lines(s.get("watched"))
    for seen in s.get("shadowed", []):
        lines.append(f"shadowed        {_utc(seen['time_ms'])} {shadow_text(seen['shadow'])} (MLMD execution "
                     f"{seen['execution']})")
    for d in s.get("decisions", []):
        lines.append(f"decision        {_utc(d['time_ms'])} {d['trigger']}: {d['outcome']} ({d['reason']}; "
                     f"MLMD execution {d['execution']})")
    return lines


def _watched_lines(watched) -> list:
    """The monitoring of the version's traffic, in two lines at most."""
    if not watched or not watched["passes"]:
        return []
    alarms = ", ".join(f"{kind} {count}" for kind, count in sorted(watched["alarms"].items())) or "none"
    line = f"monitored       {watched['passes']} windows judged; their alarms by kind: {alarms}"
    estimate = watched["estimate"]
    if estimate:
        f1 = estimate["f1_score"]
        line += (f"; newest F1 estimate {f1['value']:.3f} ({f1['low']:.3f}–{f1['high']:.3f}) at "
                 f"{_utc(estimate['time_ms'])} (MLMD execution {estimate['execution']})")
    lines = [line]
    if watched["checks"]:
        from driftline.views.estimates import summary, summary_text

        lines.append(f"estimates       {summary_text(summary(watched['checks']))}")
    return lines


def _summary_lines(s: dict) -> list:
    lines = _provenance_lines(s) + _judgement_lines(s) + _traffic_lines(s)
    if s.get("error_analysis"):
        lines.append(f"error analysis  {s['error_analysis']}")
    if "drift" in s:
        d = s["drift"]
        lines.append(f"drift           {'passed' if d['clean'] == 1 else 'NOT clean'} (span {d['current_span']} "
                     f"vs span {d['baseline_span']}, {d['baseline_kind']}; offending: {d['offending'] or 'none'})")
    return lines


def diff_table(diff: dict) -> str:
    rows = diff["differences"]
    if not rows:
        return f"runs {diff['a']} and {diff['b']} do not differ in any recorded fact\n"
    width = max(len(r["fact"]) for r in rows)
    lines = [f"{'':<{width}}  {'A ' + diff['a']:<30}  {'B ' + diff['b']:<30}  delta",
             f"{'':-<{width + 72}}"]
    for r in rows:
        delta = f"{r['delta']:+.4f}" if "delta" in r else ""
        a = f"{r['a']:.4f}" if isinstance(r["a"], float) else _short(r["a"], 30)
        b = f"{r['b']:.4f}" if isinstance(r["b"], float) else _short(r["b"], 30)
        lines.append(f"{r['fact']:<{width}}  {a:<30}  {b:<30}  {delta}")
    lines.append(f"{len(rows)} differences; {len(diff['same'])} facts the same")
    return "\n".join(lines) + "\n"


def _node_label(n: dict) -> str:
    if n["kind"] == "artifact":
        span = n["properties"].get("span") if n["type"] == "Examples" else None
        extra = "" if span is None else f"\\nspan {span}"
        return f"{n['type']} #{n['id']}{extra}"
    extra = f"\\nspan {n['source']['span']}" if "source" in n else ""
    return f"{n['node']}\\n{n['state']}{extra}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\\\\n", "\\n") + '"'


def dot(graph: dict, title: str) -> str:
    lines = ["digraph lineage {", f"  label={_quote(title)};", "  rankdir=LR;",
             "  node [fontname=Helvetica fontsize=10];"]
    for key, n in sorted(graph["nodes"].items()):
        shape = "note" if n["kind"] == "artifact" else "box"
        style = "filled" if n["kind"] == "execution" else "solid"
        lines.append(f"  {key} [label={_quote(_node_label(n))} shape={shape} style={style} "
                     f"fillcolor=\"#e8eef8\"];")
    for e in graph["edges"]:
        lines.append(f"  {e['from']} -> {e['to']} [label={_quote(e['label'])}];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def mermaid(graph: dict, title: str) -> str:
    lines = ["---", f"title: {title}", "---", "flowchart LR"]
    for key, n in sorted(graph["nodes"].items()):
        text = _node_label(n).replace("\\n", "<br/>").replace('"', "'")
        lines.append(f'  {key}["{text}"]' if n["kind"] == "execution" else f'  {key}[/"{text}"/]')
    for e in graph["edges"]:
        lines.append(f"  {e['from']} -->|{e['label'] or ' '}| {e['to']}")
    return "\n".join(lines) + "\n"


def render_image(dot_text: str, target: Path) -> Path:
    """PNG or SVG through Graphviz's `dot`, by the target's suffix."""
    fmt = target.suffix.lstrip(".").lower()
    if fmt not in ("png", "svg"):
        raise DriftlineError(f"{target}: write .png or .svg (or omit --output for DOT text)")
    exe = shutil.which("dot")
    if exe is None:
        raise DriftlineError(
            "Graphviz is not installed, so no image was drawn: install it (Debian/Ubuntu: "
            "`sudo apt-get install graphviz`, macOS: `brew install graphviz`), or paste the "
            "DOT from `driftline lineage graph` into any Graphviz viewer")
    target.parent.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([exe, f"-T{fmt}", "-o", str(target)], input=dot_text, text=True,
                          capture_output=True)
    if proc.returncode != 0:
        raise DriftlineError(f"dot failed: {proc.stderr.strip()}")
    return target


def export_text(found: dict) -> str:
    """What `lineage export mlflow` did, run by run, then the registry."""
    lines = [f"MLflow at {found['tracking_uri']}, experiment {found['experiment']}"]
    for run in found["runs"]:
        lines.append(f"  run {run['run_id']:<28} {run['action']:<9} MLflow run {run['mlflow_run_id']}")
    for version in found["versions"]:
        lines.append(f"  version {version['version']:<12} {version['action']:<10} "
                     f"model version {version['mlflow_version']}")
    for alias in found["aliases"]:
        target = (f"model version {alias['mlflow_version']} (driftline version {alias['version']})"
                  if alias["mlflow_version"] else "none")
        lines.append(f"  alias {alias['alias']:<12} {target}: {alias['action']}")
    changed = sum(r["action"] != "unchanged" for r in found["runs"]) + \
        sum(v["action"] == "registered" for v in found["versions"]) + \
        sum(a["action"] != "unchanged" for a in found["aliases"])
    lines.append(f"{changed} change(s); MLMD keeps each run's MLflow run id")
    return "\n".join(lines) + "\n"


def export_brief(found: dict) -> str:
    """One line for the export after a run or a rollout change."""
    changed = [r for r in found["runs"] if r["action"] != "unchanged"]
    runs = ", ".join(f"run {r['run_id']} {r['action']}" for r in changed) or "no run changed"
    aliases = "; ".join(f"{a['alias']} -> model version {a['mlflow_version']}" if a["mlflow_version"]
                        else f"no {a['alias']}" for a in found["aliases"])
    return f"MLflow {found['tracking_uri']}: {runs}; {aliases}\n"

"""The drift report a person reads: Markdown, HTML and a PNG bar chart of distance vs
threshold per feature, offending features highlighted."""
import html
import json
import os

from components import storage
from components.drift_gate.comparison import FAILING, OVER, Comparison

MARKDOWN = "drift_report.md"
HTML = "drift_report.html"
CHART = "drift_chart.png"
JSON = "drift.json"


def _fmt(value, digits=4):
    return "—" if value is None else f"{value:.{digits}f}"


def _rows(comparison: Comparison):
    # Offenders first, then by distance, so the eye lands on what stopped the run.
    return sorted(
        comparison.features,
        key=lambda f: (f.verdict not in FAILING, -(f.distance if f.distance is not None else -1), f.name),
    )


def headline(comparison: Comparison, anomalies=()) -> str:
    if comparison.passed and not anomalies:
        return "PASSED: no feature over its threshold, no schema anomalies"
    parts = []
    if comparison.offending:
        parts.append(f"{len(comparison.offending)} feature(s) over their threshold, missing or "
                     "excluded")
    if comparison.examples_verdict == OVER:
        parts.append("example count outside its bounds")
    if anomalies:
        parts.append(f"{len(anomalies)} schema anomaly(ies)")
    return "BLOCKED: " + ", ".join(parts)


def markdown(comparison: Comparison, anomalies=(), labels=()) -> str:
    lines = [
        f"# Drift report: {comparison.current_label} vs {comparison.baseline_label}",
        "",
        f"**{headline(comparison, anomalies)}**",
        "",
        f"Examples: {comparison.current_examples} current, {comparison.baseline_examples} baseline"
        + (f" (ratio {comparison.examples_ratio:.3f})" if comparison.examples_ratio is not None else ""),
        "",
        "Distances are Chebyshev (L-infinity): the largest change in the share of one value "
        "(categorical) or one of ten common buckets (numeric).",
        "",
        "| feature | kind | distance | threshold | verdict | missing now | missing before |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: |",
    ]
    for f in _rows(comparison):
        name = f"**{f.name}**" if f.verdict in FAILING else f.name
        lines.append(
            f"| {name} | {f.kind} | {_fmt(f.distance)} | {_fmt(f.threshold, 3)} | {f.verdict} "
            f"| {f.missing_current:.1%} | {f.missing_baseline:.1%} |"
        )
    if anomalies:
        lines += ["", "## Schema anomalies", ""]
        lines += [f"- `{name}`: {text}" for name, text in anomalies]
    if labels:
        lines += ["", "## Label consistency (warnings)", ""]
        lines += [f"- {finding.text()}" for finding in labels]
    lines += ["", f"![distance vs threshold]({CHART})", ""]
    return "\n".join(lines)


def html_page(comparison: Comparison, anomalies=(), labels=()) -> str:
    rows = []
    for f in _rows(comparison):
        style = ' class="over"' if f.verdict in FAILING else ""
        rows.append(
            f"<tr{style}><td>{html.escape(f.name)}</td><td>{f.kind}</td>"
            f"<td>{_fmt(f.distance)}</td><td>{_fmt(f.threshold, 3)}</td>"
            f"<td>{html.escape(f.verdict)}</td><td>{f.missing_current:.1%}</td>"
            f"<td>{f.missing_baseline:.1%}</td></tr>"
        )
    anomaly_items = "".join(
        f"<li><code>{html.escape(n)}</code>: {html.escape(t)}</li>" for n, t in anomalies
    )
    label_items = "".join(f"<li>{html.escape(finding.text())}</li>" for finding in labels)
    title = f"Drift report: {comparison.current_label} vs {comparison.baseline_label}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 4px 10px; border-bottom: 1px solid #ddd; }}
td:nth-child(n+3) {{ text-align: right; }} tr.over td {{ background: #fde2e1; font-weight: 600; }}
.headline {{ font-size: 1.2em; font-weight: 600; }}
</style></head><body>
<h1>{html.escape(title)}</h1>
<p class="headline">{html.escape(headline(comparison, anomalies))}</p>
<p>Examples: {comparison.current_examples} current, {comparison.baseline_examples} baseline.
Distances are Chebyshev (L-infinity): the largest change in the share of one value
(categorical) or one of ten common buckets (numeric).</p>
<table><tr><th>feature</th><th>kind</th><th>distance</th><th>threshold</th><th>verdict</th>
<th>missing now</th><th>missing before</th></tr>
{''.join(rows)}
</table>
{f'<h2>Schema anomalies</h2><ul>{anomaly_items}</ul>' if anomalies else ''}
{f'<h2>Label consistency (warnings)</h2><ul>{label_items}</ul>' if labels else ''}
<p><img src="{CHART}" alt="distance vs threshold per feature"></p>
</body></html>
"""


def chart(comparison: Comparison) -> bytes:
    """The PNG of distance against threshold per feature."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [f for f in reversed(_rows(comparison)) if f.distance is not None]
    height = max(2.5, 0.35 * len(measured) + 1.2)
    fig, ax = plt.subplots(figsize=(8, height))
    names = [f.name for f in measured]
    colors = ["#d62728" if f.verdict == OVER else ("#1f77b4" if f.threshold is not None else "#aaaaaa")
              for f in measured]
    ax.barh(names, [f.distance for f in measured], color=colors)
    for i, f in enumerate(measured):
        if f.threshold is not None:
            ax.plot([f.threshold, f.threshold], [i - 0.4, i + 0.4], color="black", linewidth=2)
    ax.set_xlim(0, max([0.2] + [f.distance * 1.1 for f in measured] + [(f.threshold or 0) * 1.1 for f in measured]))
    ax.set_xlabel("L-infinity distance (black tick: threshold; red: over; grey: not gated)")
    ax.set_title(f"{comparison.current_label} vs {comparison.baseline_label}")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def read_comparison(directory: str) -> dict:
    """The comparison a report directory holds, as written by `write` (drift.json)."""
    return json.loads(storage.read_text(os.path.join(directory, JSON)))


def write(comparison: Comparison, directory: str, anomalies=(), labels=()) -> str:
    """Writes the JSON, Markdown, HTML and PNG; returns the HTML path. `labels`: label
    consistency findings (label_consistency.Finding)."""
    storage.makedirs(directory)
    storage.write_text(os.path.join(directory, JSON), comparison.dumps())
    storage.write_text(os.path.join(directory, MARKDOWN), markdown(comparison, anomalies, labels))
    storage.write_text(os.path.join(directory, HTML), html_page(comparison, anomalies, labels))
    storage.write_bytes(os.path.join(directory, CHART), chart(comparison))
    return os.path.join(directory, HTML)

"""`driftline analyze`: the error-analysis report of one run, from the rows its
ModelGate judged (one per evaluation example, with the champion's score beside the
candidate's), as a self-contained HTML page with PNG charts and as JSON.

The numbers come from components/analysis/slices.py, the same code the slice gate
decides with. Reading parquet and drawing with matplotlib keeps this free of TensorFlow:
the report of a run takes seconds, not a model load.
"""
import base64
import html
import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from components.analysis import slices
from driftline.views.charts import png

REPORT_FILE = "index.html"
JSON_FILE = "analysis.json"
# The key of an evaluation row across runs: its span and every raw input.
SPAN, LABEL, OBSERVABLE, CANDIDATE, BASELINE = "span", "label", "observable", "candidate", "baseline"
NOT_FEATURES = {SPAN, LABEL, OBSERVABLE, CANDIDATE, BASELINE}


@dataclass
class Predictions:
    run_id: str
    columns: dict            # name -> numpy array, judged rows only
    baseline_from: Optional[str] = None   # where the baseline column came from

    @property
    def features(self) -> List[str]:
        return [c for c in self.columns if c not in NOT_FEATURES]


def read_predictions(path: str, run_id: str) -> Predictions:
    """The ModelGate's predictions, restricted to the rows it judged (the observable
    population, or every row when the run trained on every row)."""
    import pyarrow.parquet as pq

    from components import storage

    data = storage.read_bytes(path)
    table = pq.read_table(io.BytesIO(data))
    columns = {name: np.asarray(table.column(name).to_pylist()) for name in table.column_names}
    keep = columns[OBSERVABLE].astype(bool)
    columns = {k: v[keep] for k, v in columns.items()}
    baseline_from = "the model serving when this run was judged" if BASELINE in columns else None
    return Predictions(run_id, columns, baseline_from)


def with_baseline(target: Predictions, other: Predictions) -> Predictions:
    """`target` with `other`'s candidate scores as its baseline, joined row by row on the
    span and raw inputs. Rows the other run did not score are dropped, and counted."""
    features = [f for f in target.features if f in other.columns]
    def keys(p):
        return list(zip(p.columns[SPAN].astype(str), *(p.columns[f].astype(str) for f in features)))
    theirs = {}
    for row, key in enumerate(keys(other)):
        theirs.setdefault(key, row)
    pairs = [(row, theirs.get(key)) for row, key in enumerate(keys(target))]
    mine = np.asarray([r for r, t in pairs if t is not None], dtype=np.int64)
    other_rows = np.asarray([t for _, t in pairs if t is not None], dtype=np.int64)
    if mine.size == 0:
        from components.errors import DriftlineError

        raise DriftlineError(f"runs {target.run_id} and {other.run_id} share no evaluation example: "
                             "they were judged on different data, so they cannot be compared slice by slice")
    columns = {k: v[mine] for k, v in target.columns.items()}
    columns[BASELINE] = other.columns[CANDIDATE][other_rows]
    dropped = len(pairs) - mine.size
    note = f"run {other.run_id}'s model" + (f" ({dropped} rows it did not score left out)" if dropped else "")
    return Predictions(target.run_id, columns, note)


def default_slicings(slice_features: Sequence[str], available: Sequence[str],
                     extra: Sequence[str] = ()) -> List[tuple]:
    """Each slice feature and each of `extra` alone, and the first two slice features crossed."""
    wanted = list(dict.fromkeys(list(slice_features) + list(extra)))
    found = [(f,) for f in wanted if f in available]
    firsts = [f for f in slice_features if f in available][:2]
    if len(firsts) == 2:
        found.append(tuple(firsts))
    return found


def analyze(predictions: Predictions, slicings, min_examples: int, confidence: float = 0.95,
            samples: int = 500, seed: int = 0, judgement: Optional[dict] = None,
            thresholds=None) -> dict:
    """`thresholds`: the model's operating threshold and the baseline's (default: one half)."""
    from components.model_gate import metrics

    thresholds = thresholds or (metrics.THRESHOLD, metrics.THRESHOLD)
    c = predictions.columns
    labels, scores = c[LABEL].astype(bool), c[CANDIDATE].astype(np.float64)
    baseline = c[BASELINE].astype(np.float64) if BASELINE in c else None
    rows = slices.table(labels, scores, c, slicings, baseline, confidence, samples, seed, *thresholds)
    overall = metrics.all_metrics(labels, scores, thresholds[0])
    result = {
        "run": predictions.run_id, "examples": int(labels.size), "positives": int(labels.sum()),
        "overall": overall, "confidence": confidence, "bootstrap_samples": samples,
        "min_slice_examples": min_examples, "slicings": slices.slicing_names(slicings),
        "slices": rows, "worst": slices.worst(rows, min_examples),
        "where_to_add_data": slices.where_to_add_data(rows, min_examples),
        "curves": slices.curves(labels, scores, threshold=thresholds[0]),
        "baseline": predictions.baseline_from, "judgement": judgement, "threshold": thresholds[0],
    }
    if baseline is not None:
        result["baseline_overall"] = metrics.all_metrics(labels, baseline, thresholds[1])
        judged = [r for r in rows if r["examples"] >= min_examples]
        # Worse only when the whole interval of the change is below zero; a lower point
        # estimate whose interval includes zero is noise, and is named as such.
        lower = sorted((r for r in judged if r["f1_change"] < 0), key=lambda r: r["f1_change"])
        result["worse_slices"] = [r for r in lower if r["f1_change_high"] < 0]
        result["lower_within_noise"] = [r for r in lower if r["f1_change_high"] >= 0]
    return result


def weakest(result: dict, slice_features: Sequence[str]) -> Optional[tuple]:
    """(slice, F1) with the lowest F1 among single-feature slices of `slice_features`
    that have at least the minimum number of examples; None when there is none."""
    if result.get("kind") == "regression":  # its weakest slice is the one with the largest error
        return None
    found = [(r["slice"], r["f1_score"]) for r in result["slices"]
             if r["slicing"] in slice_features and r["examples"] >= result["min_slice_examples"]
             and not r.get("same_as") and r["f1_score"] == r["f1_score"]]
    return min(found, key=lambda item: item[1]) if found else None


# --- charts ----------------------------------------------------------------------------


def chart_file(slicing: str) -> str:
    """A slicing's chart file: its column names made safe for a file name (a column may be
    called "Zone/Area")."""
    return "f1_by_" + re.sub(r"[^A-Za-z0-9_.-]+", "_", slicing.replace(" × ", "_x_")) + ".png"


def charts(result: dict) -> dict:
    """name -> PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    curve = result["curves"]
    fig, ax = plt.subplots(figsize=(5, 4))
    ax.plot(curve["pr_curve"]["recall"], curve["pr_curve"]["precision"], color="#1f77b4")
    best = curve["best_threshold"]
    ax.scatter([best["recall"]], [best["precision"]], color="#d62728", zorder=3,
               label=f"best F1 {best['f1_score']:.3f} at {best['threshold']:.2f}")
    ax.set(xlabel="recall", ylabel="precision", title="Precision-recall", xlim=(0, 1), ylim=(0, 1.02))
    ax.legend(loc="lower left")
    out["precision_recall.png"] = png(fig, dpi=96)

    fig, ax = plt.subplots(figsize=(5, 4))
    cal = curve["calibration"]
    ax.plot([0, 1], [0, 1], color="#999", linestyle="--", label="perfectly calibrated")
    ax.plot([b["mean_predicted"] for b in cal], [b["observed_rate"] for b in cal], marker="o",
            color="#1f77b4", label="this model")
    ax.set(xlabel="mean predicted probability", ylabel="observed positive rate",
           title="Calibration", xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    out["calibration.png"] = png(fig, dpi=96)

    for slicing in result["slicings"]:
        rows = [r for r in result["slices"] if r["slicing"] == slicing]
        if not rows or len(rows) > 40:
            continue  # a cross with many cells reads better as the table
        fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(rows) + 2), 3.6))
        x = np.arange(len(rows))
        f1 = np.asarray([r["f1_score"] for r in rows])
        err = np.vstack([f1 - [r["f1_low"] for r in rows], [r["f1_high"] for r in rows] - f1])
        small = [r["examples"] < result["min_slice_examples"] for r in rows]
        ax.bar(x, f1, color=["#c7c7c7" if s else "#1f77b4" for s in small])
        ax.errorbar(x, f1, yerr=np.clip(err, 0, None), fmt="none", ecolor="#333", capsize=2)
        if "baseline_f1" in rows[0]:
            ax.scatter(x, [r["baseline_f1"] for r in rows], color="#ff7f0e", zorder=3, label="serving model")
            ax.legend(loc="lower right")
        ax.axhline(result["overall"]["f1_score"], color="#d62728", linestyle="--", linewidth=1)
        ax.set_xticks(x, [", ".join(r["values"]) for r in rows], rotation=60, ha="right", fontsize=8)
        ax.set(ylabel="F1", ylim=(0, 1), title=f"F1 by {slicing} (grey: fewer than "
                                                f"{result['min_slice_examples']} examples)")
        out[chart_file(slicing)] = png(fig, dpi=96)
    return out


# --- the page --------------------------------------------------------------------------


def _fmt(value, digits=3):
    if value is None:
        return "–"
    if isinstance(value, float):
        return "–" if value != value else f"{value:.{digits}f}"
    return html.escape(str(value))


def _table(rows: List[dict], with_baseline: bool) -> str:
    head = ["slice", "examples", "label rate", "AUC", "F1 (interval)", "precision", "recall",
            "errors", "share of errors"]
    if with_baseline:
        head += ["serving F1", "F1 change (interval)"]
    out = ["<table><tr>" + "".join(f"<th>{h}</th>" for h in head) + "</tr>"]
    for r in rows:
        cells = [html.escape(r["slice"]), r["examples"], _fmt(r["label_rate"]), _fmt(r["auc"]),
                 f"{_fmt(r['f1_score'])} ({_fmt(r['f1_low'])}–{_fmt(r['f1_high'])})",
                 _fmt(r["precision"]), _fmt(r["recall"]), r["errors"], f"{r['error_share']:.1%}"]
        if with_baseline:
            worse = r["f1_change_high"] < 0
            cells += [_fmt(r["baseline_f1"]),
                      f"<span class='{'bad' if worse else ''}'>{r['f1_change']:+.3f} "
                      f"({r['f1_change_low']:+.3f} to {r['f1_change_high']:+.3f})</span>"]
        out.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return "\n".join(out + ["</table>"])


def _images(images: dict):
    def img(name):
        if name not in images:
            return ""
        data = base64.b64encode(images[name]).decode()
        return f"<img alt='{html.escape(name)}' src='data:image/png;base64,{data}'>"

    return img


def _overview(result: dict) -> str:
    overall, conf = result["overall"], result["confidence"]
    return (f"<h1>Error analysis: run {html.escape(result['run'])}</h1>"
            f"<p>{result['examples']} evaluation examples judged ({result['positives']} positive). "
            f"F1 {overall['f1_score']:.3f}, AUC {overall['auc']:.3f}, precision "
            f"{overall['precision']:.3f}, recall {overall['recall']:.3f} at the model's operating "
            f"threshold {result['threshold']:.3f}, chosen on held-out train rows. "
            f"Intervals: {conf:.0%}, F1 by a bootstrap of {result['bootstrap_samples']} resamples of "
            "each slice's own rows (paired with the serving model's scores for the change), error "
            "rates by Wilson's interval; slices with fewer than "
            f"{result['min_slice_examples']} examples are shown but never ranked by F1.</p>")


def _decision(judgement: dict) -> str:
    from components.model_gate.decision import no_better_line

    verdict = "blessed" if judgement.get("blessed") else "not blessed"
    said = no_better_line(judgement.get("trivial"), judgement.get("metrics", {}))
    return (f"<h2>Decision: {verdict}</h2>" + (f"<p class='bad'>{html.escape(said)}</p>" if said else "")
            + "<ul>" + "".join(f"<li class='{'ok' if c['passed'] else 'bad'}'>{html.escape(c['text'])}</li>"
                               for c in judgement.get("checks", [])) + "</ul>" + _baselines(judgement))


def _baselines(judgement: dict) -> str:
    """Constant → candidate → reference on the same rows, each with its interval."""
    trivial, found = judgement.get("trivial"), judgement.get("metrics", {})
    if not trivial or "auc" not in found:
        return ""
    reference = judgement.get("reference") or {}

    def cell(metric, value):
        if value is None:
            return "<td>-</td>"
        if isinstance(value, dict):
            low = value.get("low")
            shown = f"{value['value']:.3f}" + (f" ({low:.3f}–{value['high']:.3f})" if low == low and low is not None else "")
            return f"<td>{shown}</td>"
        return f"<td>{value:.3f}</td>"

    rows = []
    for metric, label in (("auc", "AUC"), ("log_loss", "log loss"), ("f1_score", "F1")):
        constant = trivial["yes_f1"] if metric == "f1_score" else (0.5 if metric == "auc" else
                                                                   trivial["constant"][metric])
        rows.append(f"<tr><th>{label}</th>{cell(metric, constant)}{cell(metric, found.get(metric))}"
                    f"{cell(metric, reference.get(metric))}</tr>")
    gap = (reference["auc"]["value"] - found["auc"]["value"]) if "auc" in reference else None
    return ("<h3>Against the trivial baselines and the reference learner</h3><table><tr><th></th>"
            f"<th>constant (base rate {trivial['base_rate']:.3f}; F1: always \"yes\")</th><th>this model</th>"
            "<th>reference (gradient-boosted trees, same rows)</th></tr>" + "".join(rows) + "</table>"
            + (f"<p>Left on the table against the reference: AUC {max(gap, 0.0):.3f}.</p>" if gap is not None else ""))


def _confusion(curve: dict, img) -> str:
    cm, best = curve["confusion"], curve["best_threshold"]
    return (
        f"<h2>Confusion matrix at the operating threshold {cm['threshold']:.3f}</h2>"
        "<table><tr><th></th><th>predicted positive</th>"
        f"<th>predicted not</th></tr><tr><th>positive</th><td>{cm['true_positive']}</td>"
        f"<td>{cm['false_negative']}</td></tr><tr><th>not</th><td>{cm['false_positive']}</td>"
        f"<td>{cm['true_negative']}</td></tr></table>"
        f"<p>On these judged rows, the F1-maximising threshold would be {best['threshold']:.3f} (F1 {best['f1_score']:.3f}, "
        f"precision {best['precision']:.3f}, recall {best['recall']:.3f})"
        + (": there every example is predicted positive, which F1 rewards when most "
           "examples are positive; the gate judges F1 at the threshold chosen on held-out train rows"
           if best["recall"] >= 1.0 else "")
        + ".</p>"
        + img("precision_recall.png") + img("calibration.png") + _calibration_table(curve))


def _calibration_table(curve: dict) -> str:
    """The reliability table behind the calibration chart, and its expected error."""
    rows = "".join(f"<tr><td>{b['low']:.1f}–{b['high']:.1f}</td><td>{b['examples']}</td>"
                   f"<td>{b['mean_predicted']:.3f}</td><td>{b['observed_rate']:.3f}</td></tr>"
                   for b in curve["calibration"])
    error = curve.get("calibration_error")
    return ("<h3>Calibration</h3>" + (f"<p>Expected calibration error {error:.3f}: the rows' mean "
                                      "gap between predicted probability and observed rate, bin by bin.</p>"
                                      if error is not None else "")
            + "<table><tr><th>predicted</th><th>examples</th><th>mean predicted</th><th>observed rate</th></tr>"
            + rows + "</table>")


def _where_to_add_data(advice: list) -> str:
    return "<h2>Where to add data</h2>" + ("<ul>" + "".join(
        f"<li>{html.escape(a['text'])}</li>" for a in advice) + "</ul>" if advice else
        "<p>No slice holds a large share of the errors on few examples or at a clearly higher "
        "error rate.</p>")


def _against_serving(result: dict) -> str:
    worse, noise = result["worse_slices"], result["lower_within_noise"]
    return (f"<h2>Against the serving model</h2><p>Baseline: {html.escape(result['baseline'])}; "
            f"its F1 {result['baseline_overall']['f1_score']:.3f}. Slices with at least "
            f"{result['min_slice_examples']} examples whose F1 is worse, the whole interval of "
            "the change below zero:</p>" + (_table(worse, True) if worse else "<p>None.</p>")
            + "<p>Lower, but within noise (the interval includes no change): "
            + (html.escape(", ".join(r["slice"] for r in noise)) if noise else "none") + ".</p>")


STYLE = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
         "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 7px;"
         "font-size:13px;text-align:right}th:first-child,td:first-child{text-align:left}"
         ".bad{color:#b00}.ok{color:#060}img{margin:0.5em 1em 0.5em 0}")


def page(result: dict, images: dict) -> str:
    """The error-analysis page: one HTML file with its charts inline."""
    img = _images(images)
    baseline = "baseline_overall" in result
    parts = [_overview(result)]
    if result.get("judgement"):
        parts.append(_decision(result["judgement"]))
    parts.append(_confusion(result["curves"], img))
    parts.append(_where_to_add_data(result["where_to_add_data"]))
    if baseline:
        parts.append(_against_serving(result))
    parts.append("<h2>Worst slices by number of errors</h2>" + _table(result["worst"]["by_errors"], baseline))
    parts.append("<h2>Worst slices by F1 below overall</h2>" + _table(result["worst"]["by_f1"], baseline))
    for slicing in result["slicings"]:
        rows = [r for r in result["slices"] if r["slicing"] == slicing]
        key = chart_file(slicing)
        parts.append(f"<h2>By {html.escape(slicing)}</h2>{img(key)}"
                     f"<details><summary>{len(rows)} slices</summary>{_table(rows, baseline)}</details>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>driftline error analysis "
            f"{html.escape(result['run'])}</title><style>{STYLE}</style></head><body>"
            + "\n".join(parts) + "</body></html>")


def write(result: dict, output: Path) -> Path:
    """index.html (self-contained), each chart as PNG, and analysis.json."""
    images = charts(result)
    output.mkdir(parents=True, exist_ok=True)
    for name, data in images.items():
        (output / name).write_bytes(data)
    (output / JSON_FILE).write_text(json.dumps(result, indent=2, default=float))
    report = output / REPORT_FILE
    report.write_text(page(result, images))
    return report

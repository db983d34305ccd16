"""Error analysis by slice for a model that predicts a number: where its errors are, how
large, and with what certainty.

For every slice (components/analysis/slices.py cuts them, as for a classifier): its rows,
the mean absolute error with a bootstrap interval over the slice's own rows, the RMSE,
the bias (mean of prediction minus outcome: above 0, it predicts too high there), and
its share of all squared error. Against another model on the same rows: the paired
change of the slice's MAE, worse only when the whole interval is above 0.
"""
import html
import json
from pathlib import Path
from typing import List, Optional

import numpy as np

from components.analysis import slices
from components.model_gate import regression
from components.model_gate.metrics import percentiles

REPORT_FILE, JSON_FILE = "index.html", "analysis.json"


def _slice_row(piece, residual, other_residual, confidence: float, samples: int, seed: int, total: float) -> dict:
    rows = residual[piece.rows]
    picked = np.random.default_rng([seed, len(piece.rows)]).integers(0, rows.size, size=(samples, rows.size))
    absolute = np.abs(rows)
    low, high = percentiles(absolute[picked].mean(axis=1), confidence)
    row = {"slicing": piece.slicing, "slice": piece.name, "examples": int(rows.size),
           "mae": float(absolute.mean()), "mae_low": low, "mae_high": high,
           "rmse": float(np.sqrt(np.mean(rows ** 2))), "bias": float(rows.mean()),
           "squared_error_share": float(np.sum(rows ** 2) / total) if total else 0.0}
    if other_residual is not None:
        other = np.abs(other_residual[piece.rows])
        change = absolute[picked].mean(axis=1) - other[picked].mean(axis=1)
        row["mae_change"] = float(absolute.mean() - other.mean())
        row["mae_change_low"], row["mae_change_high"] = percentiles(change, confidence)
    return row


def analyze(predictions, slicings, min_examples: int, confidence: float = 0.95, samples: int = 500,
            seed: int = 0, judgement: Optional[dict] = None) -> dict:
    from driftline.analysis.report import BASELINE, CANDIDATE, LABEL

    c = predictions.columns
    labels, predicted = c[LABEL].astype(np.float64), c[CANDIDATE].astype(np.float64)
    residual = predicted - labels
    other = c[BASELINE].astype(np.float64) - labels if BASELINE in c else None
    total = float(np.sum(residual ** 2))
    rows = [_slice_row(piece, residual, other, confidence, samples, seed, total)
            for piece in slices.slices_of(c, slicings)]
    judged = [r for r in rows if r["examples"] >= min_examples]
    result = {"kind": "regression", "run": predictions.run_id, "examples": int(labels.size),
              "overall": regression.errors(labels, predicted), "confidence": confidence,
              "bootstrap_samples": samples, "min_slice_examples": min_examples,
              "slicings": slices.slicing_names(slicings), "slices": rows,
              "worst": {"by_squared_error": sorted(rows, key=lambda r: -r["squared_error_share"])[:10],
                        "by_mae": sorted(judged, key=lambda r: -r["mae"])[:10]},
              "baseline": predictions.baseline_from, "judgement": judgement}
    if other is not None:
        result["baseline_overall"] = regression.errors(labels, other + labels)
        result["worse_slices"] = sorted((r for r in judged if r["mae_change_low"] > 0),
                                        key=lambda r: -r["mae_change"])
    return result


def _table(rows: List[dict]) -> str:
    head = ("<tr><th>slice</th><th>examples</th><th>MAE (interval)</th><th>RMSE</th><th>bias</th>"
            "<th>share of squared error</th></tr>")
    body = "".join(
        f"<tr><td>{html.escape(r['slice'])}</td><td>{r['examples']}</td><td>{r['mae']:.4g} "
        f"({r['mae_low']:.4g}–{r['mae_high']:.4g})</td><td>{r['rmse']:.4g}</td><td>{r['bias']:+.4g}</td>"
        f"<td>{r['squared_error_share']:.1%}</td></tr>" for r in rows)
    return f"<table>{head}{body}</table>"


def page(result: dict) -> str:
    overall = result["overall"]
    parts = [f"<h1>Error analysis of run {html.escape(result['run'])}</h1>",
             f"<p>{result['examples']} judged examples: RMSE {overall['rmse']:.4g}, MAE {overall['mae']:.4g}. "
             f"Intervals at {result['confidence']:.0%} from {result['bootstrap_samples']} bootstrap resamples of "
             "each slice's rows; bias is the mean of prediction minus outcome.</p>",
             "<h2>Where the squared error is</h2>", _table(result["worst"]["by_squared_error"]),
             f"<h2>Largest mean absolute error (slices of at least {result['min_slice_examples']} rows)</h2>",
             _table(result["worst"]["by_mae"]), "<h2>Every slice</h2>", _table(result["slices"])]
    if result.get("baseline_overall"):
        parts.insert(2, f"<p>Against {html.escape(result['baseline'] or 'the baseline')}: its RMSE "
                        f"{result['baseline_overall']['rmse']:.4g}; slices worse beyond noise: "
                        f"{len(result['worse_slices'])}.</p>")
    return ("<!doctype html><html><head><meta charset='utf-8'><title>driftline error analysis</title>"
            "<style>body{font-family:sans-serif;margin:2em}td,th{padding:2px 8px;text-align:left}</style>"
            "</head><body>" + "\n".join(parts) + "</body></html>")


def write(result: dict, output: Path) -> Path:
    output.mkdir(parents=True, exist_ok=True)
    (output / JSON_FILE).write_text(json.dumps(result, indent=2, default=float))
    report = output / REPORT_FILE
    report.write_text(page(result))
    return report

"""The ModelGate's executor for a regression task: scores the candidate, the serving
model, the constant (the train split's mean label) and the reference learner on the
judged rows, decides by components/model_gate/regression.py, and records the verdict on
the blessing as the binary gate does (the same property names, RMSE and MAE for AUC and
F1), so that the Pusher, lineage and the views read it the same way."""
import json
import os

from components import storage
from components.model_gate import regression, verdict
from components.model_gate.scoring import score_rows, set_intervals, write_predictions

OUTPUT = "predictions"


def _scored(model, examples, baseline_model, settings) -> dict:
    rows = score_rows(model, examples, baseline_model, settings, OUTPUT)
    judged = rows.judged
    return {"spans": rows.spans[judged], "labels": rows.labels[judged], "scores": rows.scores[judged],
            "baseline": rows.baseline[judged] if rows.baseline is not None else None, "judged": judged,
            "columns": rows.columns, "mean": rows.train.base_rate, "reference": rows.reference}


def _measured(scored: dict, settings) -> dict:
    import numpy as np

    from components.model_gate.metrics import Resamples

    labels, scores, spans = scored["labels"], scored["scores"], scored["spans"]
    confidence, samples, seed = settings["confidence"], settings["samples"], settings["seed"]
    indices = Resamples(labels.size, samples, seed)
    constant = np.full(labels.size, scored["mean"])
    found = {"candidate": regression.intervals(labels, scores, indices, confidence),
             "constant": {"rmse": regression.errors(labels, constant)["rmse"],
                          "diff": regression.paired(labels, scores, constant, indices, confidence)},
             "newest": int(spans.max()) if spans.size else -1}
    if scored["reference"] is not None:
        found["reference"] = regression.intervals(labels, scored["reference"], indices, confidence)
    if scored["baseline"] is not None:
        baseline = scored["baseline"]
        found["serving"] = {"rmse": regression.errors(labels, baseline)["rmse"], "where": "",
                            "diff": regression.paired(labels, scores, baseline, indices, confidence)}
        rows = np.flatnonzero(spans == found["newest"])
        newest_indices = Resamples(rows.size, samples, seed + 1)
        found["newest_serving"] = {
            "rmse": regression.errors(labels[rows], baseline[rows])["rmse"], "where": f" on span {found['newest']}",
            "diff": regression.paired(labels[rows], scores[rows], baseline[rows], newest_indices, confidence)}
    found["newest_rows"] = int((spans == found["newest"]).sum())
    return found


def judge(model, examples, baseline_model, blessing, predictions, settings: dict) -> None:
    scored = _scored(model, examples, baseline_model, settings)
    write_predictions(predictions.uri, scored["columns"])
    measured = _measured(scored, settings)
    decision = regression.decide(settings, measured["candidate"], int(scored["labels"].size),
                                 measured["constant"], measured.get("serving"), measured.get("newest_serving"))
    _record(blessing, model, baseline_model, scored, measured, decision, settings)


def _record(blessing, model, baseline_model, scored, measured, decision, settings):
    blessing.set_int_custom_property(verdict.BLESSED, int(decision.blessed))
    blessing.set_string_custom_property(verdict.KIND, "regression")
    blessing.set_int_custom_property(verdict.CURRENT_MODEL_ID, model.id)
    blessing.set_string_custom_property(verdict.CURRENT_MODEL, model.uri)
    if baseline_model is not None:
        blessing.set_int_custom_property(verdict.BASELINE_MODEL_ID, baseline_model.id)
        blessing.set_string_custom_property(verdict.BASELINE_MODEL, baseline_model.uri)
    examples = int(scored["labels"].size)
    blessing.set_int_custom_property(verdict.EXAMPLES, examples)
    blessing.set_int_custom_property(verdict.EVAL_ROWS, int(scored["judged"].size))
    blessing.set_int_custom_property(verdict.NEWEST_SPAN, measured["newest"])
    blessing.set_int_custom_property(verdict.NEWEST_EXAMPLES, measured["newest_rows"])
    blessing.set_float_custom_property(verdict.CONFIDENCE, settings["confidence"])
    blessing.set_string_custom_property(verdict.CHECKS, json.dumps([c.to_json() for c in decision.checks]))
    blessing.set_string_custom_property(verdict.WARNINGS, json.dumps(decision.warnings))
    set_intervals(blessing, verdict.METRIC, verdict.LOW, verdict.HIGH, measured["candidate"])
    if "serving" in measured:
        set_intervals(blessing, verdict.DIFF, verdict.DIFF_LOW, verdict.DIFF_HIGH, measured["serving"]["diff"])
    trivial = {"constant": {"mean": scored["mean"], "rmse": measured["constant"]["rmse"]},
               "lift": {m: v.to_json() for m, v in measured["constant"]["diff"].items()}}
    blessing.set_string_custom_property(verdict.TRIVIAL, json.dumps(trivial))
    blessing.set_int_custom_property(verdict.REQUIRED, int(settings.get("beat_constant", True)))
    if "reference" in measured:
        set_intervals(blessing, verdict.REFERENCE, verdict.REFERENCE_LOW, verdict.REFERENCE_HIGH,
                       measured["reference"])
    report = {"kind": "regression", "decision": decision.to_json(), "examples": examples,
              "evaluation_rows": int(scored["judged"].size), "newest_span": measured["newest"],
              "confidence": settings["confidence"], "bootstrap_samples": settings["samples"],
              "metrics": {m: v.to_json() for m, v in measured["candidate"].items()},
              "trivial": trivial,
              "diffs": ({m: v.to_json() for m, v in measured["serving"]["diff"].items()}
                        if "serving" in measured else None)}
    storage.makedirs(blessing.uri)
    storage.write_text(os.path.join(blessing.uri, verdict.JUDGEMENT_FILE), json.dumps(report, indent=2))
    storage.write_text(os.path.join(blessing.uri, "BLESSED" if decision.blessed else "NOT_BLESSED"), "")

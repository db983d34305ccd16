"""The whole pipeline, for real: what the four runs of tests/e2e/conftest.py did."""
import csv
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from ml_metadata.proto import metadata_store_pb2

from driftline.mlmd.store import custom_property, output_artifacts
from pipeline import metadata
from e2e_helpers import PIPELINE, pushed_dir as _pushed_dir, raw_example

RESOLVERS = {"baseline_model_resolver", "blessed_statistics_resolver", "analyzer_cache_resolver"}


EXPECTED_NODES = {
    "CsvExampleGen_span2", "CsvExampleGen_span3", "StatisticsGen", "StatisticsGen_previous",
    "SchemaGen", "ImportSchemaGen", "ExampleValidator", "blessed_statistics_resolver",
    "DriftGate", "Transform", "Trainer", "baseline_model_resolver", "ModelGate", "Pusher",
    "analyzer_cache_resolver",
}


def test_first_run_executes_every_node_once(runs):
    store, run_id = runs["store"], runs["run_ids"][0]
    assert runs["states"][0] == {node: "complete" for node in EXPECTED_NODES}
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, run_id)
    assert len(store.get_executions_by_context(context.id)) == len(EXPECTED_NODES)


def test_first_run_artifacts_all_exist(runs):
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][0])
    keys = set()
    for node, execution in executions.items():
        for key, artifacts in output_artifacts(store, execution.id).items():
            keys.add(f"{node}.{key}")
            for artifact in artifacts:
                assert Path(artifact.uri).exists(), f"{node}.{key}: {artifact.uri} missing"
    for expected in ["StatisticsGen.statistics", "Transform.transform_graph", "Trainer.model",
                     "ModelGate.blessing", "ModelGate.predictions", "Pusher.pushed_model",
                     "ExampleValidator.anomalies", "ImportSchemaGen.schema"]:
        assert expected in keys


def _raw_examples(data_root, span, n):
    """Serving requests: raw tf.Examples of model inputs only, no tips and no label."""
    with open(Path(data_root) / f"span-{span}" / "data.csv") as f:
        return _raw_examples_from_rows(list(csv.DictReader(f))[:n])


def _raw_examples_from_rows(rows):
    """tf.Examples of the model's raw inputs, typed as the CSV's columns are."""
    return [raw_example(row) for row in rows]


def test_pushed_model_scores_raw_serving_examples(runs, small_spans):
    pushed = _pushed_dir(runs, 0)
    assert pushed.parent == runs["work"] / "out" / "serving" / "taxi_big_tipper"
    model = tf.saved_model.load(str(pushed))
    serve = model.signatures["serving_default"]
    examples = _raw_examples(small_spans, 3, 25)
    assert all("tips" not in e.features.feature for e in examples)
    out = serve(examples=tf.constant([e.SerializeToString() for e in examples]))
    probabilities = out["probabilities"].numpy()
    assert probabilities.shape == (25, 1)
    assert np.all((probabilities >= 0) & (probabilities <= 1))
    assert probabilities.std() > 0  # the model looks at its inputs


def test_unchanged_rerun_only_runs_the_resolver(runs):
    states = runs["states"][1]
    assert set(states) == EXPECTED_NODES
    for node, state in states.items():
        assert state == ("complete" if node in RESOLVERS else "cached"), (node, state)


def test_new_span_reruns_the_data_dependent_nodes(runs):
    # This run's config adds TFMA's Evaluator (`[evaluation] tfma = true`).
    states = runs["states"][2]
    for node in ["CsvExampleGen_span4", "StatisticsGen", "StatisticsGen_previous",
                 "ExampleValidator", "DriftGate", "Transform", "Trainer", "Evaluator", "ModelGate"]:
        assert states[node] == "complete", (node, states[node])
    # Span 3 is still in the two-span window and was ingested by the earlier runs.
    assert states["CsvExampleGen_span3"] == "cached"
    assert "CsvExampleGen_span2" not in states
    assert states["ImportSchemaGen"] == "cached"


def test_the_gates_evaluation_has_tfmas_own_numbers_on_the_same_model(runs):
    """Run 3 runs TFX's Evaluator beside the ModelGate on the same model and rows: the
    evaluation the gate writes in TFMA's format holds, slice by slice, the example
    counts TFMA's Beam evaluation counted and its AUC (TFMA's approximates with 10,000
    thresholds); TFMA also lists the unjudged cash rides' slices, empty, which the gate
    leaves out."""
    import tensorflow_model_analysis as tfma

    from pipeline import nodes

    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][2])
    theirs = dict(tfma.load_eval_result(
        output_artifacts(store, executions["Evaluator"].id)[nodes.EVALUATION][0].uri).slicing_metrics)
    ours = dict(tfma.load_eval_result(
        output_artifacts(store, executions[nodes.MODEL_GATE].id)[nodes.EVALUATION][0].uri).slicing_metrics)
    assert () in ours and len(ours) > 10
    compared = 0
    for key, found in ours.items():
        mine, tfmas = found[""][""], theirs[key][""][""]
        assert mine["example_count"]["doubleValue"] == tfmas["example_count"]["doubleValue"] > 0, key
        # JSON's NaN arrives as the string 'NaN'.
        auc = float(mine["auc"].get("boundedValue", mine["auc"]).get("value", mine["auc"].get("doubleValue")))
        theirs_auc = float(tfmas["auc"]["doubleValue"])
        # Where either has no AUC (one class in a slice of a few rows) there is nothing to compare.
        if auc == auc and theirs_auc == theirs_auc:
            assert auc == pytest.approx(theirs_auc, abs=0.005), key
            compared += 1
    assert compared > len(ours) / 2, compared
    assert {k for k in theirs if k not in ours} and all(
        theirs[k][""][""]["example_count"]["doubleValue"] == 0 for k in theirs if k not in ours)


def test_new_span_reads_the_analyzer_cache_of_the_run_before(runs):
    store = runs["store"]

    def transform_io(run_index):
        execution = metadata.run_executions(store, PIPELINE, runs["run_ids"][run_index])["Transform"]
        events = store.get_events_by_execution_ids([execution.id])
        by_key = {}
        for e in events:
            by_key.setdefault((e.type, e.path.steps[0].key), set()).add(e.artifact_id)
        return by_key

    INPUT, OUTPUT = metadata_store_pb2.Event.INPUT, metadata_store_pb2.Event.OUTPUT
    first, forced, new_span = transform_io(0), transform_io(1), transform_io(2)
    # The first run had nothing to read and wrote its cache (spans 2 and 3).
    assert (INPUT, "analyzer_cache") not in first
    written = first[(OUTPUT, "updated_analyzer_cache")]
    # The unchanged re-run resolved the same (no) cache, so Transform stayed cached.
    assert (INPUT, "analyzer_cache") not in forced
    # Span 4's window (3, 4) shares span 3 with the first run's: its cache is read.
    assert new_span[(INPUT, "analyzer_cache")] == written
    shared = first[(INPUT, "examples")] & new_span[(INPUT, "examples")]
    assert len(shared) == 1


def test_cli_prints_progress_and_an_actionable_summary(runs):
    out = runs["procs"][0].stdout
    assert "Transform" in out and " s\n" in out
    for label in ["span            3", "metrics         AUC", "blessed         yes",
                  "pushed          ", "lineage (MLMD)  "]:
        assert label in out, label
    # Framework logs went to the log file, not the terminal.
    assert "WARNING:" not in out and "INFO:" not in out and "oneDNN" not in runs["procs"][0].stderr
    assert (runs["work"] / "out" / "logs" / "driftline.log").stat().st_size > 10_000


def test_unblessed_model_is_not_pushed(runs):
    out = runs["procs"][3].stdout
    assert "blessed         NO" in out and "is below the floor 0.999" in out
    assert "pushed          nothing: the serving model is unchanged" in out
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][2])
    pushed = output_artifacts(store, executions["Pusher"].id)["pushed_model"][0]
    assert custom_property(pushed, "pushed") == 0
    before, _ = runs["served"]
    assert before == [_pushed_dir(runs, 0).name]


def test_gate_blocks_a_span_outside_the_schema(runs):
    proc = runs["procs"][4]
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "the drift gate stopped span 5 before Transform and Trainer" in proc.stderr
    assert "schema anomaly in payment_type" in proc.stderr and "Bitcoin" in proc.stderr
    assert "span 3 (data of the serving model)" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing trained, nothing pushed, the serving model untouched.
    states = runs["states"][3]
    assert states["DriftGate"] == "complete"
    for node in ["Transform", "Trainer", "Evaluator", "ModelGate", "Pusher"]:
        assert node not in states, (node, states.get(node))
    before, after = runs["served"]
    assert before == after and before


def test_mlmd_records_why_the_gate_stopped(runs):
    store = runs["store"]
    gate = metadata.run_executions(store, PIPELINE, runs["run_ids"][3])["DriftGate"]
    report = output_artifacts(store, gate.id)["report"][0]
    assert custom_property(report, "passed") == 0
    assert "payment_type" in custom_property(report, "anomalies")
    assert custom_property(report, "baseline_kind") == "blessed"
    assert custom_property(report, "current_span") == 5
    assert custom_property(report, "baseline_span") == 3
    assert custom_property(report, "threshold.payment_type") == pytest.approx(0.1)
    assert 0.0 <= custom_property(report, "distance.payment_type") <= 1.0
    # Linked to both statistics artifacts it compared.
    inputs = [e for e in store.get_events_by_execution_ids([gate.id])
              if e.type == e.INPUT]
    stats_type = store.get_artifact_type("ExampleStatistics").id
    linked = [a for a in store.get_artifacts_by_id([e.artifact_id for e in inputs])
              if a.type_id == stats_type]
    ids = {a.id for a in linked}
    assert {custom_property(report, "current_statistics_id"),
            custom_property(report, "baseline_statistics_id")} <= ids
    assert Path(custom_property(report, "report_html")).is_file()


def test_schema_update_accepts_what_the_blocked_run_reported(runs, driftline):
    import tensorflow_data_validation as tfdv

    from components.drift_gate.comparison import compare, load_statistics
    from driftline.schema.check import load_schema
    from pipeline.config import PROJECT_ROOT

    work, run_id, store = runs["work"], runs["run_ids"][3], runs["store"]
    curated = (PROJECT_ROOT / "schemas" / "schema.pbtxt").read_text()
    schema = work / "schema-copy.pbtxt"
    schema.write_text(curated)
    args = ("schema", "update", "--from-run", run_id, schema, "--config", work / "blocking.toml")
    dry = driftline(*args, cwd=work)
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "anomaly  payment_type" in dry.stdout and "+ domain values: 'Bitcoin'" in dry.stdout
    assert "nothing written: add --write" in dry.stdout
    assert schema.read_text() == curated

    wrote = driftline(*args, "--write", cwd=work)
    assert wrote.returncode == 0, wrote.stdout + wrote.stderr
    text = schema.read_text()
    assert text != curated
    comments = [line for line in curated.splitlines() if line.lstrip().startswith("#")]
    assert comments == [line for line in text.splitlines() if line.lstrip().startswith("#")]

    # Re-validating the run's statistics against the updated schema: no anomaly, no drift.
    updated = load_schema(schema)
    executions = metadata.run_executions(store, PIPELINE, run_id)
    statistics = output_artifacts(store, executions["StatisticsGen"].id)["statistics"][0]
    current = load_statistics(statistics.uri)
    for split in current:
        assert dict(tfdv.validate_statistics(split, updated, environment="TRAINING").anomaly_info) == {}
    report = output_artifacts(store, executions["DriftGate"].id)["report"][0]
    baseline_id = custom_property(report, "baseline_statistics_id")
    baseline = load_statistics(store.get_artifacts_by_id([baseline_id])[0].uri)
    assert not compare(current, baseline, load_schema(PROJECT_ROOT / "schemas" / "schema.pbtxt")).passed
    assert compare(current, baseline, updated).passed

"""The whole pipeline, for real, through the `driftline` CLI, against one MLMD store.

Four runs on a one-in-five sample of the taxi rows, with a training window of two spans:
1. span 3 cold: every node executes once, the model is blessed and pushed;
2. span 3 again: nothing but the resolvers execute, everything else is cached;
3. span 4, with a quality bar no model meets: the nodes that depend on the new span
   execute again, the model is not blessed and nothing is pushed;
4. span 5, whose payment_type holds a value outside the schema's domain, with the gate
   set to block: the run stops before Transform, nothing is trained or pushed, and the
   baseline is the data of the serving model (span 3, from run 1).
Runs 1-3 set the gate to warn: on a 166-row span, sampling noise alone can move an
hour's share past its threshold, and drift is not what those runs are about.
"""
import csv
import shutil
from pathlib import Path

import ml_metadata as mlmd
import numpy as np
import pytest
import tensorflow as tf

from components import features as F
from pipeline import metadata

PIPELINE = "driftline"
RESOLVERS = {"baseline_model_resolver", "blessed_statistics_resolver"}


@pytest.fixture(scope="module")
def runs(small_spans, tmp_path_factory, driftline):
    work = tmp_path_factory.mktemp("e2e")
    data_root = work / "taxi"
    shutil.copytree(small_spans, data_root)
    bad = (data_root / "span-4" / "data.csv").read_text().replace(",Cash,", ",Bitcoin,")
    (data_root / "span-5").mkdir()
    (data_root / "span-5" / "data.csv").write_text(bad)
    settings = (
        f'data_root = "{data_root}"\noutput_dir = "out"\nwindow = 2\n'
        # Quality bars are not what this test is about: bless any model.
        "[evaluation]\nmin_auc = 0.0\nmin_f1 = 0.0\nmax_auc_drop = 1.0\n"
    )
    config = work / "driftline.toml"
    config.write_text(settings + '[drift]\ngate = "warn"\n')
    strict = work / "strict.toml"
    strict.write_text(settings.replace("min_auc = 0.0", "min_auc = 0.999") + '[drift]\ngate = "warn"\n')
    blocking = work / "blocking.toml"
    blocking.write_text(settings + '[drift]\ngate = "block"\n')
    results = []
    for span, cfg in ((3, config), (3, config), (4, strict)):
        proc = driftline("run", "--fast", "--config", cfg, "--span", span, cwd=work)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results.append(proc)
    serving = work / "out" / "serving" / "taxi_big_tipper"
    served_before = sorted(p.name for p in serving.iterdir())
    results.append(driftline("run", "--fast", "--config", blocking, "--span", 5, cwd=work))
    served_after = sorted(p.name for p in serving.iterdir())
    store = mlmd.MetadataStore(metadata.sqlite_config(work / "out" / "metadata.sqlite", readonly=True))
    run_ids = [c.name for c in sorted(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.id)]
    assert len(run_ids) == 4
    states = [
        {node: metadata.STATE_NAMES[e.last_known_state]
         for node, e in metadata.run_executions(store, PIPELINE, run_id).items()}
        for run_id in run_ids
    ]
    return {"work": work, "store": store, "run_ids": run_ids, "states": states, "procs": results,
            "served": (served_before, served_after)}


EXPECTED_NODES = {
    "CsvExampleGen_span2", "CsvExampleGen_span3", "StatisticsGen", "StatisticsGen_previous",
    "SchemaGen", "ImportSchemaGen", "ExampleValidator", "blessed_statistics_resolver",
    "DriftGate", "Transform", "Trainer", "baseline_model_resolver", "Evaluator", "Pusher",
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
        for key, artifacts in metadata.output_artifacts(store, execution.id).items():
            keys.add(f"{node}.{key}")
            for artifact in artifacts:
                assert Path(artifact.uri).exists(), f"{node}.{key}: {artifact.uri} missing"
    for expected in ["StatisticsGen.statistics", "Transform.transform_graph", "Trainer.model",
                     "Evaluator.evaluation", "Evaluator.blessing", "Pusher.pushed_model",
                     "ExampleValidator.anomalies", "ImportSchemaGen.schema"]:
        assert expected in keys


def _pushed_dir(runs, run_index):
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][run_index])
    pushed = metadata.output_artifacts(store, executions["Pusher"].id)["pushed_model"][0]
    assert metadata.custom_property(pushed, "pushed") == 1
    return Path(metadata.custom_property(pushed, "pushed_destination"))


def _raw_examples(data_root, span, n):
    """Serving requests: raw tf.Examples of model inputs only, no tips and no label."""
    serving = set(F.serving_inputs())
    examples = []
    with open(Path(data_root) / f"span-{span}" / "data.csv") as f:
        for row in list(csv.DictReader(f))[:n]:
            feature = {}
            for key, text in row.items():
                if key not in serving or text == "":
                    continue
                if key in F.VOCAB_FEATURES:
                    value = tf.train.Feature(bytes_list=tf.train.BytesList(value=[text.encode()]))
                elif key in F.DENSE_FLOAT and key != "trip_seconds" or key in F.BUCKET_FEATURES:
                    value = tf.train.Feature(float_list=tf.train.FloatList(value=[float(text)]))
                else:
                    value = tf.train.Feature(int64_list=tf.train.Int64List(value=[int(text)]))
                feature[key] = value
            examples.append(tf.train.Example(features=tf.train.Features(feature=feature)))
    return examples


def test_pushed_model_scores_raw_serving_examples(runs, small_spans):
    pushed = _pushed_dir(runs, 0)
    assert pushed.parent == runs["work"] / "out" / "serving" / "taxi_big_tipper"
    model = tf.saved_model.load(str(pushed))
    serve = model.signatures["serving_default"]
    examples = _raw_examples(small_spans, 3, 25)
    assert all(F.OUTCOME_KEY not in e.features.feature for e in examples)
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
    states = runs["states"][2]
    for node in ["CsvExampleGen_span4", "StatisticsGen", "StatisticsGen_previous",
                 "ExampleValidator", "DriftGate", "Transform", "Trainer", "Evaluator"]:
        assert states[node] == "complete", (node, states[node])
    # Span 3 is still in the two-span window and was ingested by the earlier runs.
    assert states["CsvExampleGen_span3"] == "cached"
    assert "CsvExampleGen_span2" not in states
    assert states["ImportSchemaGen"] == "cached"


def test_cli_prints_progress_and_an_actionable_summary(runs):
    out = runs["procs"][0].stdout
    assert "Transform" in out and " s\n" in out
    for label in ["span            3", "metrics         auc", "blessed         yes",
                  "pushed          ", "lineage (MLMD)  "]:
        assert label in out, label
    # Framework logs went to the log file, not the terminal.
    assert "WARNING:" not in out and "INFO:" not in out and "oneDNN" not in runs["procs"][0].stderr
    assert (runs["work"] / "out" / "logs" / "driftline.log").stat().st_size > 10_000


def test_unblessed_model_is_not_pushed(runs):
    out = runs["procs"][2].stdout
    assert "blessed         NO" in out and "auc:" in out and "lower bound 0.999" in out
    assert "pushed          nothing: the serving model is unchanged" in out
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][2])
    pushed = metadata.output_artifacts(store, executions["Pusher"].id)["pushed_model"][0]
    assert metadata.custom_property(pushed, "pushed") == 0
    before, _ = runs["served"]
    assert before == [_pushed_dir(runs, 0).name]


def test_gate_blocks_a_span_outside_the_schema(runs):
    proc = runs["procs"][3]
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "the drift gate stopped span 5 before Transform and Trainer" in proc.stderr
    assert "schema anomaly in payment_type" in proc.stderr and "Bitcoin" in proc.stderr
    assert "span 3 (data of the serving model)" in proc.stderr
    assert "Traceback" not in proc.stderr
    # Nothing trained, nothing pushed, the serving model untouched.
    states = runs["states"][3]
    assert states["DriftGate"] == "complete"
    for node in ["Transform", "Trainer", "Evaluator", "Pusher"]:
        assert node not in states, (node, states.get(node))
    before, after = runs["served"]
    assert before == after and before


def test_mlmd_records_why_the_gate_stopped(runs):
    store = runs["store"]
    gate = metadata.run_executions(store, PIPELINE, runs["run_ids"][3])["DriftGate"]
    report = metadata.output_artifacts(store, gate.id)["report"][0]
    assert metadata.custom_property(report, "passed") == 0
    assert "payment_type" in metadata.custom_property(report, "anomalies")
    assert metadata.custom_property(report, "baseline_kind") == "blessed"
    assert metadata.custom_property(report, "current_span") == 5
    assert metadata.custom_property(report, "baseline_span") == 3
    assert metadata.custom_property(report, "threshold.payment_type") == pytest.approx(0.1)
    assert 0.0 <= metadata.custom_property(report, "distance.payment_type") <= 1.0
    # Linked to both statistics artifacts it compared.
    inputs = [e for e in store.get_events_by_execution_ids([gate.id])
              if e.type == e.INPUT]
    stats_type = store.get_artifact_type("ExampleStatistics").id
    linked = [a for a in store.get_artifacts_by_id([e.artifact_id for e in inputs])
              if a.type_id == stats_type]
    ids = {a.id for a in linked}
    assert {metadata.custom_property(report, "current_statistics_id"),
            metadata.custom_property(report, "baseline_statistics_id")} <= ids
    assert Path(metadata.custom_property(report, "report_html")).is_file()

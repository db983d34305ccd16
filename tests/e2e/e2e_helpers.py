"""Shared by the e2e modules: reading the runs' results back from MLMD."""
from pathlib import Path

from driftline.mlmd.store import custom_property, output_artifacts
from pipeline import metadata

PIPELINE = "driftline"


def pushed_dir(runs, run_index):
    return pushed_by(runs["store"], runs["run_ids"][run_index])


def judged_records(store, run_id, split: str = "eval") -> list:
    """The serialized records of one split of every Examples artifact the run's ModelGate
    read (the spans of its training window), in the order the store lists them."""
    import tensorflow as tf

    from pipeline import nodes

    executions = metadata.run_executions(store, PIPELINE, run_id)
    events = store.get_events_by_execution_ids([executions[nodes.MODEL_GATE].id])
    ids = [e.artifact_id for e in events if e.path.steps and e.path.steps[0].key == "examples"]
    serialized = []
    for artifact in store.get_artifacts_by_id(ids):
        files = tf.io.gfile.glob(f"{artifact.uri}/Split-{split}/*")
        serialized += [r.numpy() for r in tf.data.TFRecordDataset(files, compression_type="GZIP")]
    return serialized


def recorded_threshold(store, version) -> float:
    """The operating threshold MLMD holds for the model pushed as `version`."""
    from components.model import operating_point
    from driftline.monitoring.baseline import trained

    found = trained(store, PIPELINE, str(version))
    assert found is not None, f"MLMD knows no model pushed as version {version}"
    assert operating_point.PROPERTY in found.model.custom_properties, "the Trainer recorded no threshold"
    return operating_point.of_artifact(found.model)


def pushed_by(store, run_id) -> Path:
    """The version directory a run's Pusher pushed (the run must have pushed one)."""
    executions = metadata.run_executions(store, PIPELINE, run_id)
    pushed = output_artifacts(store, executions["Pusher"].id)["pushed_model"][0]
    assert custom_property(pushed, "pushed") == 1, f"run {run_id} pushed nothing"
    return Path(custom_property(pushed, "pushed_destination"))




# The company whose card rides the `flipped` challenger learns with their labels turned
# over: the largest in the small spans, so its evaluation slice can show a drop beyond
# noise. Card rides, because only they have big tippers: turning cash rides' labels
# teaches "this company always tips big", which F1 on a mostly-positive slice rewards.
FLIPPED_COMPANY = "Taxi Affiliation Services"
FLIPPED_ROWS = {"company": FLIPPED_COMPANY, "payment_type": "Credit Card"}


def _span_rows(csv_path, eval_percent: int):
    """(rows, write) of a span's CSV: its rows as dicts, and write(rows), which writes them
    back (or, given None, leaves the file as it is) and returns each row's split as
    ExampleGen cuts it (0 train, 1 eval): it splits by a hash of each row's bytes, so a
    rewritten row can move."""
    import csv
    import io

    from tfx.components.example_gen.base_example_gen_executor import _PartitionFn
    from tfx.proto import example_gen_pb2

    from components.example_gen.csv_reader import read_span
    from components.example_gen.executor import encode

    split_config = example_gen_pb2.SplitConfig(splits=[
        example_gen_pb2.SplitConfig.Split(name="train", hash_buckets=100 - eval_percent),
        example_gen_pb2.SplitConfig.Split(name="eval", hash_buckets=eval_percent)])
    boundaries = [100 - eval_percent, 100]
    text = csv_path.read_text()
    header = text.splitlines()[0].split(",")

    def write(chosen):
        if chosen is not None:
            out = io.StringIO()
            writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
            writer.writeheader()
            writer.writerows(chosen)
            csv_path.write_text(out.getvalue())
        return [_PartitionFn(e, 2, boundaries, split_config) for e in encode(read_span([str(csv_path)]))]

    return list(csv.DictReader(io.StringIO(text))), write


def flip_labels_in_training_rows(csv_path, where: dict, eval_percent: int = 20) -> int:
    """Rewrites a span's CSV so that the rows matching `where` (column -> value) have their label
    turned over (a big tip becomes none, no big tip becomes a 50% tip), but only in rows
    that stay in the train split before and after the change, so the evaluation split
    keeps exactly the same rows and a model trained on it can be judged on clean labels.
    Returns the number of rows flipped."""
    rows, write = _span_rows(csv_path, eval_percent)
    flipped = []
    for row in rows:
        row = dict(row)
        if all(row[k] == v for k, v in where.items()) and row["fare"]:
            fare, tips = float(row["fare"]), float(row["tips"] or 0)
            row["tips"] = "0.0" if tips > 0.2 * fare else f"{0.5 * fare + 0.01:.2f}"
        flipped.append(row)
    before = write(None)
    after = write(flipped)
    chosen = [f if (b == 0 and a == 0) else o for o, f, b, a in zip(rows, flipped, before, after)]
    write(chosen)
    return sum(1 for o, c in zip(rows, chosen) if o != c)


def _tips_variants(label: bool, fare: float):
    """Tip values that give `label` under the rule (more than 20% of the fare), each a
    different text, so that a row can be rewritten until its hash keeps it in its split."""
    if label:
        return [f"{0.5 * fare + 0.01 * k:.2f}" for k in range(1, 40)]
    return ["0.0", "0", "0.00", "0.000"] + [f"{0.001 * k:.3f}" for k in range(1, 36)]


def shuffle_labels_in_training_rows(csv_path, seed: int, eval_percent: int = 20) -> int:
    """Rewrites a span's CSV so that the card rides of its train split carry each other's
    labels, permuted at random: the same rows, the label no longer about them. A row's
    new tip is chosen among values that give its new label until ExampleGen's hash keeps
    it in the train split, so every card ride trained on is shuffled and the evaluation
    split keeps exactly its rows and their true labels. Returns the rows whose label moved."""
    import random

    def label(row):
        return float(row["tips"] or 0) > 0.2 * float(row["fare"])

    rows, write = _span_rows(csv_path, eval_percent)
    before = write(None)
    chosen = [i for i, (row, split) in enumerate(zip(rows, before))
              if split == 0 and row["payment_type"] == "Credit Card" and row["fare"] and float(row["fare"]) > 0]
    labels = [label(rows[i]) for i in chosen]
    random.Random(seed).shuffle(labels)
    current = [dict(r) for r in rows]
    pending = {i: (new, iter(_tips_variants(new, float(rows[i]["fare"])))) for i, new in zip(chosen, labels)}
    while pending:
        for i, (_, variants) in pending.items():
            current[i]["tips"] = next(variants)
        after = write(current)
        pending = {i: v for i, v in pending.items() if after[i] != 0}
    return sum(1 for i, new in zip(chosen, labels) if new != label(rows[i]))


def input_types() -> dict:
    """Each model input of the default config's task -> "bytes", "float" or "int", by its
    schema type: what a request carries, typed as the server expects it."""
    from tensorflow_metadata.proto.v0 import schema_pb2

    from driftline.schema.check import load_schema
    from pipeline.config import load_config
    from pipeline.inputs import resolve_task

    config = load_config()
    types = {f.name: f.type for f in load_schema(config.schema_file).feature}
    names = {schema_pb2.BYTES: "bytes", schema_pb2.FLOAT: "float", schema_pb2.INT: "int"}
    return {name: names[types[name]] for name in resolve_task(config).model_inputs()}


def typed_inputs(row: dict) -> dict:
    """A CSV row's model inputs as JSON values of their schema type (empty cells left out)."""
    types = input_types()
    cast = {"bytes": str, "float": float, "int": int}
    return {k: cast[types[k]](v) for k, v in row.items() if v != "" and k in types}


def raw_example(row: dict):
    """A CSV row's model inputs as a raw tf.Example, what serving_default parses."""
    import tensorflow as tf

    feature = {}
    for key, value in typed_inputs(row).items():
        if isinstance(value, str):
            feature[key] = tf.train.Feature(bytes_list=tf.train.BytesList(value=[value.encode()]))
        elif isinstance(value, float):
            feature[key] = tf.train.Feature(float_list=tf.train.FloatList(value=[value]))
        else:
            feature[key] = tf.train.Feature(int64_list=tf.train.Int64List(value=[value]))
    return tf.train.Example(features=tf.train.Features(feature=feature))

"""Shared by the e2e modules: reading the runs' results back from MLMD."""
from pathlib import Path

from driftline.mlmd.store import custom_property, output_artifacts
from pipeline import metadata

PIPELINE = "driftline"


def pushed_dir(runs, run_index):
    return pushed_by(runs["store"], runs["run_ids"][run_index])


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


def flip_labels_in_training_rows(csv_path, where: dict, eval_percent: int = 20) -> int:
    """Rewrites a span's CSV so that the rows matching `where` (column -> value) have their label
    turned over (a big tip becomes none, no big tip becomes a 50% tip), but only in rows
    that stay in the train split before and after the change: ExampleGen splits by a
    hash of each row's bytes, so the evaluation split keeps exactly the same rows and a
    model trained on it can be judged on clean labels. Returns the number of rows flipped."""
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

    def splits(path):
        return [_PartitionFn(e, 2, boundaries, split_config) for e in encode(read_span([str(path)]))]

    text = csv_path.read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    header = text.splitlines()[0].split(",")
    flipped = []
    for row in rows:
        row = dict(row)
        if all(row[k] == v for k, v in where.items()) and row["fare"]:
            fare, tips = float(row["fare"]), float(row["tips"] or 0)
            row["tips"] = "0.0" if tips > 0.2 * fare else f"{0.5 * fare + 0.01:.2f}"
        flipped.append(row)

    def write(path, chosen):
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(chosen)
        path.write_text(out.getvalue())

    before = splits(csv_path)
    write(csv_path, flipped)
    after = splits(csv_path)
    chosen = [f if (b == 0 and a == 0) else o for o, f, b, a in zip(rows, flipped, before, after)]
    write(csv_path, chosen)
    return sum(1 for o, c in zip(rows, chosen) if o != c)

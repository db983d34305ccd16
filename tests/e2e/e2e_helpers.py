"""Shared by the e2e modules: reading the runs' results back from MLMD."""
from pathlib import Path

from driftline.mlmd.store import custom_property, output_artifacts
from pipeline import metadata

PIPELINE = "driftline"


def pushed_dir(runs, run_index):
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][run_index])
    pushed = output_artifacts(store, executions["Pusher"].id)["pushed_model"][0]
    assert custom_property(pushed, "pushed") == 1
    return Path(custom_property(pushed, "pushed_destination"))



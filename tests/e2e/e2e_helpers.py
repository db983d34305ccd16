"""Shared by the e2e modules: reading the runs' results back from MLMD."""
from pathlib import Path

from pipeline import metadata

PIPELINE = "driftline"


def pushed_dir(runs, run_index):
    store = runs["store"]
    executions = metadata.run_executions(store, PIPELINE, runs["run_ids"][run_index])
    pushed = metadata.output_artifacts(store, executions["Pusher"].id)["pushed_model"][0]
    assert metadata.custom_property(pushed, "pushed") == 1
    return Path(metadata.custom_property(pushed, "pushed_destination"))



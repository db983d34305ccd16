"""`driftline run` with nothing changed: the newest run's summary, no TensorFlow, no run.

Reads the e2e session's real store; the checks that edit inputs work on a copy."""
import shutil

import ml_metadata as mlmd

from driftline.mlmd.store import output_artifacts
from driftline.run import up_to_date
from pipeline import metadata
from driftline.config import load_config
from pipeline.inputs import gather


def test_unchanged_second_run_starts_nothing_and_reprints_the_summary(runs):
    cold, again = runs["procs"][0], runs["procs"][1]
    assert again.returncode == 0, again.stdout + again.stderr
    assert "span 3 is up to date" in again.stdout
    assert f"are those of run {runs['run_ids'][0]}" in again.stdout
    # The summary is the cold run's, word for word, then what is on disk now.
    summary = cold.stdout[cold.stdout.index("\nRun "):]
    pushed = next(line for line in summary.splitlines() if line.startswith("  pushed "))
    assert again.stdout.endswith(summary + f"  serving now     {pushed.split()[-1]} "
                                           "(the newest version on disk: a server loading it pins it)\n")
    # No component line and no pipeline_run of its own (the fixture counts four runs).
    assert "CsvExampleGen_span3" not in again.stdout
    assert len(runs["run_ids"]) == 4


def _load(work, **overrides):
    return load_config(work / "driftline.toml", overrides={
        "span": 4, "output_dir": work / "out", "data_root": work / "taxi", **overrides})


def _copy(runs, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(runs["work"], work)
    config = _load(work)
    return work, config


def _newest_gets(config, fp):
    # The newest run in the session's store is the blocked one, which records no
    # fingerprint; give it one to stand for a finished run on these inputs.
    store = mlmd.MetadataStore(metadata.sqlite_config(config.metadata_path))
    newest = metadata.pipeline_runs(store)[-1]
    up_to_date.remember(config, newest.name, fp, "the summary\n")
    return newest.name


def test_a_match_needs_the_newest_run_and_all_its_outputs(runs, tmp_path):
    work, config = _copy(runs, tmp_path)
    fp = up_to_date.fingerprint(config, gather(config))
    newest = _newest_gets(config, fp)
    assert up_to_date.last_result(config, fp) == (newest, "the summary\n")
    assert up_to_date.last_result(config, "0" * 64) is None

    # An output of that run gone from disk: the run is no longer the answer.
    store = mlmd.MetadataStore(metadata.sqlite_config(config.metadata_path, readonly=True))
    executions = metadata.run_executions(store, config.pipeline_name, newest)
    stats = output_artifacts(store, executions["StatisticsGen"].id)["statistics"][0]
    shutil.rmtree(stats.uri)
    assert up_to_date.last_result(config, fp) is None


def test_each_input_changes_the_fingerprint(runs, tmp_path):
    work, config = _copy(runs, tmp_path)
    base = up_to_date.fingerprint(config, gather(config))
    assert up_to_date.fingerprint(config, gather(config)) == base

    data = work / "taxi" / "span-3" / "data.csv"
    original = data.read_bytes()
    data.write_bytes(original.replace(b",Cash,", b",Cash ,", 1))
    assert up_to_date.fingerprint(config, gather(config)) != base
    data.write_bytes(original)

    schema = tmp_path / "schema.pbtxt"
    schema.write_bytes(config.schema_file.read_bytes() + b"\n# a comment\n")
    edited = _load(work, schema_file=schema)
    # A new path and new bytes; the bytes alone must count too.
    moved = tmp_path / "same.pbtxt"
    moved.write_bytes(config.schema_file.read_bytes())
    same = _load(work, schema_file=moved)
    assert up_to_date.fingerprint(edited, gather(edited)) != up_to_date.fingerprint(same, gather(same))

    config.training.learning_rate *= 2
    assert up_to_date.fingerprint(config, gather(config)) != base
    config.training.learning_rate /= 2
    assert up_to_date.fingerprint(config, gather(config)) == base

    # A span outside the window (spans 3-4) and the baseline (3) is not an input.
    outside = work / "taxi" / "span-1" / "data.csv"
    outside.write_bytes(outside.read_bytes() + outside.read_bytes().splitlines(True)[1])
    assert up_to_date.fingerprint(config, gather(config)) == base

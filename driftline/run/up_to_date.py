"""Is the last run still the answer? Decided before TensorFlow is imported.

A re-run with nothing changed executes no component (TFX's cache), but it still pays
for importing TensorFlow, TFX, TFDV and TFMA, many times what the whole decision takes.
So, like make, `driftline run` first compares a fingerprint of everything a run's
outcome depends on with the one the newest run in the MLMD store recorded, and reprints
that run's summary when they match:

- the span, window and previous span's CSV files (sha256 of their bytes);
- the curated schema's bytes;
- the code: every .py file of the `components` and `pipeline` packages;
- the configuration, every field, and the locked dependency set and Python version.

The newest run must be the match: any run after it may have changed what the
resolvers would pick (the blessed model, the drift baseline). And every artifact that
run produced or reused must still exist on disk. `driftline run --force` skips the
check; TFX's own cache then decides node by node.
"""
import dataclasses
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Optional

from driftline.mlmd.store import custom_property, open_existing_sqlite, open_store, output_artifacts
from pipeline import metadata
from pipeline.config import PROJECT_ROOT, Config
from pipeline.inputs import PipelineInputs

FINGERPRINT = "input_fingerprint"
SUMMARY = "summary_text"
CODE_PACKAGES = ["components", "pipeline"]


def pipeline_settings(config: Config) -> str:
    """The pipeline's settings as canonical JSON: a serving port or an alarm threshold of
    the application's sections changes no model, so it does not count."""
    own = {f.name: getattr(config, f.name) for f in dataclasses.fields(Config)}
    return json.dumps(dataclasses.asdict(dataclasses.replace(Config(), **own)), sort_keys=True, default=str)


def fingerprint(config: Config, inputs: PipelineInputs) -> str:
    digest = hashlib.sha256()

    def add(label: str, data: bytes):
        digest.update(f"{label}\0{len(data)}\0".encode())
        digest.update(data)

    add("config", pipeline_settings(config).encode())
    add("python", sys.version.encode())
    lock = PROJECT_ROOT / "requirements.lock"
    add("lock", lock.read_bytes() if lock.exists() else b"")
    add("schema", Path(config.schema_file).read_bytes())
    for package in CODE_PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            add(str(path.relative_to(PROJECT_ROOT)), path.read_bytes())
    for span in inputs.spans_read:
        add(f"span-{span}", json.dumps(inputs.source_sha256.get(span, {}), sort_keys=True).encode())
    return digest.hexdigest()


def _outputs_exist(store, config: Config, run_id: str) -> bool:
    for execution in metadata.run_executions(store, config.pipeline_name, run_id).values():
        for artifacts in output_artifacts(store, execution.id).values():
            for artifact in artifacts:
                if artifact.uri and not os.path.exists(artifact.uri):
                    return False
                pushed = custom_property(artifact, "pushed_destination")
                if pushed and not os.path.exists(pushed):
                    return False
    return True


def last_result(config: Config, fp: str) -> Optional[tuple]:
    """(run id, summary text) of the newest run when it ran on exactly these inputs and
    its outputs are all still there; None otherwise, or when there is no store yet."""
    if not config.metadata.mysql_host and not config.metadata_path.exists():
        return None
    try:
        # On a shared MySQL store the newest run may be another output directory's: then
        # the resolvers may pick differently, and this one is not up to date either.
        store = open_store(config) if config.metadata.mysql_host else open_existing_sqlite(config.metadata_path)
        runs = metadata.pipeline_runs(store)
    except Exception:  # noqa: BLE001 - an unreadable store is for the real run to report
        return None
    if not runs:
        return None
    newest = runs[-1]
    props = newest.custom_properties
    if FINGERPRINT not in props or props[FINGERPRINT].string_value != fp or SUMMARY not in props:
        return None
    if not _outputs_exist(store, config, newest.name):
        return None
    return newest.name, props[SUMMARY].string_value


def remember(config: Config, run_id: str, fp: str, summary_text: str):
    """Records the fingerprint and the printed summary on the run's context."""
    import ml_metadata as mlmd

    store = mlmd.MetadataStore(metadata.connection_config(config))
    context = store.get_context_by_type_and_name(metadata.RUN_CONTEXT, run_id)
    if context is None:
        return
    context.custom_properties[FINGERPRINT].string_value = fp
    context.custom_properties[SUMMARY].string_value = summary_text
    store.put_contexts([context])

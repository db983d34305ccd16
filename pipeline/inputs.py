"""What is decided before the graph is built: the span window, the bytes it will read,
the schema it validates with and the code it runs.

create_pipeline() takes these as given and does no I/O; every runner gathers them the
same way. On this machine the files are listed and hashed; for a cluster, whose bucket
is not listed from here, the window is numbered from the configured span and no file is
hashed.
"""
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from components.model.task import Task
from pipeline.config import PROJECT_ROOT, Config
from pipeline.spans import previous_span, resolve_span, training_window

# Where the Dockerfile puts schema snapshots inside the image.
IMAGE_SCHEMA_DIR = "/driftline/schema-snapshots"
# The code each fingerprinted executor runs. TFX's cache key sees exec properties, not
# code, so the Transform/Trainer and DriftGate executors get a content hash of theirs:
# editing a feature re-runs Transform and Trainer, editing the drift code re-runs the gate.
MODEL_CODE = "components/model"
DRIFT_CODE = "components/drift_gate"
GATE_CODE = "components/model_gate"


@dataclass(frozen=True)
class PipelineInputs:
    span: int
    window: List[int]
    previous_span: Optional[int]
    # span -> {file name: sha256} of its CSV files ({} on a cluster).
    source_sha256: Dict[int, Dict[str, str]] = field(default_factory=dict)
    # The curated schema as the ImportSchemaGen executor will read it.
    schema_uri: str = ""
    model_code_fingerprint: str = ""
    drift_code_fingerprint: str = ""
    gate_code_fingerprint: str = ""
    # The config's task against the curated schema: label, where it is known, inputs.
    task: Optional[Task] = None

    @property
    def spans_read(self) -> List[int]:
        """Every span whose data the run reads: the window and the drift baseline span."""
        extra = [] if self.previous_span is None else [self.previous_span]
        return sorted(set(self.window + extra))


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def code_fingerprint(package: str) -> str:
    """sha256 over every .py file of a package directory (paths and bytes)."""
    digest = hashlib.sha256()
    for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
        digest.update(str(path.relative_to(PROJECT_ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def source_files(config: Config, span: int) -> Dict[str, str]:
    """{file name: sha256} of a span's CSV files, or {} when the data is not on this
    machine (a bucket, when compiling for a cluster)."""
    if config.on_cluster:
        return {}
    span_dir = Path(config.data_root) / f"span-{span}"
    if not span_dir.is_dir():
        return {}
    return {p.name: sha256_of(p) for p in sorted(span_dir.glob("*.csv"))}


def schema_digest(schema_file: Path) -> str:
    return hashlib.sha256(Path(schema_file).read_bytes()).hexdigest()[:16]


def image_schema_path(schema_file: Path) -> str:
    return f"{IMAGE_SCHEMA_DIR}/{schema_digest(schema_file)}/schema.pbtxt"


def local_schema_path(config: Config) -> Path:
    """The content-addressed copy of the curated schema a local run imports.

    ImportSchemaGen's cache key is the file's path, not its content: importing from a
    content-addressed copy makes an edited schema re-import (and re-validate), and the
    path recorded in MLMD names exactly the contract a run used.
    """
    name = Path(config.schema_file).name
    return config.output_dir / "schemas" / schema_digest(config.schema_file) / name


def gather(config: Config, with_task: bool = True) -> PipelineInputs:
    span = resolve_span(config)
    window = training_window(config, span)
    before = previous_span(config, span)
    spans = sorted(set(window + ([] if before is None else [before])))
    return PipelineInputs(
        span=span,
        window=window,
        previous_span=before,
        source_sha256={s: source_files(config, s) for s in spans},
        schema_uri=(image_schema_path(config.schema_file) if config.on_cluster
                    else str(local_schema_path(config))),
        model_code_fingerprint=code_fingerprint(MODEL_CODE),
        drift_code_fingerprint=code_fingerprint(DRIFT_CODE),
        gate_code_fingerprint=code_fingerprint(GATE_CODE),
        task=resolve_task(config) if with_task else None,
    )


def resolve_task(config: Config, schema=None) -> Task:
    """The config's task section made concrete by the curated schema (`schema`, else the
    config's schema file; components/model/task.py): raises TaskError naming the setting
    it cannot use."""
    from components.errors import TaskError
    from components.model.task import resolve
    from pipeline.config import EXAMPLE_CONFIG, TaskConfig

    try:
        return resolve(config.task, _read_schema(Path(config.schema_file)) if schema is None else schema)
    except TaskError as exc:
        if config.task != TaskConfig():
            raise
        raise TaskError(f"{exc}\n(the config declares no [task], so the embedded example's, from "
                        f"{EXAMPLE_CONFIG.relative_to(PROJECT_ROOT)}, was used: declare the task of "
                        "your data in [task]; `driftline init` writes one)") from None


def slice_features(config: Config, task: Task) -> List[str]:
    """The slices the gate judges and the summary reports: the config's, else the task's
    categorical inputs with few values."""
    return list(config.evaluation.slice_features) or list(task.slices)


def _read_schema(path: Path):
    from google.protobuf import text_format
    from tensorflow_metadata.proto.v0 import schema_pb2

    from components.errors import SchemaError

    try:
        return text_format.Parse(path.read_text(encoding="utf-8"), schema_pb2.Schema())
    except (OSError, UnicodeDecodeError, text_format.ParseError) as exc:
        raise SchemaError(f"{path}: cannot read the schema the task's inputs come from: {exc}") from None


def write_schema_snapshot(config: Config, inputs: PipelineInputs) -> None:
    """Writes the content-addressed copy that inputs.schema_uri names (once)."""
    target = Path(inputs.schema_uri)
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(Path(config.schema_file).read_bytes())
    tmp.replace(target)

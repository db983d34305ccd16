"""One typed config for every runner: defaults, then an optional TOML file, then CLI flags.

Each fact lives here once. Paths are resolved against the directory the user ran from
(or the config file's directory for paths written in the file).
"""
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import tomli

from pipeline.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@dataclass
class TrainingConfig:
    train_steps: int = 1000
    eval_steps: int = 100
    batch_size: int = 128
    learning_rate: float = 0.003
    hidden_units: list = field(default_factory=lambda: [64, 32])


@dataclass
class EvaluationConfig:
    # A model must reach these to be blessed at all (F1 because the label is skewed).
    min_auc: float = 0.7
    min_f1: float = 0.5
    # ...and must not lose more than this much AUC against the serving model.
    max_auc_drop: float = 0.01
    # Slices whose weakest metric the summary reports.
    slice_features: list = field(default_factory=lambda: ["payment_type", "trip_start_hour"])


@dataclass
class DriftConfig:
    # What the current span is compared with: "blessed" (the data the serving model was
    # trained on, falling back to the previous span) or "previous" (the previous span).
    baseline: str = "blessed"
    # "block": drift over a threshold or a schema anomaly stops the run before Transform;
    # "warn": the run goes on and the summary lists what was found.
    gate: str = "block"


@dataclass
class BeamConfig:
    # in_memory avoids a worker start-up per component on small data; multi_processing
    # uses both cores for large spans.
    direct_running_mode: str = "in_memory"
    direct_num_workers: int = 1

    def args(self) -> list:
        return [
            f"--direct_running_mode={self.direct_running_mode}",
            f"--direct_num_workers={self.direct_num_workers}",
        ]


@dataclass
class MetadataConfig:
    # Empty: the SQLite store under output_dir. Set a host to read a MySQL-backed MLMD,
    # which is what Kubeflow Pipelines runs. The password comes from the environment
    # variable named here, never from a file in the repository.
    mysql_host: str = ""
    mysql_port: int = 3306
    mysql_database: str = "metadb"
    mysql_user: str = "root"
    mysql_password_env: str = "DRIFTLINE_MYSQL_PASSWORD"


@dataclass
class KubeflowConfig:
    # What `driftline kubeflow compile` and `submit` need; every location is a URL the
    # cluster's pods can read (gs://, s3://, a MinIO endpoint), never this machine's disk.
    image: str = ""
    pipeline_root: str = ""
    data_root: str = ""
    serving_dir: str = ""
    # Beam arguments for every Beam component, e.g. ["--runner=DataflowRunner",
    # "--project=P", "--region=R", "--temp_location=gs://..."] or a Flink master.
    beam_args: list = field(default_factory=list)
    # Per node: {cpu_limit = CPUs, memory_limit = GB}, e.g. [kubeflow.resources.Trainer].
    resources: dict = field(default_factory=dict)
    output: str = "build/driftline-kubeflow.yaml"
    host: str = ""
    experiment: str = "driftline"


@dataclass
class Config:
    pipeline_name: str = "driftline"
    model_name: str = "taxi_big_tipper"
    data_root: Path = PROJECT_ROOT / "data" / "taxi"
    output_dir: Path = PROJECT_ROOT / "output"
    schema_file: Path = PROJECT_ROOT / "schemas" / "schema.pbtxt"
    # None: the latest span found under data_root.
    span: Optional[int] = None
    # Train on the last `window` spans up to `span`; None: every span up to it.
    window: Optional[int] = None
    # Percent of each span's rows (by hash) kept for evaluation.
    eval_percent: int = 20
    # How ExampleGen reads CSV: "arrow" (in process, C++ reader and encoder) or "beam"
    # (TFX's CsvExampleGen executor, for spans that need a distributed runner). Both
    # write the same bytes into the same splits.
    example_gen: str = "arrow"
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    kubeflow: KubeflowConfig = field(default_factory=KubeflowConfig)
    # "local" (LocalDagRunner on this machine) or "kubeflow" (compiled for a cluster,
    # set by `driftline kubeflow compile`): where the data, artifacts and models live.
    target: str = "local"

    @property
    def on_cluster(self) -> bool:
        return self.target == "kubeflow"

    @property
    def pipeline_root(self):
        return self.kubeflow.pipeline_root if self.on_cluster else self.output_dir / "pipeline"

    @property
    def data_uri(self) -> str:
        """Where ExampleGen reads span-N/ directories from."""
        return self.kubeflow.data_root if self.on_cluster else str(self.data_root)

    @property
    def metadata_path(self) -> Path:
        return self.output_dir / "metadata.sqlite"

    @property
    def serving_dir(self):
        if self.on_cluster:
            return f"{self.kubeflow.serving_dir.rstrip('/')}/{self.model_name}"
        return self.output_dir / "serving" / self.model_name

    @property
    def log_file(self) -> Path:
        return self.output_dir / "logs" / "driftline.log"

    def validate(self) -> "Config":
        if self.span is not None and self.span < 1:
            raise ConfigError(f"span must be 1 or more, got {self.span}")
        if self.window is not None and self.window < 1:
            raise ConfigError(f"window must be 1 or more spans, got {self.window}")
        if not 1 <= self.eval_percent <= 50:
            raise ConfigError(f"eval_percent must be within 1..50, got {self.eval_percent}")
        if self.beam.direct_running_mode not in ("in_memory", "multi_threading", "multi_processing"):
            raise ConfigError(
                "beam.direct_running_mode must be in_memory, multi_threading or "
                f"multi_processing, got {self.beam.direct_running_mode!r}"
            )
        if self.example_gen not in ("arrow", "beam"):
            raise ConfigError(f"example_gen must be arrow or beam, got {self.example_gen!r}")
        if self.drift.baseline not in ("blessed", "previous"):
            raise ConfigError(f"drift.baseline must be blessed or previous, got {self.drift.baseline!r}")
        if self.target not in ("local", "kubeflow"):
            raise ConfigError(f"target must be local or kubeflow, got {self.target!r}")
        if self.drift.gate not in ("block", "warn"):
            raise ConfigError(f"drift.gate must be block or warn, got {self.drift.gate!r}")
        t = self.training
        if t.train_steps < 1 or t.eval_steps < 1 or t.batch_size < 1:
            raise ConfigError("training.train_steps, eval_steps and batch_size must be positive")
        return self


def fast(config: Config) -> Config:
    """The small configuration the tests use: same graph, far fewer training steps."""
    config.training.train_steps = 50
    config.training.eval_steps = 10
    config.training.hidden_units = [16]
    # A 50-step model cannot be held to the full quality bar; the gate still applies.
    config.evaluation.min_auc = 0.5
    config.evaluation.min_f1 = 0.0
    return config


_SECTIONS = {
    "training": TrainingConfig,
    "evaluation": EvaluationConfig,
    "drift": DriftConfig,
    "beam": BeamConfig,
    "metadata": MetadataConfig,
    "kubeflow": KubeflowConfig,
}
_PATHS = {"data_root", "output_dir", "schema_file"}


def _apply(target, values: dict, source: str, base_dir: Path, prefix: str = ""):
    known = {f.name: f for f in dataclasses.fields(target)}
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in known:
            raise ConfigError(f"{source}: unknown setting '{name}' (known: {', '.join(sorted(known))})")
        if key in _SECTIONS and not prefix:
            if not isinstance(value, dict):
                raise ConfigError(f"{source}: '{name}' must be a [section], got {value!r}")
            _apply(getattr(target, key), value, source, base_dir, prefix=f"{key}.")
            continue
        current = getattr(target, key)
        if key in _PATHS and not prefix:
            value = (base_dir / Path(value)).resolve()
        elif isinstance(current, bool) or (current is not None and not isinstance(value, type(current))
                                            and not (isinstance(current, float) and isinstance(value, int))):
            raise ConfigError(f"{source}: '{name}' must be {type(current).__name__}, got {value!r}")
        setattr(target, key, value)


def load_config(path: Optional[Path] = None, overrides: Optional[dict] = None,
                fast_mode: bool = False) -> Config:
    """Defaults, then the TOML file at `path`, then `overrides` (from CLI flags)."""
    config = Config()
    if fast_mode:
        fast(config)
    if path is not None:
        path = Path(path)
        try:
            values = tomli.loads(path.read_text())
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomli.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from None
        _apply(config, values, str(path), path.resolve().parent)
    if overrides:
        _apply(config, {k: v for k, v in overrides.items() if v is not None}, "command line", Path.cwd())
    return config.validate()

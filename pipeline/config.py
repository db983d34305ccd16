"""One typed config for every runner: defaults, then an optional TOML file, then CLI flags.

Each setting is declared once, with its default and what a valid value is (its type,
range or choices); `load_config` checks every value against that and reports every
problem in one list, naming the file (or the command line), the setting and the value,
before anything is imported or written. Paths are resolved against the config file's
directory (or, for flags, the directory the user ran from).
"""
import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

import tomli

from pipeline.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[1]


# --- what a valid value is -------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    """What one setting accepts. kind: int, float, str, bool, "path", list or dict."""
    kind: Any
    minimum: Optional[float] = None
    maximum: Optional[float] = None
    # The minimum itself is not allowed (a learning rate must be above 0, not at it).
    above_minimum: bool = False
    choices: tuple = ()
    optional: bool = False          # None (unset) is allowed
    items: Optional["Rule"] = None  # for lists: what each item must be
    nonempty: bool = False
    pattern: str = ""               # for strings: a regular expression to match in full
    help: str = ""

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        names = {int: "a whole number", float: "a number", str: "text", bool: "true or false",
                 "path": "a path (text)", list: "a list", dict: "a [table]"}
        text = names[self.kind]
        if self.kind is list:
            text = ("a non-empty list" if self.nonempty else "a list")
            if self.items is not None:
                text += f", each item {self.items.describe()}"
        bounds = []
        if self.minimum is not None:
            bounds.append(f"{'>' if self.above_minimum else '>='} {self.minimum:g}")
        if self.maximum is not None:
            bounds.append(f"<= {self.maximum:g}")
        if bounds:
            text += " " + " and ".join(bounds)
        if self.help:
            text += f" ({self.help})"
        return text


def setting(default, kind, **rule):
    """A dataclass field whose metadata holds its Rule."""
    rule = Rule(kind, **rule)
    if isinstance(default, (list, dict)):
        value = default
        return field(default_factory=lambda: type(value)(value), metadata={"rule": rule})
    return field(default=default, metadata={"rule": rule})


def _type_problem(rule: Rule, value) -> Optional[str]:
    """Why `value` is not of the rule's type, or None."""
    if value is None:
        return None if rule.optional else "is required"
    if rule.kind is bool:
        ok = isinstance(value, bool)
    elif rule.kind is int:
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif rule.kind is float:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
    elif rule.kind == "path":
        ok = isinstance(value, (str, Path))
    else:
        ok = isinstance(value, rule.kind)
    return None if ok else "has the wrong type"


def _value_problem(rule: Rule, value) -> Optional[str]:
    """Why a value of the right type is still not valid, or None."""
    if value is None:
        return None
    if rule.choices and value not in rule.choices:
        return "is not allowed"
    if rule.kind in (int, float):
        if rule.minimum is not None and (value < rule.minimum or (rule.above_minimum and value == rule.minimum)):
            return "is too small"
        if rule.maximum is not None and value > rule.maximum:
            return "is too large"
    if rule.kind is str or rule.kind == "path":
        if rule.nonempty and not str(value).strip():
            return "is empty"
        if rule.pattern and value and not re.fullmatch(rule.pattern, str(value)):
            return "is not allowed"
    if rule.kind is list:
        if rule.nonempty and not value:
            return "is empty"
        if rule.items is not None:
            for item in value:
                if _type_problem(rule.items, item) or _value_problem(rule.items, item):
                    return f"holds {item!r}"
    return None


def _shown(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return f"'{value}'"
    return repr(value)


# --- the settings ------------------------------------------------------------------------

def _example_defaults() -> dict:
    """The embedded example's own settings (examples/taxi/driftline.toml): the defaults of
    the settings that name its columns, so that none of them is written in code."""
    try:
        return tomli.loads(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


EXAMPLE_CONFIG = PROJECT_ROOT / "examples" / "taxi" / "driftline.toml"
EXAMPLE = _example_defaults()


# (section, key) -> the value a setting has when the config declares a task of its own.
_GENERIC = {}


def _example(section: str, key: str, fallback):
    """The example's value of a setting; `fallback` for a config with a [task] of its own."""
    _GENERIC[(section, key)] = fallback
    return EXAMPLE.get(section, {}).get(key, fallback) if section else EXAMPLE.get(key, fallback)


def _own_task(config, origins: dict):
    """A config that declares its own [task] describes other data: every setting the
    example provides and the config leaves out takes its generic value (no ignore list,
    no treatments, slices derived from the task, a model named "model")."""
    if not any(name.startswith("task.") for name in origins):
        return
    for (section, key), fallback in _GENERIC.items():
        name = f"{section}.{key}" if section else key
        if name not in origins:
            target = getattr(config, section) if section else config
            setattr(target, key, type(fallback)(fallback) if isinstance(fallback, (list, dict)) else fallback)


POSITIVE_INT = dict(minimum=1)
SHARE = dict(minimum=0.0, maximum=1.0)


@dataclass
class TrainingConfig:
    # The most training may take: it stops earlier once the loss on a held-out part of
    # the train split stops falling (components/model/trainer.py).
    train_steps: int = setting(1000, int, **POSITIVE_INT)
    # The most batches of the train split read, once, for its held-out rows (one in ten,
    # by a hash of the inputs), on which early stopping watches the loss and the
    # operating threshold is chosen.
    eval_steps: int = setting(100, int, **POSITIVE_INT)
    batch_size: int = setting(128, int, minimum=1, maximum=1 << 16)
    learning_rate: float = setting(0.001, float, minimum=0.0, above_minimum=True, maximum=1.0)
    hidden_units: list = setting([64, 32], list, nonempty=True,
                                 items=Rule(int, minimum=1, maximum=4096),
                                 help="units per hidden layer, e.g. [64, 32]")
    # The L2 penalty on every layer's weights; 0 turns it off.
    l2: float = setting(0.001, float, minimum=0.0, maximum=1.0)
    # Every source of randomness in training (weights, shuffling) is seeded from this:
    # the same data, code and seed give the same model. Change it to ask for another.
    seed: int = setting(42, int, minimum=0, maximum=2**31 - 1)
    # The rows a model learns from and is judged on: "observable", the rows whose label
    # can be known (the task's known_when), or "all", every row as the label rule reads
    # it, even where the outcome was never recorded.
    population: str = setting("observable", str, choices=("observable", "all"))
    # The operating threshold (the probability from which the model answers "yes"),
    # chosen after training on the held-out tenth of the train split, never on the rows
    # the gate judges: "f1", the best F1 there; "precision" or "recall", the threshold that
    # reaches `operating_target` of it with the most of the other; "fixed", the
    # threshold `operating_target` itself. It is recorded on the model in MLMD and used
    # by the gate, `:classify` and monitoring's online F1.
    operating_point: str = setting("f1", str, choices=("f1", "precision", "recall", "fixed"))
    operating_target: Optional[float] = setting(None, float, optional=True, **SHARE)


@dataclass
class EvaluationConfig:
    # A model must be above these beyond noise (the low end of its interval) to be
    # blessed at all. A constant scores AUC 0.5, so the default asks for a ranking shown
    # better than that by a margin; F1 has no floor by default, because on skewed labels
    # always answering "yes" already scores high: beat_constant holds F1 to that instead.
    min_auc: float = setting(0.55, float, **SHARE)
    min_f1: float = setting(0.0, float, **SHARE)
    # The trivial baselines on the same rows (components/model_gate/decision.py): a
    # candidate must beat the constant predictor (the training base rate) on AUC and log
    # loss beyond noise, and may not be worse than always answering "yes" on F1. Off
    # (only the quick `--fast` mode turns it off), they are reported, not required.
    beat_constant: bool = setting(True, bool)
    # The reference learner (gradient-boosted trees on the same train rows, scored on the
    # same judged rows): what the inputs allow. It informs; it never blesses.
    reference: bool = setting(True, bool)
    # ...and must not be worse than the serving model by more than this, beyond noise:
    # a candidate is rejected only when the whole paired interval of its difference
    # lies below -max_auc_drop (components/model_gate/decision.py).
    max_auc_drop: float = setting(0.01, float, **SHARE)
    # Unset: F1 is not compared with the serving model. At the 0.5 threshold it moves
    # with calibration, which retraining with another seed alone changes; set it to
    # hold a challenger's F1 to the serving model's too.
    max_f1_drop: Optional[float] = setting(None, float, optional=True, **SHARE)
    # A regression task's candidate is rejected when its RMSE exceeds the serving model's
    # by more than this share of it, beyond noise (the whole paired interval above it).
    max_rmse_increase: float = setting(0.02, float, **SHARE)
    # The intervals' confidence level and bootstrap resamples.
    confidence: float = setting(0.95, float, minimum=0.5, maximum=0.999)
    bootstrap_samples: int = setting(1000, int, minimum=100, maximum=20000)
    # Below this many evaluation examples, the summary warns that the decision rests on
    # too little data to tell most changes from noise.
    min_eval_examples: int = setting(200, int, minimum=1)
    # Slices whose weakest metric the summary reports, and which the slice gate judges
    # (raw column names); empty: the task's categorical inputs with few values.
    slice_features: list = setting(_example("evaluation", "slice_features", []), list,
                                   items=Rule(str, nonempty=True))
    # More single-feature slices for the error-analysis page only (never judged): columns
    # with many small slices worth a look, such as an airline or a store.
    analysis_slices: list = setting(_example("evaluation", "analysis_slices", []), list,
                                    items=Rule(str, nonempty=True))
    # The ModelGate writes its evaluation in TFMA's format (a ModelEvaluation artifact that
    # `tfma.load_eval_result` reads: components/model_gate/tfma_format.py) from the rows
    # it judged. This also runs TFX's own Evaluator beside it, a Beam pass that scores the
    # rows again (for TFMA metrics the gate does not compute); driftline reads nothing
    # from it.
    tfma: bool = setting(False, bool)
    # The slice gate. Unset: off. Set: a candidate whose F1 on any slice of
    # `slice_features` with at least `min_slice_examples` rows is worse than the serving
    # model's by more than this, beyond noise (paired bootstrap on the slice's rows), is
    # not blessed. Smaller slices are reported by `driftline analyze`, never judged.
    max_slice_f1_drop: Optional[float] = setting(None, float, optional=True, **SHARE)
    min_slice_examples: int = setting(50, int, minimum=1)


@dataclass
class TaskConfig:
    """What the model learns (components/model/task.py). A config file that declares no
    [task] gets the embedded example's."""
    # "binary": a yes-or-no label, served as a probability; "regression": a number.
    kind: str = setting(_example("task", "kind", "binary"), str, choices=("binary", "regression"))
    # The label: a column, or a rule over columns (components/model/rule.py), e.g.
    # "arr_delay > 15", "status in ('churned', 'lapsed')". The columns on the left are
    # outcomes: never model inputs, never sent at serving.
    label: str = setting(_example("task", "label", ""), str, nonempty=True)
    # The name of the derived label in the transformed data, the TFMA evaluation and
    # outcome files.
    label_name: str = setting(_example("task", "label_name", "label"), str, pattern=r"[A-Za-z_][A-Za-z0-9_]*")
    # Where the label can be known at all (a rule that says yes or no); empty: everywhere.
    # Rows where it cannot weigh 0 in training and are left out of every judgement
    # (`training.population`).
    known_when: str = setting(_example("task", "known_when", ""), str)
    # Schema features that are not model inputs (identifiers, timestamps, leaks).
    ignore: list = setting(_example("task", "ignore", []), list, items=Rule(str, nonempty=True))
    # Per input, a treatment other than its schema type's default: "scale",
    # "scale+buckets[:N]", "buckets[:N]", "category" or "vocabulary[:N]".
    treat: dict = setting(_example("task", "treat", {}), dict)


@dataclass
class DriftConfig:
    # What the current span is compared with: "blessed" (the data the serving model was
    # trained on, falling back to the previous span) or "previous" (the previous span).
    baseline: str = setting("blessed", str, choices=("blessed", "previous"))
    # "block": drift over a threshold or a schema anomaly stops the run before Transform;
    # "warn": the run goes on and the summary lists what was found.
    gate: str = setting("block", str, choices=("block", "warn"))
    # Label consistency (components/drift_gate/label_consistency.py): a category with at
    # least label_min_rows rows is flagged when its label, or the label's source being 0 or
    # missing, holds for at least label_constant_share of them. Warnings, not a gate.
    label_min_rows: int = setting(100, int, minimum=1)
    label_constant_share: float = setting(0.99, float, minimum=0.5, maximum=1.0)


@dataclass
class BeamConfig:
    # in_memory avoids a worker start-up per component on small data; multi_processing
    # uses several cores for large spans.
    direct_running_mode: str = setting("in_memory", str,
                                       choices=("in_memory", "multi_threading", "multi_processing"))
    # Beam reads 0 as one worker per CPU core.
    direct_num_workers: int = setting(1, int, minimum=0, help="0: one per CPU core")

    def args(self) -> list:
        return [
            f"--direct_running_mode={self.direct_running_mode}",
            f"--direct_num_workers={self.direct_num_workers}",
            # Without a dependency flag, every Beam executor copies the installed tfx
            # package and builds an sdist of it in a subprocess (for remote workers to
            # install): seconds per node, and a temporary directory left behind each time.
            # The DirectRunner runs in this process or its own subprocesses, which have
            # everything installed, and never reads this flag.
            "--sdk_container_image=local-direct-runner-needs-no-image",
        ]


@dataclass
class MetadataConfig:
    # Empty: the SQLite store under output_dir. Set a host to use a MySQL-backed MLMD,
    # which is what Kubeflow Pipelines runs. The password comes from the environment
    # variable named here, never from a file in the repository.
    mysql_host: str = setting("", str)
    mysql_port: int = setting(3306, int, minimum=1, maximum=65535)
    mysql_database: str = setting("metadb", str, nonempty=True, pattern=r"[A-Za-z0-9_$]+")
    mysql_user: str = setting("root", str, nonempty=True)
    mysql_password_env: str = setting("DRIFTLINE_MYSQL_PASSWORD", str, nonempty=True,
                                      pattern=r"[A-Za-z_][A-Za-z0-9_]*",
                                      help="the name of an environment variable")


@dataclass
class KubeflowConfig:
    # What `driftline kubeflow compile` and `submit` need; every location is a URL the
    # cluster's pods can read (gs://, s3://, a MinIO endpoint), never this machine's disk.
    image: str = setting("", str)
    pipeline_root: str = setting("", str)
    data_root: str = setting("", str)
    serving_dir: str = setting("", str)
    # Beam arguments for every Beam component, e.g. ["--runner=DataflowRunner",
    # "--project=P", "--region=R", "--temp_location=gs://..."] or a Flink master.
    beam_args: list = setting([], list, items=Rule(str, nonempty=True))
    # Per node: {cpu_limit = CPUs, memory_limit = GB}, e.g. [kubeflow.resources.Trainer].
    resources: dict = setting({}, dict)
    output: str = setting("build/driftline-kubeflow.yaml", str, nonempty=True)
    host: str = setting("", str)
    experiment: str = setting("driftline", str, nonempty=True)


@dataclass
class Config:
    pipeline_name: str = setting("driftline", str, pattern=r"[A-Za-z0-9_.-]+")
    model_name: str = setting(_example("", "model_name", "model"), str, pattern=r"[A-Za-z0-9_.-]+")
    data_root: Path = setting(PROJECT_ROOT / "data" / "taxi", "path", nonempty=True)
    output_dir: Path = setting(PROJECT_ROOT / "output", "path", nonempty=True)
    schema_file: Path = setting(PROJECT_ROOT / "schemas" / "schema.pbtxt", "path", nonempty=True)
    # None: the latest span found under data_root.
    span: Optional[int] = setting(None, int, minimum=1, optional=True)
    # Train on the last `window` spans up to `span`; None: every span up to it.
    window: Optional[int] = setting(None, int, minimum=1, optional=True)
    # Percent of each span's rows (by hash) kept for evaluation.
    eval_percent: int = setting(20, int, minimum=1, maximum=50)
    # How ExampleGen reads CSV: "arrow" (in process, C++ reader and encoder) or "beam"
    # (TFX's CsvExampleGen executor, for spans that need a distributed runner). Both
    # write the same bytes into the same splits.
    example_gen: str = setting("arrow", str, choices=("arrow", "beam"))
    # How StatisticsGen computes: "memory" (TFDV's generators in this process, one split
    # held in memory) or "beam" (TFX's executor, for spans beyond one machine). Both write
    # the same statistics (tests/integration/test_statistics_executor.py).
    statistics: str = setting("memory", str, choices=("memory", "beam"))
    # Whether Transform analyses each span of the window apart and keeps the result for
    # the next run's window (TFX's analyzer cache). That costs one Beam analysis per span
    # and per analyzer instead of one pass over the window: on spans of thousands of rows
    # the fixed cost is most of Transform, so it pays only where the analysis itself is
    # large (spans of millions of rows, a window that slides by one span).
    analyzer_cache: bool = setting(False, bool)
    task: TaskConfig = field(default_factory=TaskConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    evaluation: EvaluationConfig = field(default_factory=EvaluationConfig)
    drift: DriftConfig = field(default_factory=DriftConfig)
    beam: BeamConfig = field(default_factory=BeamConfig)
    metadata: MetadataConfig = field(default_factory=MetadataConfig)
    kubeflow: KubeflowConfig = field(default_factory=KubeflowConfig)
    # "local" (LocalDagRunner on this machine) or "kubeflow" (compiled for a cluster,
    # set by `driftline kubeflow compile`): where the data, artifacts and models live.
    target: str = setting("local", str, choices=("local", "kubeflow"))

    def more_problems(self, origins: dict) -> List[str]:
        """The rules between the settings of sections a config class adds (none here)."""
        return []

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
    def metadata_label(self) -> str:
        """Where a run's lineage lives, as a person would name it (never the password)."""
        m = self.metadata
        if m.mysql_host:
            return f"mysql://{m.mysql_user}@{m.mysql_host}:{m.mysql_port}/{m.mysql_database}"
        return str(self.metadata_path)

    @property
    def serving_dir(self):
        if self.on_cluster:
            return f"{self.kubeflow.serving_dir.rstrip('/')}/{self.model_name}"
        return self.output_dir / "serving" / self.model_name

    @property
    def log_file(self) -> Path:
        return self.output_dir / "logs" / "driftline.log"


def sections(config) -> set:
    """The names of a config's [sections]: its fields that are themselves dataclasses. A
    config class that extends Config (the application's) adds its own."""
    return {f.name for f in dataclasses.fields(config)
            if f.default_factory is not dataclasses.MISSING and dataclasses.is_dataclass(f.default_factory)}


def problems(config: Config, origins: Optional[dict] = None) -> List[str]:
    """Every setting whose value breaks its rule, plus the rules between settings, each as
    one line naming where the value came from, the setting and the value."""
    origins = origins or {}
    found = []
    section_names = sections(config)

    def check(section, prefix):
        for f in dataclasses.fields(section):
            name = f"{prefix}{f.name}"
            value = getattr(section, f.name)
            if f.name in section_names and not prefix:
                check(value, f"{f.name}.")
                continue
            rule = f.metadata.get("rule")
            if rule is None:
                continue
            why = _type_problem(rule, value) or _value_problem(rule, value)
            if why:
                where = origins.get(name, "default")
                found.append(f"{where}: '{name}' = {_shown(value)} {why}: it must be {rule.describe()}")

    check(config, "")
    beam = config.beam
    if beam.direct_running_mode == "in_memory" and beam.direct_num_workers != 1:
        found.append(f"{origins.get('beam.direct_num_workers', 'default')}: 'beam.direct_num_workers' = "
                     f"{beam.direct_num_workers} has no effect with direct_running_mode = "
                     "'in_memory', which runs one worker: use multi_processing or "
                     "multi_threading for more")
    found += _task_problems(config.task, origins)
    found += config.more_problems(origins)
    if config.task.kind == "regression" and config.evaluation.tfma:
        found.append(f"{origins.get('evaluation.tfma', 'default')}: 'evaluation.tfma' = true runs TFMA's "
                     "binary-classification metrics, which a regression task ('task.kind' = 'regression') "
                     "has none of: leave it false")
    training = config.training
    if (training.operating_point == "f1") != (training.operating_target is None):
        where = origins.get("training.operating_target", origins.get("training.operating_point", "default"))
        found.append(f"{where}: 'training.operating_point' = '{training.operating_point}' "
                     + ("takes no operating_target (the best F1 needs none)" if training.operating_point == "f1"
                        else "needs 'training.operating_target', the precision or recall to reach, or "
                             "the fixed threshold (0-1)"))
    return found


def _task_problems(task: TaskConfig, origins: dict) -> List[str]:
    """The task's rules read (their columns are checked against the schema later, by
    components.model.task.resolve), and its treatments all text."""
    from components.model import rule

    found = []
    for name in ("label", "known_when"):
        text = getattr(task, name)
        if not isinstance(text, str) or not text.strip():
            continue
        try:
            rule.parse(text)
        except rule.RuleError as exc:
            found.append(f"{origins.get(f'task.{name}', 'default')}: 'task.{name}' cannot be read: "
                         f"{exc.why} at character {exc.position + 1} of {text!r}")
    for key, value in task.treat.items() if isinstance(task.treat, dict) else ():
        if not isinstance(value, str):
            found.append(f"{origins.get('task.treat', 'default')}: 'task.treat.{key}' = {_shown(value)} "
                         "must be text: scale, scale+buckets[:N], buckets[:N], category or vocabulary[:N]")
    return found


def fast(config: Config) -> Config:
    """The small configuration the tests use: same graph, far fewer training steps."""
    config.training.train_steps = 50
    config.training.eval_steps = 10
    config.training.hidden_units = [16]
    # One round of 50 steps: a faster rate and no penalty, or it barely moves.
    config.training.learning_rate = 0.003
    config.training.l2 = 0.0
    # A 50-step model cannot be held to the full quality bar; the drift gate still applies.
    # The summary says what is relaxed (driftline/views/run_summary.py).
    config.evaluation.min_auc = 0.0
    config.evaluation.min_f1 = 0.0
    config.evaluation.beat_constant = False
    return config


def _apply(target, values: dict, source: str, base_dir: Path, origins: dict, found: list,
           prefix: str = ""):
    known = {f.name: f for f in dataclasses.fields(target)}
    section_names = sections(target) if not prefix else set()
    for key, value in values.items():
        name = f"{prefix}{key}"
        if key not in known:
            found.append(f"{source}: unknown setting '{name}' (known: {', '.join(sorted(known))})")
            continue
        if key in section_names:
            if not isinstance(value, dict):
                found.append(f"{source}: '{name}' must be a [section], got {_shown(value)}")
                continue
            _apply(getattr(target, key), value, source, base_dir, origins, found, prefix=f"{key}.")
            continue
        rule = known[key].metadata.get("rule")
        if rule is not None and rule.kind == "path" and isinstance(value, str) and value.strip():
            value = (base_dir / Path(value)).resolve()
        setattr(target, key, value)
        origins[name] = source


def _read(path: Path) -> dict:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a config file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the config file ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                          f"{exc.start}); a config file is TOML, which is UTF-8") from None
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def load_config(path: Optional[Path] = None, overrides: Optional[dict] = None,
                fast_mode: bool = False, config_class=Config) -> Config:
    """Defaults, then the TOML file at `path`, then `overrides` (from CLI flags); every
    problem is reported at once, as one ConfigError. `config_class` is Config or a class
    that extends it with sections of its own (driftline.config.AppConfig)."""
    config = config_class()
    if fast_mode:
        fast(config)
    origins, found = {}, []
    if path is not None:
        path = Path(path)
        _apply(config, _read(path), str(path), path.resolve().parent, origins, found)
    if overrides:
        _apply(config, {k: v for k, v in overrides.items() if v is not None}, "command line",
               Path.cwd(), origins, found)
    _own_task(config, origins)
    found += problems(config, origins)
    if found:
        if len(found) == 1:
            raise ConfigError(found[0])
        raise ConfigError(f"{len(found)} problems in the configuration; nothing was run:\n"
                          + "\n".join(f"  {line}" for line in found))
    return config


def to_toml(config: Config) -> str:
    """The effective configuration as a config file that load_config reads back to the
    same values: what a command hands to another process (`driftline replay` to its
    server). Unset optional values are left out, which leaves them unset."""
    import json

    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            return repr(v)
        if isinstance(v, Path):
            return json.dumps(str(v))
        if isinstance(v, list):
            return "[" + ", ".join(value(i) for i in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{json.dumps(str(k))} = {value(i)}" for k, i in v.items()) + "}"
        return json.dumps(str(v))  # a TOML basic string takes JSON's escapes

    top, tables = [], []
    section_names = sections(config)
    for f in dataclasses.fields(config):
        current = getattr(config, f.name)
        if f.name in section_names:
            lines = [f"{k.name} = {value(getattr(current, k.name))}" for k in dataclasses.fields(current)
                     if getattr(current, k.name) is not None]
            tables.append(f"[{f.name}]\n" + "\n".join(lines))
        elif current is not None:
            top.append(f"{f.name} = {value(current)}")
    return "\n".join(top) + "\n\n" + "\n\n".join(tables) + "\n"

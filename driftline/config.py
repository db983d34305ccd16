"""The application's config: the pipeline's (pipeline/config.py) plus the sections that
only driftline's own commands read — serving, monitoring, retraining — and the paths
derived from them. One TOML file still loads once, through the same checks, so a typo in
[serving] is reported beside one in [training]."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from pipeline.config import PROJECT_ROOT, SHARE, Config, Rule, load_config as load_pipeline_config, setting


@dataclass
class ServingConfig:
    # `driftline serve` binds these; loopback unless you mean to expose it.
    host: str = setting("127.0.0.1", str, nonempty=True)
    rest_port: int = setting(8501, int, minimum=0, maximum=65535, help="0: any free port")
    grpc_port: int = setting(8500, int, minimum=0, maximum=65535, help="0: any free port")
    # Server-side batching: requests that arrive while a version's model is busy share
    # its next call, up to batch_max_rows rows; an idle model waits batch_timeout_ms for
    # more requests first (0: never waits). false: each request calls the model itself.
    batching: bool = setting(True, bool)
    batch_max_rows: int = setting(64, int, minimum=1, maximum=100_000)
    batch_timeout_ms: float = setting(0.0, float, minimum=0.0, maximum=1000.0)
    # Refused with 400 / 413 beyond these.
    max_request_rows: int = setting(1000, int, minimum=1)
    max_body_bytes: int = setting(4 << 20, int, minimum=1024)
    # The request log: size-rotated CSV files, the oldest removed past the total cap.
    # Empty: OUTPUT_DIR/request-logs/MODEL.
    log_dir: str = setting("", str)
    log_max_bytes: int = setting(16 << 20, int, minimum=1024)
    log_max_total_bytes: int = setting(256 << 20, int, minimum=1024)
    # How often the serving directory is polled for new versions.
    poll_seconds: float = setting(1.0, float, minimum=0.05, maximum=3600.0)
    # The canary share `driftline rollout canary` uses when --percent is not given.
    canary_percent: float = setting(10.0, float, minimum=0.01, maximum=100.0)



@dataclass
class MonitoringConfig:
    # `driftline monitor` judges the newest `window_rows` logged rows (and drift against
    # the same number before them). Skew and drift thresholds are the schema's
    # skew_comparator and drift_comparator.
    window_rows: int = setting(1000, int, minimum=1)
    # Nothing is judged on fewer rows than this (a window, or one version's share of it):
    # on a handful of requests every distance is noise.
    min_requests: int = setting(200, int, minimum=1)
    # L-infinity distance between the served probabilities' histogram (ten bins) and the
    # same model's on its evaluation split.
    prediction_drift: float = setting(0.15, float, minimum=0.0, maximum=1.0)
    p99_latency_ms: float = setting(250.0, float, minimum=0.0)
    # Online F1 (`driftline monitor labels`) under this, beyond noise, is an alarm.
    min_online_f1: Optional[float] = setting(0.5, float, optional=True, **SHARE)
    # A regression model's ceiling: an alarm when its RMSE on requests whose outcome
    # arrived is above this beyond noise. Unset: no alarm (its scale is the label's own).
    max_online_rmse: Optional[float] = setting(None, float, optional=True, minimum=0.0)
    # Share of requests answered with an error (4xx and 5xx), over the rules' rate window.
    error_rate: float = setting(0.05, float, minimum=0.0, maximum=1.0)
    # Performance is estimated from a classifier's probabilities only when its expected
    # calibration error on its evaluation rows (the ModelGate's) is at most this.
    max_calibration_error: float = setting(0.1, float, **SHARE)
    # A shadow version that decides as the answering versions did on fewer of a window's
    # shadowed rows than this raises the DriftlineShadowDisagrees alert.
    min_shadow_agreement: float = setting(0.9, float, **SHARE)
    # Multivariate drift: a window whose rows a classifier tells from the served
    # version's evaluation rows with an AUC above this, beyond noise, is an alarm (0.5:
    # indistinguishable; 1: told apart every time).
    max_domain_auc: float = setting(0.6, float, minimum=0.5, maximum=1.0)


@dataclass
class RetrainingConfig:
    # `driftline monitor --watch` retrains when an alarm of one of these kinds has held
    # for `alarm_windows` consecutive passes (skew, estimated performance and online F1
    # about the stable version, drift and multivariate drift about the whole window) and a
    # span newer than the one the stable version was trained up to has arrived under
    # data_root. One window's alarm is often noise; several in a row are a change.
    triggers: list = setting(["skew", "drift", "online_f1"], list, nonempty=True,
                             items=Rule(str, choices=("skew", "drift", "online_f1", "prediction_drift",
                                                      "estimated_performance", "multivariate_drift")))
    alarm_windows: int = setting(3, int, minimum=1)
    # The canary is judged once at least this many of its requests have outcomes (rows
    # whose label can be known): promoted when its error rate and p99 latency are within
    # [monitoring] error_rate and p99_latency_ms and its online F1 is not below the
    # stable version's (on the same period's requests) by more than canary_f1_margin
    # beyond noise; rolled back otherwise.
    canary_min_labelled: int = setting(200, int, minimum=1)
    canary_f1_margin: float = setting(0.05, float, **SHARE)
    # Seconds between the passes of `driftline monitor --watch`.
    watch_seconds: float = setting(60.0, float, minimum=0.1)
    # Where late outcome files (request_id plus the label's outcome columns, or the
    # label, CSV: driftline/monitoring/labels.py) arrive; the
    # watcher joins each new file once. Empty: OUTPUT_DIR/outcomes/MODEL.
    outcomes_dir: str = setting("", str)


@dataclass
class RolloutConfig:
    # A canary's shares of the traffic, percent, rising to 100: at each step the watcher
    # analyses that step's requests and outcomes, then goes to the next step, aborts, or
    # pauses for a person. Empty: serving.canary_percent, then 100.
    steps: list = setting([], list, items=Rule(float, minimum=0.01, maximum=100.0))
    # A step whose analysis shows neither "no worse" nor "worse" within this many minutes,
    # or this many of the canary's requests, is inconclusive: the rollout pauses and waits
    # for `driftline rollout approve` or `abort`. It is never promoted by default.
    max_step_minutes: float = setting(60.0, float, minimum=0.0, above_minimum=True)
    max_step_requests: int = setting(20000, int, minimum=1)
    # Steps that wait for `driftline rollout approve` even when the analysis passes:
    # "promote" (the step to 100%) or a step's percent.
    approve_before: list = setting([], list)
    # The share of requests `driftline rollout shadow` scores with the shadow version
    # when --percent is not given.
    shadow_percent: float = setting(100.0, float, minimum=0.01, maximum=100.0)

    def effective_steps(self, canary_percent: float) -> list:
        return [float(s) for s in self.steps] or [float(canary_percent), 100.0]

    def gated(self, share: float) -> bool:
        """Whether going to `share` percent waits for a person."""
        names = {str(item).strip().lower() for item in self.approve_before}
        return ("promote" in names and share >= 100) or any(
            _number(item) == share for item in self.approve_before)


def _number(item) -> float:
    try:
        return float(item)
    except (TypeError, ValueError):
        return float("nan")


def rollout_problems(rollout: RolloutConfig, origins: dict) -> list:
    """The [rollout] rules between values: rising steps that end at 100, and gates that
    name a step or "promote"."""
    found = []
    steps = [float(s) for s in rollout.steps if isinstance(s, (int, float))]
    if steps and (steps[-1] != 100 or any(b <= a for a, b in zip(steps, steps[1:])) or steps[0] >= 100):
        found.append(f"{origins.get('rollout.steps', 'default')}: 'rollout.steps' = {rollout.steps!r} must "
                     "rise and end at 100, with a canary step below 100 first (for example [5, 25, 50, 100])")
    for item in rollout.approve_before:
        if str(item).strip().lower() != "promote" and _number(item) not in steps + [100.0]:
            found.append(f"{origins.get('rollout.approve_before', 'default')}: 'rollout.approve_before' holds "
                         f"{item!r}: each item must be \"promote\" or one of 'rollout.steps' ({steps or 'none'})")
    return found


def airflow_problems(airflow: "AirflowConfig", origins: dict) -> list:
    """Dates that match YYYY-MM-DD but name no day (2026-02-30)."""
    import datetime as dt

    found = []
    for key in ("first_span_date", "start_date"):
        text = getattr(airflow, key)
        try:
            if text:
                dt.date.fromisoformat(text)
        except ValueError:
            found.append(f"{origins.get(f'airflow.{key}', 'default')}: 'airflow.{key}' = {text!r} is not a "
                         "day of the calendar (YYYY-MM-DD)")
    return found


@dataclass
class AirflowConfig:
    # `driftline airflow dag`: the DAG's id (empty: the pipeline's name) and its schedule
    # (a cron expression or a preset such as "@daily").
    dag_id: str = setting("", str, pattern=r"[A-Za-z0-9_.-]*")
    schedule: str = setting("@daily", str, nonempty=True)
    # The day span 1 covers ("YYYY-MM-DD"); span N covers span_days days from
    # first_span_date + (N - 1) * span_days, and a run for a day picks the span covering
    # it. Empty: every run picks the newest span.
    first_span_date: str = setting("", str, pattern=r"(\d{4}-\d{2}-\d{2})?", help="YYYY-MM-DD or empty")
    span_days: int = setting(1, int, minimum=1)
    # The DAG's first day ("YYYY-MM-DD"); empty: first_span_date, else the day the DAG
    # file was written.
    start_date: str = setting("", str, pattern=r"(\d{4}-\d{2}-\d{2})?", help="YYYY-MM-DD or empty")
    # Whether Airflow runs every missed day since start_date, in order (a replay of the spans).
    catchup: bool = setting(True, bool)
    # Retries of a failed task (a blocked span is never retried: its verdict would not change).
    retries: int = setting(0, int, minimum=0, maximum=10)
    # Where `driftline airflow dag` writes the DAG file and its config.
    dag_dir: Path = setting(PROJECT_ROOT / "build" / "airflow", "path", nonempty=True)


@dataclass
class MlflowConfig:
    # `driftline lineage export mlflow`: the tracking server ("http://127.0.0.1:5000", or
    # any URI MLflow's client accepts); empty: the command needs --tracking-uri.
    tracking_uri: str = setting("", str)
    # The MLflow experiment the pipeline's runs land in; empty: the pipeline's name.
    experiment: str = setting("", str)
    # Export after every pipeline run and rollout change. MLflow failing never fails
    # either: one warning line, and the next export catches up.
    auto_export: bool = setting(False, bool)
    # Each slice's metrics from the run's error-analysis report as well.
    slices: bool = setting(False, bool)


def mlflow_problems(mlflow: MlflowConfig, origins: dict) -> list:
    if mlflow.auto_export and not mlflow.tracking_uri.strip():
        return [f"{origins.get('mlflow.auto_export', 'default')}: 'mlflow.auto_export' is on but "
                "'mlflow.tracking_uri' is empty: name the tracking server to export to"]
    return []


@dataclass
class AppConfig(Config):
    serving: ServingConfig = field(default_factory=ServingConfig)
    monitoring: MonitoringConfig = field(default_factory=MonitoringConfig)
    retraining: RetrainingConfig = field(default_factory=RetrainingConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    airflow: AirflowConfig = field(default_factory=AirflowConfig)
    mlflow: MlflowConfig = field(default_factory=MlflowConfig)

    def more_problems(self, origins: dict) -> list:
        return (rollout_problems(self.rollout, origins) + airflow_problems(self.airflow, origins)
                + mlflow_problems(self.mlflow, origins))

    @property
    def request_log_dir(self) -> Path:
        if self.serving.log_dir:
            return Path(self.serving.log_dir)
        return self.output_dir / "request-logs" / self.model_name

    @property
    def monitoring_result_path(self) -> Path:
        """The newest `driftline monitor` result, which `driftline serve` exports (and the
        newest online quality beside it, `<model>.labels.json`)."""
        return self.output_dir / "monitoring" / f"{self.model_name}.json"

    @property
    def rollout_analysis_path(self) -> Path:
        """The watcher's newest analysis of the canary's step, which `driftline serve`
        exports on /metrics and `driftline rollout status` shows."""
        return self.monitoring_result_path.with_suffix(".analysis.json")

    @property
    def outcomes_dir(self) -> Path:
        if self.retraining.outcomes_dir:
            return Path(self.retraining.outcomes_dir)
        return self.output_dir / "outcomes" / self.model_name

    @property
    def monitoring_dashboard_dir(self) -> Path:
        """The dashboard `driftline monitor` rewrites after each pass; served at /dashboard."""
        return self.output_dir / "monitoring" / "dashboard"

    @property
    def rest_url(self) -> str:
        return f"http://{self.serving.host}:{self.serving.rest_port}"


def load_config(path: Optional[Path] = None, overrides: Optional[dict] = None,
                fast_mode: bool = False) -> AppConfig:
    """The pipeline's loader, with driftline's sections known to it."""
    return load_pipeline_config(path, overrides, fast_mode, config_class=AppConfig)

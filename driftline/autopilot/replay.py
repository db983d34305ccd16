"""`driftline replay`: the whole loop, in time order, on the real spans.

Only the spans up to the first are known at the start: the pipeline trains on them and a real
`driftline serve` (a subprocess on free loopback ports) serves the model. Each later span
then arrives as traffic: its rows, without their outcomes, go to the server in requests of a
few rows, keyed by rider so that a canary sees a stable share of riders. After every
window of requests the outcomes of the window before arrive (an outcome is known only
after the fact) and the watcher's tick runs: the same code as `driftline monitor --watch`
(monitoring passes, outcome joins, retraining, canary, promotion or rollback). When a
span's traffic and all its outcomes are in, the span appears under the data root,
labelled, for retraining to use. At the end, a timeline report.

Everything lives under one replay directory (default OUTPUT_DIR/replay), emptied at the
start: its data root, pipeline output, MLMD store, serving directory and request log.
"""
import csv
import http.client
import json
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List

from components.errors import DataError, DriftlineError
from pipeline.spans import find_spans, span_dir

MARKER = ".driftline-replay"
ROWS_PER_REQUEST = 10


@dataclass
class ReplayLog:
    """What the replay did, window by window: which span each window of requests came
    from, and when each span became labelled (for the timeline)."""
    windows: List[dict] = field(default_factory=list)
    events: List[dict] = field(default_factory=list)


def parse_spans(text: str) -> List[int]:
    from pipeline.errors import ConfigError

    try:
        first, _, last = text.partition("-")
        spans = list(range(int(first), int(last or first) + 1))
    except ValueError:
        raise ConfigError(f"--spans {text!r}: give a range of spans, e.g. 1-4") from None
    if len(spans) < 2 or spans[0] < 1:
        raise ConfigError(f"--spans {text!r}: a replay needs a first span to train on and at least one "
                          "later span to serve, e.g. 1-4")
    return spans


def prepare(directory: Path, source_root: Path, spans: List[int]) -> Path:
    """Empties the replay directory (only one a replay made) and reveals every span up to
    the first: what the first model learns from."""
    missing = [s for s in spans if s not in find_spans(source_root)]
    if missing:
        raise DataError(f"{source_root}: no span-{missing[0]}/ with CSV files (found spans "
                        f"{', '.join(map(str, find_spans(source_root))) or 'none'}); `make data` writes them")
    if directory.exists() and any(directory.iterdir()):
        if not (directory / MARKER).exists():
            raise DataError(f"{directory} is not empty and not a replay directory: nothing was removed; "
                            "give --output-dir a new or a replay's directory")
        shutil.rmtree(directory)
    directory.mkdir(parents=True)
    (directory / MARKER).write_text("made by driftline replay; emptied by the next replay\n")
    data_root = directory / "data"
    data_root.mkdir()
    for span in find_spans(source_root):
        if span <= spans[0]:
            reveal(source_root, data_root, span)
    return data_root


def reveal(source_root: Path, data_root: Path, span: int):
    shutil.copytree(span_dir(source_root, span), span_dir(data_root, span))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`driftline serve` on loopback in a subprocess, with the replay's configuration."""

    def __init__(self, config_file: Path, url: str, log_file: Path):
        self.url = url
        self.log = open(log_file, "a")
        self.proc = subprocess.Popen([sys.executable, "-m", "driftline", "serve", "--config", str(config_file)],
                                     stdout=self.log, stderr=subprocess.STDOUT)

    def wait_until_serving(self, timeout: float = 240.0):
        from driftline.serving import rollout

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DriftlineError(f"the replay's server exited with code {self.proc.returncode}: "
                                     f"see {self.log.name}")
            try:
                state = rollout.get_json(f"{self.url}/v1/driftline/rollout")
                if any(v["state"] == "AVAILABLE" for v in state["versions"].values()):
                    return
            except OSError:
                pass
            time.sleep(0.5)
        raise DriftlineError(f"the replay's server did not load a model within {timeout:g} s: see {self.log.name}")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


class Traffic:
    """Sends a span's rows as :classify requests (:regress for a model that predicts a
    number) and remembers each row's request id."""

    def __init__(self, port: int, model: str, schema, verb: str = "classify"):
        from components.drift_gate.comparison import excluded
        from tensorflow_metadata.proto.v0 import schema_pb2

        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.path = f"/v1/models/{model}:{verb}"
        kinds = {schema_pb2.INT: int, schema_pb2.FLOAT: float, schema_pb2.BYTES: str}
        self.types = {f.name: kinds[f.type] for f in schema.feature if not excluded(f, "SERVING")}
        self.errors = 0

    def example(self, row: dict) -> dict:
        out = {}
        for name, kind in self.types.items():
            text = row.get(name, "")
            if text in ("", None):
                continue
            out[name] = kind(float(text)) if kind is int else kind(text)
        return out

    def send(self, rows: List[dict], key: str) -> List[str]:
        """The request ids of the rows, in order ([] when the server refused them)."""
        body = json.dumps({"examples": [self.example(r) for r in rows], "key": key})
        for attempt in (1, 2):
            try:
                self.connection.request("POST", self.path, body=body, headers={"Content-Type": "application/json"})
                response = self.connection.getresponse()
                response.read()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                # The server closes a keep-alive connection left idle while a tick ran.
                self.connection.close()
                if attempt == 2:
                    raise
        if response.status != 200:
            self.errors += 1
            return []
        request_id = response.getheader("X-Request-Id")
        return [f"{request_id}-{i}" for i in range(len(rows))]


def _rows(source_root: Path, span: int) -> List[dict]:
    rows = []
    for path in sorted(span_dir(source_root, span).glob("*.csv")):
        with open(path, newline="") as f:
            rows.extend(csv.DictReader(f))
    return rows


def _wait_for_log(log_dir: Path, rows: int, timeout: float = 60.0):
    """The server logs off the request path: wait until every row sent is on disk."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = 0
        for path in log_dir.glob("requests-*.csv"):
            with open(path, "rb") as f:
                written += max(0, sum(1 for _ in f) - 1)
        if written >= rows:
            return
        time.sleep(0.1)
    raise DriftlineError(f"the server's request log {log_dir} holds fewer than the {rows} rows sent "
                         f"after {timeout:g} s")


def _write_outcomes(directory: Path, outcomes: List[str], name: str, ids: List[str], rows: List[dict]):
    """The window's outcome file: each request id with the label's outcome columns."""
    directory.mkdir(parents=True, exist_ok=True)
    temporary = directory / f".{name}.tmp"
    with open(temporary, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["request_id"] + outcomes)
        for request_id, row in zip(ids, rows):
            writer.writerow([request_id] + [row.get(column, "") for column in outcomes])
    temporary.replace(directory / f"{name}.csv")  # the watcher never reads half a file


def _replay_span(config, source_root: Path, span: int, traffic, pilot, replay_log: "ReplayLog", sent: int,
                 say: Callable[[str], None]) -> int:
    """One span's rows as requests, window by window, with each window's outcomes arriving
    one window late and the watcher ticking after each; then the span is revealed,
    labelled, under the data root. Returns the count of rows sent so far."""
    from pipeline.inputs import resolve_task

    window_rows = config.monitoring.window_rows
    outcomes = resolve_task(config).outcomes
    rows = _rows(source_root, span)
    say(f"span {span:<10} {len(rows)} requests' rows arrive in windows of {window_rows}")
    replay_log.events.append({"time": time.time(), "text": f"span {span} traffic"})
    pending = None  # (name, ids, rows) of the window whose outcomes arrive next
    for start in range(0, len(rows), window_rows):
        chunk = rows[start:start + window_rows]
        ids = []
        for i in range(0, len(chunk), ROWS_PER_REQUEST):
            part = chunk[i:i + ROWS_PER_REQUEST]
            ids.extend(traffic.send(part, f"rider-{span}-{start + i}") or [""] * len(part))
        sent += len(chunk)
        _wait_for_log(config.request_log_dir, sent)
        if pending is not None:
            _write_outcomes(config.outcomes_dir, outcomes, *pending)
        pending = (f"span-{span}-rows-{start:06d}", ids, chunk)
        replay_log.windows.append({"span": span, "rows": len(chunk), "sent": sent})
        pilot.tick()
    _write_outcomes(config.outcomes_dir, outcomes, *pending)
    pilot.tick()
    reveal(source_root, Path(config.data_root), span)
    replay_log.events.append({"time": time.time(), "text": f"span {span} labelled"})
    say(f"span {span:<10} all its outcomes are in: span-{span}/ is now under the data root, "
        "labelled, for retraining")
    return sent


def replay_spans(config, config_file: Path, source_root: Path, spans: List[int], say: Callable[[str], None]) -> ReplayLog:
    """Runs the replay with `config` (already pointing into the replay directory);
    `config_file` is that configuration written for the server."""
    import ml_metadata as mlmd

    from driftline.run import run as pipeline_run
    from driftline.autopilot.watcher import Watcher
    from driftline.schema.check import load_schema
    from driftline.serving import rollout
    from driftline.views.run_summary import render
    from pipeline import metadata

    replay_log = ReplayLog()
    known = ", ".join(str(s) for s in find_spans(Path(config.data_root)))
    say(f"span {spans[0]:<10} training the first model on span{'s' if ',' in known else ''} {known} "
        "(all that is known so far)")
    first = pipeline_run.run(config, force=True)
    say(render(first.summary, first.seconds).rstrip("\n"))
    if not first.summary.pushed_path:
        raise DriftlineError(f"the model trained up to span {spans[0]} was not pushed (its summary above "
                             f"says why): nothing to serve; a later first span (--spans {spans[0] + 1}-"
                             f"{spans[-1]}) gives it more rows to learn from and be judged on; "
                             f"see {config.log_file}")
    replay_log.events.append({"time": time.time(), "text": f"span {spans[0]} model serves"})
    server = Server(config_file, config.rest_url, config.output_dir / "logs" / "replay-serve.log")
    try:
        server.wait_until_serving()
        say(f"serving         {config.rest_url} (driftline serve, log {server.log.name})")
        store = mlmd.MetadataStore(metadata.connection_config(config, create=False))
        target = rollout.Target(config.model_name, Path(config.serving_dir), config.rest_url, store)
        schema = load_schema(config.schema_file)
        # The timeline is the replay's report: the dashboard is drawn once, at the end.
        pilot = Watcher(config, schema, store, target, config.request_log_dir, say, dashboard=False)
        verb = "regress" if pilot.task.kind == "regression" else "classify"
        traffic = Traffic(config.serving.rest_port, config.model_name, schema, verb)
        sent = 0
        for span in spans[1:]:
            sent = _replay_span(config, source_root, span, traffic, pilot, replay_log, sent, say)
        pilot.tick()
        from driftline.monitoring.passes import redraw_dashboard

        redraw_dashboard(config, store)
        if traffic.errors:
            say(f"warning         {traffic.errors} requests were answered with an error (see {server.log.name})")
    finally:
        server.stop()
    return replay_log

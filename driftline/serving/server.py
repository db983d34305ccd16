"""The model server: which version answers a request, the answer, and what is recorded.

One process serves TF Serving's REST API (ASGI on uvicorn, rest.py) and its gRPC
PredictionService (grpc_service.py) over the same versions, policy, metrics and request
log. Model calls run off the event loop (a thread pool, or the batcher), so a slow
prediction never stalls the others.
"""
import asyncio
import itertools
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, List, Optional

from driftline.serving import policy as policies
from driftline.serving.batching import Batcher
from driftline.serving.errors import ServingError, bad_request, not_found
from driftline.serving.metrics import Metrics
from driftline.serving.models import AVAILABLE, OUTPUT, ModelVersions, Version
from driftline.serving.request_log import RequestLog
from driftline.serving.requests import Contract, Row, raw_values
from driftline.serving.shadow import Shadow

log = logging.getLogger("driftline.serving")
OBSERVABLE = "label_known"  # components/model/task.py: LABEL_KNOWN
LABELS = ("stable", "canary") + policies.SLOTS


@dataclass
class Settings:
    model_name: str
    serving_dir: Path
    log_dir: Path
    max_batch_rows: int = 1000        # rows in one request
    max_body_bytes: int = 4 << 20
    batching: bool = True             # batching.py: concurrent requests share model calls,
    batch_max_rows: int = 64          # up to this many rows a call,
    batch_timeout_ms: float = 0.0     # an idle model waiting this long for others first
    poll_seconds: float = 1.0
    policy_poll_seconds: float = 0.2
    log_max_bytes: int = 16 << 20
    log_max_total_bytes: int = 256 << 20
    # The newest `driftline monitor` result, exported on /metrics (None: nothing).
    monitor_file: Optional[Path] = None
    # The monitoring dashboard's page, served at /dashboard (None: not served).
    dashboard_page: Optional[Path] = None
    # Called with the policy the server wrote when it pinned its first version (to
    # record it as a deployment in MLMD); None: not recorded.
    on_pinned: Optional[Callable] = None


class Server:
    def __init__(self, settings: Settings, contract: Contract):
        self.settings = settings
        self.contract = contract
        self.metrics = Metrics()
        if settings.monitor_file is not None:
            from driftline.serving.metrics import MonitoringCollector

            self.metrics.registry.register(MonitoringCollector(settings.monitor_file, settings.model_name))
        self.versions = ModelVersions(settings.model_name, settings.serving_dir,
                                      settings.poll_seconds, on_change=self._versions_changed)
        self.request_log = RequestLog(settings.log_dir, contract.columns, settings.log_max_bytes,
                                      settings.log_max_total_bytes)
        self.shadow = Shadow(settings.log_dir, self.metrics, settings.model_name,
                             max_bytes=settings.log_max_bytes, max_total_bytes=settings.log_max_total_bytes)
        self.policy: Optional[policies.Policy] = None
        self._policy_mtime = None
        self._stop = threading.Event()
        self.batcher = (Batcher(settings.batch_max_rows, settings.batch_timeout_ms / 1000)
                        if settings.batching else None)
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self._id_prefix, self._id_counter = secrets.token_hex(10), itertools.count()
        self._children = {}

    # --- lifecycle -------------------------------------------------------------------

    def start(self):
        self.request_log.start()
        self.shadow.start()
        self._read_policy()
        self.versions.start()
        threading.Thread(target=self._watch_policy, name="policy-watch", daemon=True).start()

    def stop(self):
        self._stop.set()
        self.versions.stop()
        if self.batcher is not None:
            self.batcher.close()
        self.shadow.stop()
        self.request_log.stop()

    def _watch_policy(self):
        while not self._stop.wait(self.settings.policy_poll_seconds):
            try:
                self._read_policy()
            except Exception:  # noqa: BLE001 - a bad file keeps the policy in effect
                log.exception("reading the rollout policy failed; the previous one stays")

    def _read_policy(self):
        path = policies.policy_path(self.settings.serving_dir)
        mtime = path.stat().st_mtime_ns if path.exists() else None
        if mtime == self._policy_mtime:
            return
        self.policy = policies.read(self.settings.serving_dir)
        self._policy_mtime = mtime
        if self.policy is not None:
            log.info("rollout policy revision %d: %s", self.policy.revision, self.policy.describe())
        self._gauges()

    def _versions_changed(self):
        self._pin_first()
        self._gauges()

    def _pin_first(self):
        """Without a policy, the first version loaded (the newest of those loaded at once)
        becomes the stable version in a policy file, so that a later push takes no
        traffic until a rollout decides it should."""
        available = self.versions.available()
        if self.policy is not None or not available:
            return
        serving_dir = self.settings.serving_dir
        with policies.changing(serving_dir):
            if policies.read(serving_dir) is not None:  # a rollout command was first
                pinned = None
            else:
                pinned = policies.Policy().changed(
                    "pin", "the first version this server loaded", slots={"blue": available[-1], "green": None})
                policies.write(serving_dir, pinned)
        self._read_policy()
        if pinned is None:
            return
        log.warning("no rollout policy: version %d, the first loaded, is pinned as stable (revision %d); "
                    "a new push takes traffic only through `driftline rollout`", available[-1], pinned.revision)
        if self.settings.on_pinned is not None:
            try:
                self.settings.on_pinned(pinned)
            except Exception:  # noqa: BLE001 - the pin holds; only its record is missing
                log.exception("recording the pin of version %d in MLMD failed", available[-1])

    def _gauges(self):
        name = self.settings.model_name
        for number, version in list(self.versions.versions.items()):
            for state in ("LOADING", "AVAILABLE", "FAILED", "END"):
                self.metrics.loaded.labels(name, str(number), state).set(int(version.state == state))
        self.metrics.directory_missing.labels(name).set(int(self.versions.missing_since is not None))
        self.metrics.directory_missing_scans.labels(name).set(self.versions.missing_scans)
        policy = self.effective_policy()
        self.metrics.canary_percent.labels(name).set(policy.canary_percent if policy.canary else 0)
        self.metrics.policy_revision.labels(name).set(policy.revision)
        self.metrics.shadow_percent.labels(name).set(policy.shadow_percent if policy.shadow is not None else 0)
        self.metrics.rollout_step.labels(name).set(policy.step + 1 if policy.canary and policy.steps else 0)
        self.metrics.rollout_paused.labels(name).set(int(bool(policy.paused)))

    # --- which version -----------------------------------------------------------------

    def effective_policy(self) -> policies.Policy:
        """The policy file's, or, before the first version is pinned, the newest available
        version alone."""
        if self.policy is not None:
            return self.policy
        available = self.versions.available()
        return policies.Policy(slots={"blue": available[-1] if available else None, "green": None})

    def _check_model(self, name: str):
        if name != self.settings.model_name:
            raise not_found(f"Servable not found for request: Latest({name})")

    def _available(self, number: Optional[int], request: str) -> Version:
        version = self.versions.get(number) if number is not None else None
        if version is None or version.state != AVAILABLE:
            raise not_found(f"Servable not found for request: {request}")
        return version

    def choose(self, name: str, version: Optional[str] = None, label: Optional[str] = None,
               key: Optional[str] = None):
        """(Version, slot) that answers a request."""
        self._check_model(name)
        policy = self.effective_policy()
        if version is not None:
            if not version.isdigit():
                raise bad_request(f"version {version!r} is not a number")
            number = int(version)
            slot = next((s for s in policies.SLOTS if policy.slots.get(s) == number), "direct")
            return self._available(number, f"Specific({name}, {number})"), slot
        if label is not None:
            if label not in LABELS:
                raise not_found(f"Servable not found for request: Labeled({name}, {label}): labels are "
                                f"{', '.join(LABELS)}")
            slot = {"stable": policy.live, "canary": policy.idle}.get(label, label)
            number = policy.slots.get(slot) if label != "canary" or policy.canary else None
            return self._available(number, f"Labeled({name}, {label})"), slot
        slot = policies.route(policy, key)
        number = policy.slots.get(slot)
        chosen = self.versions.get(number) if number is not None else None
        if chosen is None or chosen.state != AVAILABLE:
            if slot != policy.live:  # a canary that cannot serve: its share goes to the stable
                slot, number = policy.live, policy.stable
        return self._available(number, f"Latest({name})"), slot

    # --- answering -------------------------------------------------------------------------

    async def predict(self, version: Version, serialized: List[bytes]):
        if self.batcher is not None:
            return await self.batcher.predict(version, serialized)
        return await asyncio.get_running_loop().run_in_executor(None, version.predict, serialized)

    def check_rows(self, rows: int):
        if rows == 0:
            raise bad_request("the request has no rows to predict")
        if rows > self.settings.max_batch_rows:
            raise bad_request(f"the request has {rows} rows, over the limit of "
                              f"{self.settings.max_batch_rows} per request")

    def offer_shadow(self, version: Version, key: Optional[str], request_id: str, serialized: List[bytes]):
        """Hands an answered request to the shadow version, when one is set and samples it."""
        policy = self.effective_policy()
        if policy.shadow is None or policy.shadow == version.number or not policies.shadowed(policy, key):
            return
        shadow = self.versions.get(policy.shadow)
        if shadow is not None and shadow.state == AVAILABLE:
            self.shadow.offer(shadow, request_id, serialized)

    def _request_id(self) -> str:
        """32 hex digits, unique: this process's random prefix and a counter (uuid4 reads
        the kernel's random source on every call, a system call per request)."""
        return f"{self._id_prefix}{next(self._id_counter):012x}"

    def _series(self, number: str, slot: str) -> tuple:
        """The metric children a request answered by this version and slot moves, looked
        up once: prometheus_client's labels() takes a lock and builds a key each call."""
        found = self._children.get((number, slot))
        if found is None:
            name, metrics = self.settings.model_name, self.metrics
            found = self._children[(number, slot)] = (
                metrics.requests.labels(name, number, slot, "200"), metrics.latency.labels(name, number),
                metrics.rows.labels(name, number, slot), metrics.probability.labels(name, number),
                metrics.unobservable.labels(name, number))
        return found

    def record(self, version: Version, slot: str, key: Optional[str], rows: List[Row], outputs: dict,
               started: float) -> str:
        """Metrics and request-log rows for an answered request (`rows`: each example's
        checked values); returns its request id."""
        elapsed = time.monotonic() - started
        request_id = self._request_id()
        number = str(version.number)
        requests, latency, answered, histogram, unobservable = self._series(number, slot)
        requests.inc()
        latency.observe(elapsed)
        # The log's probability column holds a regression model's predicted number.
        probabilities = outputs[version.output].reshape(-1).tolist()
        observable = outputs.get(OBSERVABLE)
        observable = observable.reshape(-1).tolist() if observable is not None else None
        answered.inc(len(probabilities))
        if version.output == OUTPUT:
            for p in probabilities:
                histogram.observe(p)
        if observable is not None:
            unobservable.inc(observable.count(0.0))
        for values in rows:
            for feature in self.contract.out_of_domain(values):
                self.metrics.out_of_domain.labels(self.settings.model_name, number, feature).inc()
        stamp, columns = f"{time.time():.3f}", self.contract.columns
        took = f"{elapsed * 1000:.3f}"
        logged = []
        for index, values in enumerate(rows):
            logged.append(raw_values(values, columns) + [
                f"{request_id}-{index}", stamp, number, slot, key or "", f"{probabilities[index]:.6f}",
                "" if observable is None else f"{observable[index]:g}", took])
        self.request_log.add(logged)
        self.metrics.log_dropped.labels(self.settings.model_name).set(self.request_log.dropped)
        return request_id

    def failure(self, exc: Exception, version: Optional[Version] = None, slot: str = "") -> ServingError:
        """A request that broke inside the server (not the client's fault): logged with its
        traceback, counted as a 500, and answered with one readable line."""
        log.error("a request failed inside the server on version %s", version.number if version else "-",
                  exc_info=exc)
        first = (str(exc).strip().splitlines() or [""])[0][:300]
        error = ServingError(500, f"internal error while predicting: {type(exc).__name__}: {first} "
                                  "(the server keeps serving; details in its log)")
        self.error(error, version, slot)
        return error

    def error(self, error: ServingError, version: Optional[Version] = None, slot: str = ""):
        self.metrics.requests.labels(self.settings.model_name,
                                     str(version.number) if version else "", slot,
                                     str(error.status)).inc()

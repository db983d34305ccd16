"""The versions under a model's serving directory, loaded and kept watching, as TF
Serving's file-system poll does.

A version directory is a number (the Pusher names them by time). A new one is loaded in
the background and must answer its probe (the warm-up requests the model ships in
`assets.extra/tf_serving_warmup_requests`, which TF Serving replays too) with finite
probabilities in [0, 1] before it is AVAILABLE; a version that fails to load (half
copied, corrupt, the wrong signature) is marked FAILED with the reason, logged, and
never routed to, while the others keep serving. A failed version is tried again only
when its directory changes.
"""
import gc
import logging
import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

from components.model import operating_point

log = logging.getLogger("driftline.serving")

LOADING, AVAILABLE, FAILED, UNLOADED = "LOADING", "AVAILABLE", "FAILED", "END"
SIGNATURE = "serving_default"
INPUT = "examples"
OUTPUT = "probabilities"
# A regression task's model answers a number (components/model/task.py: OUTPUTS).
NUMBER_OUTPUT = "predictions"
WARMUP = "assets.extra/tf_serving_warmup_requests"


def _fingerprint(directory: Path) -> tuple:
    """What changes when a version directory is written to: every file's size and time."""
    found = []
    for root, _, files in os.walk(directory):
        for name in files:
            try:
                stat = os.stat(os.path.join(root, name))
            except OSError:
                continue
            found.append((os.path.relpath(os.path.join(root, name), directory), stat.st_size,
                          stat.st_mtime_ns))
    return tuple(sorted(found))


@dataclass
class Version:
    number: int
    path: Path
    state: str = LOADING
    error: str = ""
    fingerprint: tuple = ()
    loaded: object = None
    outputs: List[str] = field(default_factory=list)
    in_flight: int = 0
    # The probability from which `:classify` answers "1" (components/model/operating_point.py).
    threshold: float = 0.5
    # What serving_default answers: OUTPUT (a probability) or NUMBER_OUTPUT (a number).
    output: str = OUTPUT
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @contextmanager
    def serving(self):
        """Counts a request as in flight on this version for as long as it runs."""
        with self._lock:
            self.in_flight += 1
        try:
            yield self
        finally:
            with self._lock:
                self.in_flight -= 1

    def predict(self, serialized: List[bytes]) -> Dict[str, "object"]:
        """Every output of serving_default for these serialized tf.Examples, as arrays
        with one row per example."""
        import numpy as np
        import tensorflow as tf

        function = self.loaded.signatures[SIGNATURE]
        out = function(**{INPUT: tf.constant(serialized, dtype=tf.string)})
        return {name: np.asarray(value) for name, value in out.items()}


def _load(version: Version):
    """Loads and probes a version; raises with a readable reason when it cannot serve."""
    import numpy as np
    import tensorflow as tf
    from tensorflow_serving.apis import prediction_log_pb2

    if not (version.path / "saved_model.pb").exists():
        raise ValueError("no saved_model.pb: not a SavedModel, or still being copied")
    loaded = tf.saved_model.load(str(version.path))
    signature = loaded.signatures.get(SIGNATURE)
    if signature is None:
        raise ValueError(f"no '{SIGNATURE}' signature (has: {', '.join(loaded.signatures) or 'none'})")
    inputs = signature.structured_input_signature[1]
    if set(inputs) != {INPUT} or inputs[INPUT].dtype != tf.string:
        raise ValueError(f"'{SIGNATURE}' must take one string input '{INPUT}' (serialized tf.Examples), "
                         f"takes {sorted(inputs)}")
    answers = [o for o in (OUTPUT, NUMBER_OUTPUT) if o in signature.structured_outputs]
    if not answers:
        raise ValueError(f"'{SIGNATURE}' has neither a '{OUTPUT}' nor a '{NUMBER_OUTPUT}' output")
    version.output = answers[0]
    warmup = version.path / WARMUP
    if not warmup.exists():
        raise ValueError(f"no probe: {WARMUP} is missing")
    version.loaded = loaded
    version.outputs = sorted(signature.structured_outputs)
    version.threshold = operating_point.read(str(version.path)).threshold
    for record in tf.data.TFRecordDataset([str(warmup)]):
        request = prediction_log_pb2.PredictionLog.FromString(record.numpy()).predict_log.request
        serialized = list(tf.make_ndarray(request.inputs[INPUT]).reshape(-1))
        answered = version.predict(serialized)[version.output].reshape(-1)
        in_range = version.output == NUMBER_OUTPUT or np.all((answered >= 0) & (answered <= 1))
        if answered.size != len(serialized) or not np.all(np.isfinite(answered)) or not in_range:
            what = "probability" if version.output == OUTPUT else "finite number"
            raise ValueError(f"the probe answered {answered.tolist()}, not one {what} per row")


def refuse_verb(verb: str, version: Version):
    """A 400 when a request asks a version for what it does not answer: a decision from a
    model that predicts a number, or a number from a classifier."""
    from driftline.serving.errors import bad_request

    if verb == "classify" and version.output != OUTPUT:
        raise bad_request(f"version {version.number} predicts a number (a regression task), not a class: "
                          "use :predict or :regress")
    if verb == "regress" and version.output != NUMBER_OUTPUT:
        raise bad_request("this model has no regression signature: use :predict or :classify")


def version_numbers(directory: Path) -> List[int]:
    """The version directories (number-named) directly under `directory`."""
    try:
        return sorted(int(c.name) for c in Path(directory).iterdir() if c.is_dir() and c.name.isdigit())
    except OSError:
        return []


def newest_version_on_disk(serving_dir) -> Optional[Path]:
    """The version directory a model server polling serving_dir would load first: the
    highest number (TF Serving's rule), or None."""
    numbers = version_numbers(serving_dir)
    return Path(serving_dir) / str(numbers[-1]) if numbers else None


def misplaced_versions_hint(directory: Path) -> Optional[str]:
    """When `directory` holds no version but a subdirectory does (a serving root one level
    above the model's directory, say), the sentence that names it; otherwise None."""
    directory = Path(directory)
    if version_numbers(directory) or not directory.is_dir():
        return None
    holders = [(child, len(version_numbers(child))) for child in sorted(directory.iterdir()) if child.is_dir()]
    holders = [(child, n) for child, n in holders if n]
    if not holders:
        return None
    named = "; ".join(f"{child} holds {n}" for child, n in holders)
    return f"{directory} holds no version directory; {named}: serve {'that' if len(holders) == 1 else 'one of those'}?"


class ModelVersions:
    """Every version of one model under its serving directory."""

    def __init__(self, name: str, directory: Path, poll_seconds: float = 1.0, on_change=None):
        self.name = name
        self.directory = Path(directory)
        self.poll_seconds = poll_seconds
        self.on_change = on_change or (lambda: None)
        self.versions: Dict[int, Version] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.missing_since: Optional[float] = None  # when the directory was found gone
        self.missing_scans = 0

    def available(self) -> List[int]:
        return sorted(n for n, v in self.versions.items() if v.state == AVAILABLE)

    def get(self, number: int) -> Optional[Version]:
        return self.versions.get(number)

    def scan(self):
        """One poll: new or changed version directories are (re)loaded, removed ones end.
        A serving directory that vanishes altogether (an unmounted volume, a mistaken
        `rm -r`) ends nothing: the loaded versions keep serving until it returns."""
        if not self.directory.is_dir():
            self._missing()
            return
        if self.missing_since is not None:
            log.warning("%s: the serving directory %s is back after %.0f s", self.name, self.directory,
                        time.time() - self.missing_since)
            self.missing_since = None
            self.on_change()
        found = {}
        for child in self.directory.iterdir():
            if child.is_dir() and child.name.isdigit():
                found[int(child.name)] = child
        changed = False
        for number, path in sorted(found.items()):
            fingerprint = _fingerprint(path)
            current = self.versions.get(number)
            if current is not None and current.fingerprint == fingerprint and current.state != UNLOADED:
                continue
            version = Version(number, path, fingerprint=fingerprint)
            try:
                _load(version)
                version.state = AVAILABLE
                log.info("%s version %d: AVAILABLE", self.name, number)
            except Exception as exc:  # noqa: BLE001 - any failure to load keeps it out of traffic
                version.state, version.error = FAILED, f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"
                log.warning("%s version %d: FAILED to load: %s", self.name, number, version.error)
            with self._lock:
                self.versions[number] = version
            changed = True
        for number in set(self.versions) - set(found):
            if self.versions[number].state != UNLOADED:
                self.versions[number].state = UNLOADED
                changed = True
        if changed:
            # A loaded SavedModel (and TensorFlow under it) is millions of objects that live
            # as long as the server. Frozen, out of the collector's reach, they no longer make
            # each full collection a long pause for whichever requests are in flight.
            gc.freeze()
            self.on_change()

    def _missing(self):
        if not self.versions:  # nothing pushed yet: waiting, as TF Serving does
            return
        self.missing_scans += 1
        if self.missing_since is None:
            self.missing_since = time.time()
            kept = ", ".join(str(n) for n in self.available()) or "none"
            log.error("%s: the serving directory %s is gone; the versions already loaded (%s) keep serving "
                      "until it returns or the server is stopped", self.name, self.directory, kept)
        self.on_change()

    def start(self):
        self.scan()
        self._thread = threading.Thread(target=self._poll, name="version-poll", daemon=True)
        self._thread.start()

    def _poll(self):
        while not self._stop.wait(self.poll_seconds):
            try:
                self.scan()
            except Exception:  # noqa: BLE001 - the poll must survive a bad directory
                log.exception("scanning %s failed", self.directory)

    def stop(self):
        self._stop.set()

    def status(self) -> list:
        """TF Serving's model_version_status, newest version first."""
        out = []
        for number, version in sorted(self.versions.items(), reverse=True):
            out.append({"version": str(number), "state": version.state,
                        "status": {"error_code": "OK" if version.state != FAILED else "UNKNOWN",
                                   "error_message": version.error}})
        return out


def wait_for(condition, timeout: float, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return condition()


def decided_first(probability: float, threshold: float):
    """A :classify answer's (class, score) pairs, the class the model decides at its
    operating threshold first: a client reading the first class gets the decision,
    whatever the threshold; one reading the scores gets both probabilities."""
    pairs = [("0", 1.0 - probability), ("1", probability)]
    return pairs[::-1] if probability >= threshold else pairs

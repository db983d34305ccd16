"""The rollout policy: which versions serve, and at what share.

Two slots, blue and green, each hold a version; one is live and takes the traffic the
canary does not. A canary is the idle slot's version taking `canary_percent` of the
traffic; promoting it makes its slot live, in one step; a switch puts a version in the
idle slot and makes it live in one step; a rollback restores the policy before the
change before it. Every change increments `revision` and keeps the policies it replaced
(the newest HISTORY of them), so rollbacks walk back through them one change at a time.

The policy is a small JSON file beside the serving directory
(`<model>.rollout.json`), written atomically (a temporary file renamed over it), which a
running server re-reads as soon as it changes. Without one, a server pins the first
version it loads (the newest, when several load at once) as the stable version, so a
later push takes no traffic until a rollout decides it should. Changes are made one at
a time, under a lock beside the file (`changing`).

A canary may go in steps (`steps`, percents ending at 100; `step` is the index of the
share in effect): each step is one revision, and a rollout that waits for a person says
why in `paused` until `driftline rollout approve` or `abort`. A shadow version
(`shadow`, scoring `shadow_percent` of the requests) answers nobody: the server scores
it beside the answer and logs what it said.

Routing is by a hash of the request's key (`X-Request-Key`, or a `key` field), so the
same user always lands on the same version; a request without a key is split at random
at the same rate. The shadow's sample hashes the key again, with a salt, so which
requests it sees does not follow the canary's split.
"""
import contextlib
import datetime as dt
import fcntl
import hashlib
import json
import os
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional

from driftline.serving.errors import PolicyError, RolloutRefused

# What an analysis of a canary's step can say (driftline/autopilot/step_analysis.py), as
# the server exports it: named here, below both.
PROMOTE, ABORT, INCONCLUSIVE = "promote", "abort", "inconclusive"
VERDICTS = (PROMOTE, ABORT, INCONCLUSIVE)

SLOTS = ("blue", "green")
BUCKETS = 10000  # routing resolution: 0.01% of traffic
MIN_PERCENT = 100 / BUCKETS
HISTORY = 50  # earlier policies a rollback can walk back to


@dataclass
class Policy:
    revision: int = 0
    slots: dict = field(default_factory=lambda: {"blue": None, "green": None})
    live: str = "blue"
    canary_percent: float = 0.0
    action: str = ""
    reason: str = ""
    updated: str = ""
    previous: Optional[dict] = None
    history: list = field(default_factory=list)
    steps: list = field(default_factory=list)   # the canary's shares, percent, ending at 100
    step: int = -1                              # index into steps of the share in effect
    paused: str = ""                            # why the rollout waits for a person ("" if not)
    shadow: Optional[int] = None
    shadow_percent: float = 0.0

    @property
    def idle(self) -> str:
        return SLOTS[1 - SLOTS.index(self.live)]

    @property
    def stable(self) -> Optional[int]:
        return self.slots.get(self.live)

    @property
    def canary(self) -> Optional[int]:
        return self.slots.get(self.idle) if self.canary_percent > 0 else None

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Policy":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        policy = cls(**known)
        if not policy.history and policy.previous:  # written before the history was kept
            policy.history = [policy.previous]
        policy.slots = {slot: (None if policy.slots.get(slot) is None else int(policy.slots[slot]))
                        for slot in SLOTS}
        if policy.live not in SLOTS:
            raise ValueError(f"live slot {policy.live!r} is not blue or green")
        if not 0 <= float(policy.canary_percent) <= 100:
            raise ValueError(f"canary_percent {policy.canary_percent!r} is not within 0..100")
        if not 0 <= float(policy.shadow_percent) <= 100:
            raise ValueError(f"shadow_percent {policy.shadow_percent!r} is not within 0..100")
        policy.shadow = None if policy.shadow is None else int(policy.shadow)
        policy.steps = [float(s) for s in policy.steps]
        return policy

    @property
    def next_step(self) -> Optional[float]:
        """The share the canary takes after the step in effect (100: promotion); None
        without steps."""
        if self.canary is None or not self.steps or self.step + 1 >= len(self.steps):
            return None
        return self.steps[self.step + 1]

    def routing(self) -> tuple:
        """What decides where a request goes (and which version shadows)."""
        return (self.slots, self.live, float(self.canary_percent), self.shadow, float(self.shadow_percent))

    def describe(self) -> str:
        text = f"stable {self.stable} ({self.live})"
        if self.canary is not None:
            text += f", canary {self.canary} ({self.idle}) at {self.canary_percent:g}%"
            if self.steps:
                text += f" (step {self.step + 1} of {len(self.steps)}: " + \
                    " → ".join(f"{s:g}%" for s in self.steps) + ")"
        if self.shadow is not None:
            text += f", shadow {self.shadow} on {self.shadow_percent:g}% of requests"
        if self.paused:
            text += "; PAUSED for a person"
        return text

    def _alone(self) -> dict:
        """This policy without what it remembers."""
        data = self.to_json()
        data.pop("previous", None)
        data.pop("history", None)
        return data

    def changed(self, action: str, reason: str, **changes) -> "Policy":
        """The next revision: this policy with `changes`, remembering this one."""
        previous = self._alone()
        # A change ends a pause unless it is one; steps end with the canary.
        data = {**previous, "paused": "", **changes}
        if not float(data["canary_percent"]):
            data.update(steps=[], step=-1)
        data.update(revision=self.revision + 1, action=action, reason=reason,
                    updated=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    previous=previous, history=(self.history + [previous])[-HISTORY:])
        return Policy.from_json(data)

    def rolled_back(self, reason: str) -> Optional["Policy"]:
        """The next revision, routing as the policy before the last change not yet rolled
        back did; None when there is nothing earlier to go back to."""
        # Changes that routed as this one does (a pause, say) are walked past.
        earlier = list(self.history)
        while earlier and Policy.from_json(earlier[-1]).routing()[:3] == self.routing()[:3]:
            earlier.pop()
        if not earlier:
            return None
        before = Policy.from_json(earlier[-1])
        new = self.changed("rollback", reason, slots=before.slots, live=before.live,
                           canary_percent=before.canary_percent, steps=before.steps, step=before.step,
                           paused="")
        # The restored policy is taken off the walk, so the next rollback goes further back.
        new.history = earlier[:-1]
        return new


def policy_path(serving_dir) -> Path:
    serving_dir = Path(serving_dir)
    return serving_dir.with_name(serving_dir.name + ".rollout.json")


def read(serving_dir) -> Optional[Policy]:
    """The policy beside `serving_dir`, or None when there is none yet."""
    path = policy_path(serving_dir)
    if not path.exists():
        return None
    try:
        return Policy.from_json(json.loads(path.read_text()))
    except (ValueError, TypeError, KeyError) as exc:
        raise PolicyError(f"{path}: not a rollout policy ({exc}); fix or remove it") from None


def write(serving_dir, policy: Policy):
    """Replaces the policy file in one rename: a reader sees the old policy or the new."""
    path = policy_path(serving_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        f.write(json.dumps(policy.to_json(), indent=2, sort_keys=True))
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


@contextlib.contextmanager
def changing(serving_dir, timeout: float = 120.0):
    """Serializes policy changes: two rollout commands at once cannot both read revision
    n and both write n + 1. A second change waits for the first to be applied, and is
    refused if that takes longer than `timeout`."""
    import time

    lock = policy_path(serving_dir).with_suffix(".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RolloutRefused(f"another rollout change held {lock} for over {timeout:g} s; "
                                      "nothing was changed: try again when it is done") from None
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def bucket(key: str) -> int:
    """A request key's routing bucket in 0..BUCKETS-1, the same on every server."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") % BUCKETS


def shadowed(policy: Policy, key: Optional[str]) -> bool:
    """Whether the shadow version scores this request too."""
    if policy.shadow is None or policy.shadow_percent <= 0:
        return False
    position = bucket("shadow:" + key) if key else random.random() * BUCKETS
    return position < float(policy.shadow_percent) * BUCKETS / 100


def route(policy: Policy, key: Optional[str]) -> str:
    """The slot a request goes to."""
    if policy.canary is None:
        return policy.live
    share = float(policy.canary_percent) * BUCKETS / 100
    position = bucket(key) if key else random.random() * BUCKETS
    return policy.idle if position < share else policy.live
